#pragma once
#include <cstdint>

namespace dk::cpu {

// Softmax / log-softmax along one axis of a C-contiguous array viewed as (outer, dim, inner):
// element (o, d, i) is at (o * dim + d) * inner + i. No transposing copies: inner == 1 runs
// row kernels, inner > 1 runs kernels vectorized across the inner (column) index.
// y = softmax(x) or log_softmax(x). dim >= 1.
template <typename T>
void softmax_forward(const T* x, T* y, int64_t outer, int64_t dim, int64_t inner, bool log);

// gx from gy and the forward output y:
//   softmax:     gx = y * (gy - sum_d(gy * y))
//   log_softmax: gx = gy - exp(y) * sum_d(gy)
template <typename T>
void softmax_backward(const T* gy, const T* y, T* gx, int64_t outer, int64_t dim, int64_t inner, bool log);

}  // namespace dk::cpu
