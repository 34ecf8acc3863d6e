// The emulated CUDA runtime API (runtime.h) and the device state behind it (state.h).
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

#include "emu/runtime.h"
#include "emu/state.h"

namespace dk::emu {
namespace {

struct ErrorState {
  std::mutex m;
  std::atomic<cudaError_t> sticky{cudaSuccess};
  std::string sticky_detail;
  std::map<const void*, size_t> max_dynamic_shared;
  std::map<std::string, uint64_t> launches;
};

ErrorState& state() {
  static ErrorState* s = new ErrorState;  // never destroyed: used until the process ends
  return *s;
}

// Per host thread, as in CUDA: the error the next cudaGetLastError returns, and the one it
// returned last (whose detail cudaGetErrorString adds).
struct LastError {
  cudaError_t error = cudaSuccess;
  std::string detail;
};
thread_local LastError tl_pending, tl_returned;
thread_local std::string tl_message;

const char* error_text(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDeviceFunction: return "invalid device function";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorLaunchTimeout: return "the launch timed out and was terminated";
    case cudaErrorIllegalInstruction: return "an illegal instruction was encountered";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
  }
  return "unrecognized error code";
}

// Calls that return the sticky error once a kernel faulted, as a broken CUDA context does.
cudaError_t checked() { return state().sticky.load(std::memory_order_relaxed); }

}  // namespace

void set_last_error(cudaError_t error, const std::string& detail) {
  tl_pending.error = error;
  tl_pending.detail = detail;
}

void set_sticky_error(cudaError_t error, const std::string& detail) {
  ErrorState& s = state();
  std::lock_guard<std::mutex> lk(s.m);
  if (s.sticky.load() != cudaSuccess) return;
  s.sticky_detail = detail;
  s.sticky.store(error);
}

cudaError_t sticky_error() { return state().sticky.load(std::memory_order_relaxed); }

std::string sticky_error_message() {
  ErrorState& s = state();
  std::lock_guard<std::mutex> lk(s.m);
  if (s.sticky.load() == cudaSuccess) return "";
  return std::string(error_text(s.sticky.load())) + ": cuda_emu: " + s.sticky_detail;
}

void reset() {
  ErrorState& s = state();
  std::lock_guard<std::mutex> lk(s.m);
  s.sticky.store(cudaSuccess);
  s.sticky_detail.clear();
  s.max_dynamic_shared.clear();
  tl_pending = tl_returned = LastError{};
}

size_t max_dynamic_shared(const void* kernel) {
  ErrorState& s = state();
  std::lock_guard<std::mutex> lk(s.m);
  auto it = s.max_dynamic_shared.find(kernel);
  return it == s.max_dynamic_shared.end() ? kSharedPerBlock : it->second;
}

cudaError_t set_max_dynamic_shared(const void* kernel, cudaFuncAttribute attr, int value) {
  if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize || value < 0 || size_t(value) > kSharedPerBlockOptin) {
    set_last_error(cudaErrorInvalidValue, "cudaFuncSetAttribute: MaxDynamicSharedMemorySize " + std::to_string(value) +
                                              " is above the device's " + std::to_string(kSharedPerBlockOptin));
    return cudaErrorInvalidValue;
  }
  ErrorState& s = state();
  std::lock_guard<std::mutex> lk(s.m);
  s.max_dynamic_shared[kernel] = size_t(value);
  return cudaSuccess;
}

void count_launch(const LaunchSite& site) {
  const char* file = std::strstr(site.file, "csrc/");
  const std::string key =
      std::string(site.kernel) + " (" + (file ? file + 5 : site.file) + ":" + std::to_string(site.line) + ")";
  ErrorState& s = state();
  std::lock_guard<std::mutex> lk(s.m);
  ++s.launches[key];
}

std::map<std::string, uint64_t> launch_counts() {
  ErrorState& s = state();
  std::lock_guard<std::mutex> lk(s.m);
  return s.launches;
}

}  // namespace dk::emu


cudaError_t cudaGetLastError() {
  if (const cudaError_t sticky = dk::emu::sticky_error(); sticky != cudaSuccess) {
    dk::emu::tl_returned = {sticky, ""};
    return sticky;
  }
  dk::emu::tl_returned = dk::emu::tl_pending;
  dk::emu::tl_pending = {};
  return dk::emu::tl_returned.error;
}

cudaError_t cudaPeekAtLastError() {
  if (const cudaError_t sticky = dk::emu::sticky_error(); sticky != cudaSuccess) return sticky;
  dk::emu::tl_returned = dk::emu::tl_pending;
  return dk::emu::tl_pending.error;
}

