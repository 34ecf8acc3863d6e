// The emulated CUDA runtime: the subset of the CUDA runtime API that deepkern's kernels and
// bindings use, implemented on the host (runtime.cpp). "Device" memory is host memory, every
// stream runs synchronously on the calling thread, and the one device is an sm_90 part with
// the H100/H200's limits (1024 threads per block, 48 KiB of shared memory per block, 227 KiB
// with cudaFuncAttributeMaxDynamicSharedMemorySize).
//
// Errors follow CUDA: a bad launch configuration is returned once by cudaGetLastError; a
// fault inside a kernel (barrier divergence, a bad warp mask, a deadlock) is sticky: every
// later launch and cudaGetLastError return it until cudaDeviceReset. cudaGetErrorString of
// the error just returned also says what went wrong, in which kernel and at which source line.
//
// Reached through the <cuda_runtime_api.h> / <cuda_runtime.h> stand-ins in csrc/emu/shim.
#pragma once
#include <cstddef>
#include <cstdint>

#define __CUDACC_EMU__ 1

// ---- vector and index types ------------------------------------------------------------------
struct uint3 {
  unsigned int x, y, z;
};
struct dim3 {
  unsigned int x, y, z;
  constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1) : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
  constexpr operator uint3() const { return {x, y, z}; }
};

#define DK_EMU_VECTOR2(T, name, align)      \
  struct alignas(align) name {              \
    T x, y;                                 \
  };                                        \
  inline name make_##name(T x, T y) { return {x, y}; }
#define DK_EMU_VECTOR4(T, name, align)      \
  struct alignas(align) name {              \
    T x, y, z, w;                           \
  };                                        \
  inline name make_##name(T x, T y, T z, T w) { return {x, y, z, w}; }
DK_EMU_VECTOR2(float, float2, 8)
DK_EMU_VECTOR4(float, float4, 16)
DK_EMU_VECTOR2(double, double2, 16)
DK_EMU_VECTOR2(int, int2, 8)
DK_EMU_VECTOR4(int, int4, 16)
DK_EMU_VECTOR2(long long, longlong2, 16)
#undef DK_EMU_VECTOR2
#undef DK_EMU_VECTOR4
inline uint3 make_uint3(unsigned x, unsigned y, unsigned z) { return {x, y, z}; }

// ---- runtime types ---------------------------------------------------------------------------
enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDeviceFunction = 98,
  cudaErrorInvalidDevice = 101,
  cudaErrorLaunchTimeout = 702,
  cudaErrorIllegalInstruction = 715,
  cudaErrorLaunchFailure = 719,
};
typedef cudaError_t cudaError;

struct CUstream_st;
typedef CUstream_st* cudaStream_t;

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};

enum cudaDeviceAttr {
  cudaDevAttrMaxThreadsPerBlock = 1,
  cudaDevAttrMaxBlockDimX = 2,
  cudaDevAttrMaxBlockDimY = 3,
  cudaDevAttrMaxBlockDimZ = 4,
  cudaDevAttrMaxGridDimX = 5,
  cudaDevAttrMaxGridDimY = 6,
  cudaDevAttrMaxGridDimZ = 7,
  cudaDevAttrMaxSharedMemoryPerBlock = 8,
  cudaDevAttrWarpSize = 10,
  cudaDevAttrMultiProcessorCount = 16,
  cudaDevAttrComputeCapabilityMajor = 75,
  cudaDevAttrComputeCapabilityMinor = 76,
  cudaDevAttrMaxSharedMemoryPerBlockOptin = 97,
};

enum cudaFuncAttribute {
  cudaFuncAttributeMaxDynamicSharedMemorySize = 8,
};

struct cudaDeviceProp {
  char name[256];
  int major, minor;
  size_t totalGlobalMem;
  size_t sharedMemPerBlock, sharedMemPerBlockOptin;
  int multiProcessorCount, warpSize, maxThreadsPerBlock;
  int maxThreadsDim[3], maxGridSize[3];
};

namespace dk::emu {
// The emulated device's limits.
inline constexpr int kMaxThreadsPerBlock = 1024;
inline constexpr int kMaxBlockDim[3] = {1024, 1024, 64};
inline constexpr unsigned kMaxGridDim[3] = {2147483647u, 65535u, 65535u};
inline constexpr size_t kSharedPerBlock = 48 * 1024;       // static, and dynamic by default
inline constexpr size_t kSharedPerBlockOptin = 227 * 1024; // dynamic, after cudaFuncSetAttribute
inline constexpr int kMultiProcessors = 132;
}  // namespace dk::emu

// ---- runtime API -----------------------------------------------------------------------------
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
const char* cudaGetErrorString(cudaError_t error);
const char* cudaGetErrorName(cudaError_t error);
cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaDeviceReset();
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaRuntimeGetVersion(int* version);
cudaError_t cudaDriverGetVersion(int* version);
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device);
cudaError_t cudaMalloc(void** ptr, size_t bytes);
cudaError_t cudaFree(void* ptr);
cudaError_t cudaMemset(void* ptr, int value, size_t bytes);
cudaError_t cudaMemsetAsync(void* ptr, int value, size_t bytes, cudaStream_t stream = nullptr);
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream = nullptr);

namespace dk::emu {
cudaError_t set_max_dynamic_shared(const void* kernel, cudaFuncAttribute attr, int value);
}  // namespace dk::emu

template <class T>
cudaError_t cudaMalloc(T** ptr, size_t bytes) {
  return cudaMalloc(reinterpret_cast<void**>(ptr), bytes);
}

template <class... P>
cudaError_t cudaFuncSetAttribute(void (*kernel)(P...), cudaFuncAttribute attr, int value) {
  return dk::emu::set_max_dynamic_shared(reinterpret_cast<const void*>(kernel), attr, value);
}
