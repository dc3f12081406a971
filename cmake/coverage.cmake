# -DBILLORD_COVERAGE=ON: gcc --coverage instrumentation for scripts/coverage.sh (lcov).
# Best with -DCMAKE_BUILD_TYPE=Debug so that lines and branches map to the source.
if(BILLORD_COVERAGE)
  if(BILLORD_SANITIZE OR BILLORD_TSAN)
    message(FATAL_ERROR "BILLORD_COVERAGE is meant for a plain build: turn BILLORD_SANITIZE and BILLORD_TSAN off")
  endif()
  # Atomic counters: the db writer, the server and the stress paths run on several threads;
  # plain counters lose increments there, and the counts gcov derives from them come out
  # wrong (lcov: "negative counts"), which can hide or invent a covered branch.
  add_compile_options(--coverage -fprofile-update=atomic)
  add_link_options(--coverage -fprofile-update=atomic)
endif()