const char* cudaGetErrorString(cudaError_t error) {
  using namespace dk::emu;
  if (error != cudaSuccess && error == sticky_error()) {
    tl_message = sticky_error_message();
    if (!tl_message.empty()) return tl_message.c_str();
  }
  if (error != cudaSuccess && error == tl_returned.error && !tl_returned.detail.empty()) {
    tl_message = std::string(error_text(error)) + ": cuda_emu: " + tl_returned.detail;
    return tl_message.c_str();
  }
  return error_text(error);
}

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDeviceFunction: return "cudaErrorInvalidDeviceFunction";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorLaunchTimeout: return "cudaErrorLaunchTimeout";
    case cudaErrorIllegalInstruction: return "cudaErrorIllegalInstruction";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
  }
  return "cudaErrorUnknown";
}

cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  *device = 0;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : cudaErrorInvalidDevice; }

cudaError_t cudaDeviceReset() {
  dk::emu::reset();
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() { return dk::emu::checked(); }
cudaError_t cudaStreamSynchronize(cudaStream_t) { return dk::emu::checked(); }

cudaError_t cudaRuntimeGetVersion(int* version) {
  *version = 13000;
  return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int* version) {
  *version = 13000;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  using namespace dk::emu;
  if (device != 0) return cudaErrorInvalidDevice;
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock: *value = kMaxThreadsPerBlock; return cudaSuccess;
    case cudaDevAttrMaxBlockDimX: *value = kMaxBlockDim[0]; return cudaSuccess;
    case cudaDevAttrMaxBlockDimY: *value = kMaxBlockDim[1]; return cudaSuccess;
    case cudaDevAttrMaxBlockDimZ: *value = kMaxBlockDim[2]; return cudaSuccess;
    case cudaDevAttrMaxGridDimX: *value = int(kMaxGridDim[0]); return cudaSuccess;
    case cudaDevAttrMaxGridDimY: *value = int(kMaxGridDim[1]); return cudaSuccess;
    case cudaDevAttrMaxGridDimZ: *value = int(kMaxGridDim[2]); return cudaSuccess;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = int(kSharedPerBlock); return cudaSuccess;
    case cudaDevAttrWarpSize: *value = 32; return cudaSuccess;
    case cudaDevAttrMultiProcessorCount: *value = kMultiProcessors; return cudaSuccess;
    case cudaDevAttrComputeCapabilityMajor: *value = 9; return cudaSuccess;
    case cudaDevAttrComputeCapabilityMinor: *value = 0; return cudaSuccess;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = int(kSharedPerBlockOptin); return cudaSuccess;
  }
  return cudaErrorInvalidValue;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  using namespace dk::emu;
  if (device != 0) return cudaErrorInvalidDevice;
  std::memset(prop, 0, sizeof(*prop));
  std::snprintf(prop->name, sizeof(prop->name), "cuda_emu (CPU emulation of an sm_90 device)");
  prop->major = 9;
  prop->minor = 0;
  prop->totalGlobalMem = size_t(1) << 34;
  prop->sharedMemPerBlock = kSharedPerBlock;
  prop->sharedMemPerBlockOptin = kSharedPerBlockOptin;
  prop->multiProcessorCount = kMultiProcessors;
  prop->warpSize = 32;
  prop->maxThreadsPerBlock = kMaxThreadsPerBlock;
  for (int i = 0; i < 3; ++i) {
    prop->maxThreadsDim[i] = kMaxBlockDim[i];
    prop->maxGridSize[i] = int(kMaxGridDim[i]);
  }
  return cudaSuccess;
}

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  if (cudaError_t e = dk::emu::checked()) return e;
  *ptr = std::malloc(bytes ? bytes : 1);
  return *ptr ? cudaSuccess : cudaErrorMemoryAllocation;
}

cudaError_t cudaFree(void* ptr) {
  std::free(ptr);
  return dk::emu::checked();
}

cudaError_t cudaMemset(void* ptr, int value, size_t bytes) { return cudaMemsetAsync(ptr, value, bytes, nullptr); }

cudaError_t cudaMemsetAsync(void* ptr, int value, size_t bytes, cudaStream_t) {
  if (cudaError_t e = dk::emu::checked()) return e;
  if (bytes) std::memset(ptr, value, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  return cudaMemcpyAsync(dst, src, bytes, kind, nullptr);
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind, cudaStream_t) {
  if (cudaError_t e = dk::emu::checked()) return e;
  if (bytes) std::memmove(dst, src, bytes);
  return cudaSuccess;
}
