// Entry-point helpers for the CUDA bindings.
#pragma once
#include <cuda_runtime_api.h>

#include "bindings/common.h"

namespace dk::bind {

inline void expect_cuda(const TensorView& v, const char* name, const char* op) {
  expect(v, name, op).device(Device::cuda).contiguous();
}

inline cudaStream_t as_stream(std::uintptr_t s) { return reinterpret_cast<cudaStream_t>(s); }

}  // namespace dk::bind
