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

# Per-ISA kernel files: only these translation units get -m flags, and they are called only
# after a run-time check of the CPU (dk::cpu_isa), so the rest of the binary stays baseline
# x86-64. A file named csrc/cpu/<family>_avx512.cpp or <family>_avx2.cpp gets these flags.
set(DK_FLAGS_AVX512 -mavx512f -mavx512vl -mavx512bw -mavx512dq -mavx2 -mfma)
set(DK_FLAGS_AVX2 -mavx2 -mfma)
function(dk_isa_source_flags)
  foreach(src IN LISTS ARGN)
    if(src MATCHES "_avx512\\.cpp$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "${DK_FLAGS_AVX512}")
    elseif(src MATCHES "_avx2\\.cpp$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "${DK_FLAGS_AVX2}")
    endif()
  endforeach()
endfunction()
