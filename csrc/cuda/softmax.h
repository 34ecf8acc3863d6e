#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace dk::cuda {

// Same contracts as dk::cpu::softmax_forward / softmax_backward, on `stream`.
template <typename T>
void softmax_forward(const T* x, T* y, int64_t outer, int64_t dim, int64_t inner, bool log, cudaStream_t stream);
template <typename T>
void softmax_backward(const T* gy, const T* y, T* gx, int64_t outer, int64_t dim, int64_t inner, bool log,
                      cudaStream_t stream);

}  // namespace dk::cuda
