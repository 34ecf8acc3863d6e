#pragma once
#include <cstdint>

#include "core/optim_math.h"

namespace dk::cpu {

// Fused optimizer steps over n contiguous elements, updating param and state in place
// (formulas in core/optim_math.h). Optional state pointers are null when unused.
template <typename T>
void sgd_step(T* param, const T* grad, T* momentum_buffer, int64_t n, const optim::SgdHyper<T>& h);

template <typename T>
void adam_step(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, int64_t n,
               const optim::AdamHyper<T>& h);

template <typename T>
void rmsprop_step(T* param, const T* grad, T* square_avg, T* grad_avg, T* momentum_buffer, int64_t n,
                  const optim::RmspropHyper<T>& h);

}  // namespace dk::cpu
