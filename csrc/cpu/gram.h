#pragma once
#include <cstdint>

namespace dk::cpu {

// Gram matrices of `batch` feature maps, each X (C, L) row-major (L = H * W, one channel a row):
//   G = scale * X X^T, (C, C); deepkern.ops.gram_matrix passes scale = 1 / (C * H * W).
// x is (batch, C, L), g (batch, C, C).
template <typename T>
void gram_forward(int64_t batch, int64_t C, int64_t L, const T* x, T* g, T scale);

// Gradient of gram_forward: dX = scale * (dG + dG^T) X, (C, L) per item.
// x (batch, C, L), grad_g (batch, C, C), grad_x (batch, C, L); sym (batch, C, C) is scratch
// (deepkern.ops allocates it) that receives dG + dG^T.
template <typename T>
void gram_backward(int64_t batch, int64_t C, int64_t L, const T* x, const T* grad_g, T* sym, T* grad_x, T scale);

}  // namespace dk::cpu
