# Optional CUDA half. The .cu files build a static library with nvcc; the _cuda binding is
# plain C++ (g++) that sees only cuda_runtime_api.h, so pybind11 never goes through nvcc.
# The runtime is linked statically: the module imports on machines with no driver, where
# cudaGetDeviceCount fails and deepkern.cuda.is_available() is False.
string(TOUPPER "${DEEPKERN_CUDA}" DK_CUDA_MODE)
if(DK_CUDA_MODE STREQUAL "OFF")
  message(STATUS "deepkern: CUDA extension disabled (DEEPKERN_CUDA=OFF)")
  return()
endif()

include(CheckLanguage)
check_language(CUDA)
if(NOT CMAKE_CUDA_COMPILER)
  if(DK_CUDA_MODE STREQUAL "ON")
    message(FATAL_ERROR "deepkern: DEEPKERN_CUDA=ON but no CUDA compiler was found")
  endif()
  message(STATUS "deepkern: no CUDA compiler found, building the CPU extension only")
  return()
endif()

# Ampere and Hopper as SASS, PTX for newer GPUs; CUDAARCHS or -DCMAKE_CUDA_ARCHITECTURES win.
# (CUDAARCHS is read on every configure, so switching it reuses the same build directory.)
if(NOT "$ENV{CUDAARCHS}" STREQUAL "")
  set(CMAKE_CUDA_ARCHITECTURES "$ENV{CUDAARCHS}")
elseif(NOT CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES "80-real;90-real;90-virtual")
endif()
enable_language(CUDA)
find_package(CUDAToolkit REQUIRED)
message(STATUS "deepkern: CUDA ${CMAKE_CUDA_COMPILER_VERSION}, architectures ${CMAKE_CUDA_ARCHITECTURES}")

file(GLOB DK_CUDA_SOURCES CONFIGURE_DEPENDS csrc/cuda/*.cu)
add_library(dk_cuda_kernels STATIC ${DK_CUDA_SOURCES})
set_target_properties(dk_cuda_kernels PROPERTIES
  CUDA_STANDARD 17 CUDA_STANDARD_REQUIRED ON POSITION_INDEPENDENT_CODE ON)
target_include_directories(dk_cuda_kernels PUBLIC csrc)
target_compile_options(dk_cuda_kernels PRIVATE
  $<$<COMPILE_LANGUAGE:CUDA>:-O3 --expt-relaxed-constexpr -lineinfo>)
target_link_libraries(dk_cuda_kernels PUBLIC CUDA::cudart_static)

python_add_library(_cuda MODULE WITH_SOABI csrc/bindings/cuda_module.cpp ${DK_FAMILY_BINDINGS})
target_compile_definitions(_cuda PRIVATE DK_BACKEND_CUDA)
target_link_libraries(_cuda PRIVATE pybind11::headers dk_cuda_kernels)
dk_cpu_flags(_cuda)
dk_build_info(_cuda)
string(REPLACE ";" " " DK_CUDA_ARCH_LIST "${CMAKE_CUDA_ARCHITECTURES}")
target_compile_definitions(_cuda PRIVATE DK_CUDA_ARCHS="${DK_CUDA_ARCH_LIST}"
  DK_CUDA_VERSION="${CMAKE_CUDA_COMPILER_VERSION}")
install(TARGETS _cuda LIBRARY DESTINATION deepkern)
