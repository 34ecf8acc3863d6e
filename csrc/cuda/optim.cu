// Fused optimizer steps on the GPU: one grid-stride kernel per step and parameter, each
// thread updating whole elements (parameter and state read once, written once) with the
// per-element math shared with the CPU (core/optim_math.h). Hyperparameters travel by value
// in the kernel's parameter space. Null optional-state pointers are uniform across the grid,
// so their branches never diverge. Memory-bound: ~(3 + #state) * 2 * sizeof(T) bytes/element.
#include "cuda/cuda_check.h"
#include "cuda/launch.cuh"
#include "cuda/optim.h"

namespace dk::cuda {
namespace {

template <typename T>
__global__ void sgd_kernel(T* __restrict__ p, const T* __restrict__ g, T* __restrict__ buf, int64_t n,
                           optim::SgdHyper<T> h) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    optim::sgd_update(p[i], g[i], buf ? buf + i : nullptr, h);
}

template <typename T>
__global__ void adam_kernel(T* __restrict__ p, const T* __restrict__ g, T* __restrict__ m, T* __restrict__ v,
                            T* __restrict__ vmax, int64_t n, optim::AdamHyper<T> h) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    optim::adam_update(p[i], g[i], m[i], v[i], vmax ? vmax + i : nullptr, h);
}

template <typename T>
__global__ void rmsprop_kernel(T* __restrict__ p, const T* __restrict__ g, T* __restrict__ s, T* __restrict__ a,
                               T* __restrict__ buf, int64_t n, optim::RmspropHyper<T> h) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    optim::rmsprop_update(p[i], g[i], s[i], a ? a + i : nullptr, buf ? buf + i : nullptr, h);
}

constexpr unsigned kBlock = 256;

}  // namespace

template <typename T>
void sgd_step(T* param, const T* grad, T* momentum_buffer, int64_t n, const optim::SgdHyper<T>& h,
              cudaStream_t stream) {
  if (n == 0) return;
  DK_LAUNCH(sgd_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream)(param, grad, momentum_buffer, n, h);
  DK_CUDA_CHECK_LAUNCH();
}

template <typename T>
void adam_step(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, int64_t n,
               const optim::AdamHyper<T>& h, cudaStream_t stream) {
  if (n == 0) return;
  DK_LAUNCH(adam_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream)(param, grad, exp_avg, exp_avg_sq,
                                                                     max_exp_avg_sq, n, h);
  DK_CUDA_CHECK_LAUNCH();
}

template <typename T>
void rmsprop_step(T* param, const T* grad, T* square_avg, T* grad_avg, T* momentum_buffer, int64_t n,
                  const optim::RmspropHyper<T>& h, cudaStream_t stream) {
  if (n == 0) return;
  DK_LAUNCH(rmsprop_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream)(param, grad, square_avg, grad_avg,
                                                                        momentum_buffer, n, h);
  DK_CUDA_CHECK_LAUNCH();
}

#define DK_INSTANTIATE(T)                                                                                  \
  template void sgd_step<T>(T*, const T*, T*, int64_t, const optim::SgdHyper<T>&, cudaStream_t);          \
  template void adam_step<T>(T*, const T*, T*, T*, T*, int64_t, const optim::AdamHyper<T>&, cudaStream_t); \
  template void rmsprop_step<T>(T*, const T*, T*, T*, T*, int64_t, const optim::RmspropHyper<T>&, cudaStream_t);
DK_INSTANTIATE(float)
DK_INSTANTIATE(double)
#undef DK_INSTANTIATE

}  // namespace dk::cuda
