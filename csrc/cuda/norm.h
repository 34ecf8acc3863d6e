#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace dk::cuda {

// Same contracts as dk::cpu::batch_norm_forward / batch_norm_backward, on `stream`.
template <typename T>
void batch_norm_forward(const T* x, T* y, const T* weight, const T* bias, T* running_mean, T* running_var,
                        T* save_mean, T* save_invstd, int64_t N, int64_t C, int64_t S, bool training,
                        double momentum, double eps, cudaStream_t stream);
template <typename T>
void batch_norm_backward(const T* gy, const T* x, const T* weight, const T* save_mean, const T* save_invstd,
                         T* gx, T* grad_weight, T* grad_bias, int64_t N, int64_t C, int64_t S, bool training,
                         cudaStream_t stream);

}  // namespace dk::cuda
