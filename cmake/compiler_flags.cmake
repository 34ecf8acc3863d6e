# Host compiler flags. No global -march: the binary must run on any x86-64; hot loops pick
# their instruction set at run time (target_clones / per-ISA functions, see csrc/cpu).
function(dk_cpu_flags target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-O3 -Wall -Wextra -Wno-unused-parameter -fno-math-errno>)
endfunction()

# Facts about the build that deepkern.info() reports.
function(dk_build_info target)
  target_compile_definitions(${target} PRIVATE
    DK_VERSION="${PROJECT_VERSION}"
    DK_BUILD_TYPE="${CMAKE_BUILD_TYPE}"
    DK_COMPILER="${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER_VERSION}")
endfunction()
