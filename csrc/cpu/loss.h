#pragma once
#include <cstdint>

#include "core/loss_kind.h"

namespace dk::cpu {

// Fused log-softmax + NLL. logits is (outer, C, inner) (PyTorch's (N, C) or (N, C, d1, ...)
// with outer = N, inner = d1*...); target, loss, row_max, row_logsum are (outer, inner),
// target holding class ids in [0, C) or ignore_index (checked by the caller).
//   loss[r]       = w[t] * (row_max[r] - x[r, t] + row_logsum[r])   (0 where t == ignore_index)
//   row_max[r]    = max_c x[r, c]
//   row_logsum[r] = log(sum_c exp(x[r, c] - row_max[r]))
// weight is (C,) or nullptr (all ones).
template <typename T>
void cross_entropy_forward(const T* logits, const int64_t* target, const T* weight, T* loss, T* row_max,
                           T* row_logsum, int64_t outer, int64_t C, int64_t inner, int64_t ignore_index);

// grad[r, c] = g_r * w[t] * (softmax(x)[r, c] - [c == t]) (0 where t == ignore_index), with
// g_r = g[r] when g_per_row, else g[0] for every row (the 'mean'/'sum' reductions).
template <typename T>
void cross_entropy_backward(const T* logits, const int64_t* target, const T* weight, const T* row_max,
                            const T* row_logsum, const T* g, bool g_per_row, T* grad, int64_t outer, int64_t C,
                            int64_t inner, int64_t ignore_index);

// Elementwise loss of input a against target b over n values, times weight (nullptr: 1):
//   mse:        (a - b)^2
//   bce:        -(b * max(log a, -100) + (1 - b) * max(log(1 - a), -100))
//   bce_logits: (1 - b) a + (1 + (pw - 1) b) (log1p(exp(-|a|)) + max(-a, 0))   (pw nullptr: 1)
//   smooth_l1:  0.5 d^2 / p where |d| < p, else |d| - 0.5 p   (d = a - b, p = beta >= 0; |d| at 0)
//   huber:      0.5 d^2 where |d| < p, else p (|d| - 0.5 p)   (p = delta > 0)
// weight and pos_weight (pw) are elementwise arrays of n values (broadcast by the caller);
// param (p) is the smooth L1 / Huber threshold, unused by the others.
template <typename T>
void pointwise_loss_forward(PointwiseLoss kind, const T* a, const T* b, const T* weight, const T* pos_weight,
                            T param, T* out, int64_t n);

// grad wrt a of sum_i g_i * loss_i (g_i = g[i] when g_per_elem, else g[0]):
//   smooth_l1: clamp(d / p, -1, 1) (sign(d) when p = 0), huber: clamp(d, -p, p); NaN stays NaN.
template <typename T>
void pointwise_loss_backward(PointwiseLoss kind, const T* a, const T* b, const T* weight, const T* pos_weight,
                             T param, const T* g, bool g_per_elem, T* grad, int64_t n);

}  // namespace dk::cpu
