# -DBILLORD_COVERAGE=ON: gcc --coverage instrumentation for scripts/coverage.sh (lcov).
# Best with -DCMAKE_BUILD_TYPE=Debug so that lines and branches map to the source.
if(BILLORD_COVERAGE)
  if(BILLORD_SANITIZE OR BILLORD_TSAN)
    message(FATAL_ERROR "BILLORD_COVERAGE is meant for a plain build: turn BILLORD_SANITIZE and BILLORD_TSAN off")
  endif()
  add_compile_options(--coverage)
  add_link_options(--coverage)
endif()
