# Strict warnings on every target of ours; a warning is an error.
function(billord_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wshadow
    -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wformat=2)
endfunction()
