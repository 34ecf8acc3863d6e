#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "core/activation_kind.h"

namespace dk::cuda {

// Same contracts as dk::cpu::activation_forward / activation_backward, on `stream`.
template <typename T>
void activation_forward(Activation act, const T* x, T* y, int64_t n, T slope, cudaStream_t stream);
template <typename T>
void activation_backward(Activation act, const T* saved, const T* gy, T* gx, int64_t n, T slope,
                         cudaStream_t stream);

}  // namespace dk::cuda
