# -DBILLORD_FUZZ=ON (with -DCMAKE_C_COMPILER=clang): libFuzzer targets, one executable
# fuzz_<name> per tests/fuzz/fuzz_<name>.c (see tests/fuzz/README.md, scripts/fuzz.sh).
# Everything is compiled with libFuzzer's coverage instrumentation plus ASan and UBSan;
# only the fuzz executables link libFuzzer's main. Off: nothing here changes a build.
if(BILLORD_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "BILLORD_FUZZ needs clang (-DCMAKE_C_COMPILER=clang), not ${CMAKE_C_COMPILER_ID}")
  endif()
  if(BILLORD_SANITIZE OR BILLORD_TSAN OR BILLORD_COVERAGE)
    message(FATAL_ERROR "BILLORD_FUZZ brings its own ASan+UBSan; leave BILLORD_SANITIZE, BILLORD_TSAN and BILLORD_COVERAGE off")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
    -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()

# Called at the end of CMakeLists.txt, once billord_lib exists.
function(billord_fuzz_targets)
  if(NOT BILLORD_FUZZ)
    return()
  endif()
  file(GLOB fuzz_sources CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_*.c)
  foreach(fuzz_source ${fuzz_sources})
    get_filename_component(fuzz_name ${fuzz_source} NAME_WE)
    add_executable(${fuzz_name} ${fuzz_source})
    target_link_libraries(${fuzz_name} PRIVATE billord_lib)
    target_include_directories(${fuzz_name} PRIVATE ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR}/tests/fuzz)
    target_link_options(${fuzz_name} PRIVATE -fsanitize=fuzzer)
    billord_warnings(${fuzz_name})
  endforeach()
  # Writes the binary seeds of tests/fuzz/corpus/ (run it from the source directory).
  add_executable(fuzz-gen-corpus ${CMAKE_SOURCE_DIR}/tests/fuzz/gen_corpus.c)
  target_link_libraries(fuzz-gen-corpus PRIVATE billord_lib)
  target_include_directories(fuzz-gen-corpus PRIVATE ${CMAKE_SOURCE_DIR}/src)
  billord_warnings(fuzz-gen-corpus)
endfunction()
