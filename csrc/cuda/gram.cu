// Gram matrices of feature maps on the GPU, forward and backward, on the project's CUDA GEMM.
//
// Layout and algorithm as the CPU kernels (cpu/gram.cpp): x (batch, C, L) with channels as rows,
//   forward:   G  = scale * X X^T            one batched GEMM (trans_b), scale as its alpha
//   backward:  dX = scale * (dG + dG^T) X    symmetrize_kernel into caller-given scratch, then
//                                            one batched GEMM
// symmetrize_kernel is a grid-stride loop over the batch * C * C entries (C^2 work next to the
// GEMM's C^2 L). Everything runs on the caller's stream without synchronizing.
#include "cuda/cuda_check.h"
#include "cuda/gemm.h"
#include "cuda/gram.h"
#include "cuda/launch.cuh"

namespace dk::cuda {
namespace {

constexpr int kBlock = 256;

// s[b, i, j] = gg[b, i, j] + gg[b, j, i] for n = batch * C * C entries.
template <typename T>
__global__ void symmetrize_kernel(const T* __restrict__ gg, T* __restrict__ s, int64_t C, int64_t n) {
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < n; k += int64_t(gridDim.x) * blockDim.x) {
    const int64_t b = k / (C * C), ij = k - b * C * C, i = ij / C, j = ij - i * C;
    s[k] = gg[k] + gg[b * C * C + j * C + i];
  }
}

}  // namespace

template <typename T>
void gram_forward(int64_t batch, int64_t C, int64_t L, const T* x, T* g, T scale, cudaStream_t stream) {
  gemm_batched<T>(batch, false, true, C, C, L, scale, x, L, C * L, x, L, C * L, T(0), nullptr, g, C, C * C, stream);
}

template <typename T>
void gram_backward(int64_t batch, int64_t C, int64_t L, const T* x, const T* grad_g, T* sym, T* grad_x, T scale,
                   cudaStream_t stream) {
  const int64_t n = batch * C * C;
  if (n == 0) return;
  DK_LAUNCH(symmetrize_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream)(grad_g, sym, C, n);
  DK_CUDA_CHECK_LAUNCH();
  gemm_batched<T>(batch, false, false, C, L, C, scale, sym, C, C * C, x, L, C * L, T(0), nullptr, grad_x, L, C * L,
                  stream);
}

template void gram_forward<float>(int64_t, int64_t, int64_t, const float*, float*, float, cudaStream_t);
template void gram_forward<double>(int64_t, int64_t, int64_t, const double*, double*, double, cudaStream_t);
template void gram_backward<float>(int64_t, int64_t, int64_t, const float*, const float*, float*, float*, float,
                                   cudaStream_t);
template void gram_backward<double>(int64_t, int64_t, int64_t, const double*, const double*, double*, double*,
                                    double, cudaStream_t);

}  // namespace dk::cuda
