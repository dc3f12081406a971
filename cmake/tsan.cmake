# -DBILLORD_TSAN=ON: ThreadSanitizer on everything we build (scripts/tsan.sh runs the
# concurrent suites with it). TSan cannot share a process with ASan, so this excludes
# BILLORD_SANITIZE.
if(BILLORD_TSAN)
  if(BILLORD_SANITIZE)
    message(FATAL_ERROR "BILLORD_TSAN and BILLORD_SANITIZE are mutually exclusive (TSan cannot run with ASan)")
  endif()
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()
