#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "core/optim_math.h"

namespace dk::cuda {

// Same contracts as the dk::cpu fused optimizer steps (csrc/cpu/optim.h), on `stream`.
template <typename T>
void sgd_step(T* param, const T* grad, T* momentum_buffer, int64_t n, const optim::SgdHyper<T>& h,
              cudaStream_t stream);
template <typename T>
void adam_step(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, int64_t n,
               const optim::AdamHyper<T>& h, cudaStream_t stream);
template <typename T>
void rmsprop_step(T* param, const T* grad, T* square_avg, T* grad_avg, T* momentum_buffer, int64_t n,
                  const optim::RmspropHyper<T>& h, cudaStream_t stream);

}  // namespace dk::cuda
