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

// Same contracts as dk::cpu::dropout_forward / dropout_backward (the same seed gives the same
// mask as on the CPU), on `stream`.
template <typename T>
void dropout_forward(const T* x, T* y, uint8_t* mask, int64_t n, double p, uint64_t seed, cudaStream_t stream);
template <typename T>
void dropout_backward(const T* gy, const uint8_t* mask, T* gx, int64_t n, double p, cudaStream_t stream);

}  // namespace dk::cuda
