// Gram matrices of feature maps (neural style transfer's style representation), forward and
// backward, on the project's GEMM.
//
// Layout: x is (batch, C, L), one feature map per item with its channels as rows (L = H * W of
// an NCHW activation, so no transposing copy). For each item
//
//   forward:   G  = scale * X X^T                 (C, C)  one batched GEMM, trans_b = true
//   backward:  dX = scale * (dG + dG^T) X         (C, L)  a symmetrizing pass, then one GEMM
//
// G is a function of X through both factors, hence dG + dG^T; forming that sum first (C^2 adds)
// halves the backward's flops against two GEMMs dG X + dG^T X. The sum goes to caller-given
// scratch (kernels never allocate). scale (1 / (C H W) from deepkern.ops) is the GEMM's alpha,
// so the normalization costs nothing. The GEMM splits the work over threads itself.
#include "cpu/gram.h"

#include "cpu/gemm.h"

namespace dk::cpu {

template <typename T>
void gram_forward(int64_t batch, int64_t C, int64_t L, const T* x, T* g, T scale) {
  // op(A) = X (C, L), op(B) = X^T: B is X read transposed.
  gemm_batched<T>(batch, false, true, C, C, L, scale, x, L, C * L, x, L, C * L, T(0), nullptr, g, C, C * C);
}

template <typename T>
void gram_backward(int64_t batch, int64_t C, int64_t L, const T* x, const T* grad_g, T* sym, T* grad_x, T scale) {
  for (int64_t b = 0; b < batch; ++b) {
    const T* gg = grad_g + b * C * C;
    T* s = sym + b * C * C;
    for (int64_t i = 0; i < C; ++i)
      for (int64_t j = 0; j < C; ++j) s[i * C + j] = gg[i * C + j] + gg[j * C + i];
  }
  gemm_batched<T>(batch, false, false, C, L, C, scale, sym, C, C * C, x, L, C * L, T(0), nullptr, grad_x, L, C * L);
}

template void gram_forward<float>(int64_t, int64_t, int64_t, const float*, float*, float);
template void gram_forward<double>(int64_t, int64_t, int64_t, const double*, double*, double);
template void gram_backward<float>(int64_t, int64_t, int64_t, const float*, const float*, float*, float*, float);
template void gram_backward<double>(int64_t, int64_t, int64_t, const double*, const double*, double*, double*,
                                    double);

}  // namespace dk::cpu
