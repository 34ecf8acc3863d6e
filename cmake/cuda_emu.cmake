# The emulated CUDA backend (csrc/emu, docs/cuda_emu.md): deepkern's CUDA kernels compiled as
# C++ for the CPU and bound by the same binding sources as the real _cuda, into a module that
# only the tests load (never installed). Off by default.
#
#   -DDEEPKERN_CUDA_EMU=ON                       <build>/cuda_emu/_cuda*.so
#   -DDEEPKERN_CUDA_EMU_SANITIZE=address         + AddressSanitizer and UBSan, the CPU extension too
#   -DDEEPKERN_CUDA_EMU_SANITIZE=thread          + ThreadSanitizer on the emulated module
#
# Every csrc/cuda/*.cu is compiled (a glob, as for nvcc), through a generated one-line .cpp
# that includes it, so a new CUDA family runs under the emulator with no change here.
option(DEEPKERN_CUDA_EMU "Build the emulated CUDA module (tests only, never installed)" OFF)
set(DEEPKERN_CUDA_EMU_SANITIZE "" CACHE STRING "Sanitizer for the emulated build: address, thread or empty")
set_property(CACHE DEEPKERN_CUDA_EMU_SANITIZE PROPERTY STRINGS "" address thread)

set(DK_EMU_SANITIZE_FLAGS "")
if(DEEPKERN_CUDA_EMU_SANITIZE STREQUAL "address")
  # Everything, the CPU kernels and their bindings included. UBSan stops at the first report.
  set(DK_EMU_SANITIZE_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_compile_options(${DK_EMU_SANITIZE_FLAGS} -g)
  add_link_options(${DK_EMU_SANITIZE_FLAGS})
elseif(DEEPKERN_CUDA_EMU_SANITIZE STREQUAL "thread")
  # The emulated module only: the CPU extension's OpenMP runtime is not instrumented, and its
  # barriers would read as races.
  set(DK_EMU_SANITIZE_FLAGS -fsanitize=thread)
elseif(NOT DEEPKERN_CUDA_EMU_SANITIZE STREQUAL "")
  message(FATAL_ERROR "DEEPKERN_CUDA_EMU_SANITIZE must be address, thread or empty, not '${DEEPKERN_CUDA_EMU_SANITIZE}'")
endif()
if(DK_EMU_SANITIZE_FLAGS AND NOT DEEPKERN_CUDA_EMU)
  message(FATAL_ERROR "DEEPKERN_CUDA_EMU_SANITIZE needs DEEPKERN_CUDA_EMU=ON")
endif()

# Called once the binding source lists exist (CMakeLists.txt).
function(dk_add_cuda_emu_module)
  if(NOT DEEPKERN_CUDA_EMU)
    return()
  endif()
  set(gen_dir ${CMAKE_BINARY_DIR}/cuda_emu/src)
  file(GLOB cu_sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/csrc/cuda/*.cu)
  set(kernel_sources "")
  foreach(cu IN LISTS cu_sources)
    get_filename_component(stem ${cu} NAME_WE)
    set(wrapper ${gen_dir}/${stem}.cpp)
    file(CONFIGURE OUTPUT ${wrapper} CONTENT "#include \"cuda/${stem}.cu\"\n" @ONLY)
    list(APPEND kernel_sources ${wrapper})
  endforeach()
  file(GLOB emu_sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/csrc/emu/*.cpp)

  # The kernels, compiled as nvcc would see them: cuda_runtime.h force-included, the toolkit's
  # headers replaced by the stand-ins in csrc/emu/shim, DK_CUDA_EMU selecting emu/launch.h.
  add_library(dk_cuda_emu_kernels STATIC ${kernel_sources} ${emu_sources})
  target_include_directories(dk_cuda_emu_kernels BEFORE PUBLIC ${PROJECT_SOURCE_DIR}/csrc/emu/shim)
  target_include_directories(dk_cuda_emu_kernels PUBLIC ${PROJECT_SOURCE_DIR}/csrc)
  target_compile_definitions(dk_cuda_emu_kernels PUBLIC DK_CUDA_EMU)
  target_compile_features(dk_cuda_emu_kernels PUBLIC cxx_std_20)
  set_source_files_properties(${kernel_sources} PROPERTIES COMPILE_OPTIONS "-include;cuda_runtime.h")
  find_package(Threads REQUIRED)
  target_link_libraries(dk_cuda_emu_kernels PUBLIC Threads::Threads)
  dk_cuda_emu_flags(dk_cuda_emu_kernels)

  # The module: the real _cuda's sources (cuda_module.cpp and each family's binding), unchanged,
  # over the emulated kernels.
  python_add_library(_cuda_emu MODULE WITH_SOABI ${PROJECT_SOURCE_DIR}/csrc/bindings/cuda_module.cpp
                     ${DK_FAMILY_BINDINGS})
  set_target_properties(_cuda_emu PROPERTIES OUTPUT_NAME _cuda LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/cuda_emu)
  target_compile_definitions(_cuda_emu PRIVATE DK_BACKEND_CUDA DK_CUDA_VERSION="emulated"
                                               DK_CUDA_ARCHS="emulated")
  target_link_libraries(_cuda_emu PRIVATE pybind11::headers dk_cuda_emu_kernels)
  dk_cuda_emu_flags(_cuda_emu)
  dk_build_info(_cuda_emu)
endfunction()

function(dk_cuda_emu_flags target)
  if(DEEPKERN_CUDA_EMU_SANITIZE STREQUAL "")
    set(opt -O2)
  else()
    set(opt -O1 -g)
  endif()
  # No strict aliasing: CUDA code reinterprets memory freely (vector loads), and nvcc allows it.
  target_compile_options(${target} PRIVATE ${opt} -Wall -Wextra -Wno-unused-parameter -Wno-unknown-pragmas -fno-math-errno
                                           -fno-strict-aliasing)
  if(DEEPKERN_CUDA_EMU_SANITIZE STREQUAL "thread")
    target_compile_options(${target} PRIVATE ${DK_EMU_SANITIZE_FLAGS} -g)
    target_link_options(${target} PRIVATE ${DK_EMU_SANITIZE_FLAGS})
  endif()
endfunction()
