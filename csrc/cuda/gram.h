#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace dk::cuda {

// Same contracts as dk::cpu::gram_forward / gram_backward, on `stream` (device pointers).
template <typename T>
void gram_forward(int64_t batch, int64_t C, int64_t L, const T* x, T* g, T scale, cudaStream_t stream);
template <typename T>
void gram_backward(int64_t batch, int64_t C, int64_t L, const T* x, const T* grad_g, T* sym, T* grad_x, T scale,
                   cudaStream_t stream);

}  // namespace dk::cuda
