// Batch normalization on the GPU, forward (training and eval) and backward.
//
// One block per channel (grid = C): the channel's M = N*S values are N segments of S, one
// every C*S; the block's threads walk them flattened (j -> n = j / S, s = j % S), so
// consecutive threads read consecutive addresses within a segment. Statistics as the CPU
// kernels: two passes (mean, then sum of squared deviations: no cancellation) accumulated
// in double for float and double input, block-reduced with warp shuffles and one
// shared-memory step. Thread 0 writes save_mean/save_invstd and updates the running stats
// (momentum, unbiased variance); a third pass writes y. Backward: one block per channel
// reduces sum(gy) and sum(gy * (x - mean)), then writes gx with per-channel coefficients.
// A block per channel suits the shapes of CNN training (C = 64..2048, M in the thousands);
// grids of a few dozen channels leave most of an H200 idle, accepted for simplicity here.
#include "core/checks.h"
#include "cuda/cuda_check.h"
#include "cuda/launch.cuh"
#include "cuda/norm.h"

namespace dk::cuda {
namespace {

constexpr unsigned kBlock = 256;
constexpr unsigned kFull = 0xffffffffu;

// Sum of v over the block (blockDim.x a multiple of 32, <= 1024); every thread gets it.
// `scratch` holds 32 doubles; the trailing __syncthreads lets the caller reuse it at once.
__device__ double block_sum(double v, double* scratch) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(kFull, v, off);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < nwarps ? scratch[lane] : 0.0;
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(kFull, v, off);
  __syncthreads();
  return v;
}

template <typename T>
__global__ void forward_kernel(const T* __restrict__ x, T* __restrict__ y, const T* __restrict__ weight,
                               const T* __restrict__ bias, T* __restrict__ running_mean,
                               T* __restrict__ running_var, T* __restrict__ save_mean, T* __restrict__ save_invstd,
                               int64_t N, int64_t C, int64_t S, bool training, double momentum, double eps) {
  DK_SHARED(double, scratch, [32]);
  const int64_t c = blockIdx.x, M = N * S, stride = C * S, base = c * S;
  double mean = 0.0, var = 0.0;  // an empty batch normalizes nothing and updates nothing
  if (training && M > 0) {
    double acc = 0.0;
    for (int64_t j = threadIdx.x; j < M; j += blockDim.x) acc += double(x[base + (j / S) * stride + j % S]);
    mean = block_sum(acc, scratch) / double(M);
    acc = 0.0;
    for (int64_t j = threadIdx.x; j < M; j += blockDim.x) {
      const double d = double(x[base + (j / S) * stride + j % S]) - mean;
      acc += d * d;
    }
    var = block_sum(acc, scratch) / double(M);
    if (threadIdx.x == 0 && running_mean) {
      running_mean[c] = T((1.0 - momentum) * double(running_mean[c]) + momentum * mean);
      running_var[c] = T((1.0 - momentum) * double(running_var[c]) + momentum * var * double(M) / double(M - 1));
    }
  } else if (!training) {
    mean = double(running_mean[c]);
    var = double(running_var[c]);
  }
  const double invstd = 1.0 / sqrt(var + eps);
  if (threadIdx.x == 0) {
    save_mean[c] = T(mean);
    save_invstd[c] = T(invstd);
  }
  const T m = T(mean), a = T((weight ? double(weight[c]) : 1.0) * invstd), b = bias ? bias[c] : T(0);
  for (int64_t j = threadIdx.x; j < M; j += blockDim.x) {
    const int64_t k = base + (j / S) * stride + j % S;
    y[k] = (x[k] - m) * a + b;
  }
}

template <typename T>
__global__ void backward_kernel(const T* __restrict__ gy, const T* __restrict__ x, const T* __restrict__ weight,
                                const T* __restrict__ save_mean, const T* __restrict__ save_invstd,
                                T* __restrict__ gx, T* __restrict__ grad_weight, T* __restrict__ grad_bias,
                                int64_t N, int64_t C, int64_t S, bool training) {
  DK_SHARED(double, scratch, [32]);
  const int64_t c = blockIdx.x, M = N * S, stride = C * S, base = c * S;
  const double mean = double(save_mean[c]), invstd = double(save_invstd[c]);
  double sg = 0.0, sgx = 0.0;
  for (int64_t j = threadIdx.x; j < M; j += blockDim.x) {
    const int64_t k = base + (j / S) * stride + j % S;
    sg += double(gy[k]);
    sgx += double(gy[k]) * (double(x[k]) - mean);
  }
  sg = block_sum(sg, scratch);
  sgx = block_sum(sgx, scratch);
  if (threadIdx.x == 0) {
    grad_bias[c] = T(sg);
    grad_weight[c] = T(sgx * invstd);
  }
  const double a = (weight ? double(weight[c]) : 1.0) * invstd;
  const double Md = M > 0 ? double(M) : 1.0;
  const T ta = T(a), m = T(mean);
  const T tg = training ? T(sg / Md) : T(0);  // see csrc/cpu/norm.cpp: cancel, then scale
  const T tk = training ? T(invstd * invstd * sgx / Md) : T(0);
  for (int64_t j = threadIdx.x; j < M; j += blockDim.x) {
    const int64_t k = base + (j / S) * stride + j % S;
    gx[k] = ta * (gy[k] - tg - (x[k] - m) * tk);
  }
}

}  // namespace

template <typename T>
void batch_norm_forward(const T* x, T* y, const T* weight, const T* bias, T* running_mean, T* running_var,
                        T* save_mean, T* save_invstd, int64_t N, int64_t C, int64_t S, bool training,
                        double momentum, double eps, cudaStream_t stream) {
  if (C == 0) return;
  DK_CHECK(C <= 2147483647, "batch_norm_forward: too many channels for one grid (", C, ")");
  DK_LAUNCH(forward_kernel<T>, static_cast<unsigned>(C), kBlock, 0, stream)(
      x, y, weight, bias, running_mean, running_var, save_mean, save_invstd, N, C, S, training, momentum, eps);
  DK_CUDA_CHECK_LAUNCH();
}

template <typename T>
void batch_norm_backward(const T* gy, const T* x, const T* weight, const T* save_mean, const T* save_invstd,
                         T* gx, T* grad_weight, T* grad_bias, int64_t N, int64_t C, int64_t S, bool training,
                         cudaStream_t stream) {
  if (C == 0) return;
  DK_CHECK(C <= 2147483647, "batch_norm_backward: too many channels for one grid (", C, ")");
  DK_LAUNCH(backward_kernel<T>, static_cast<unsigned>(C), kBlock, 0, stream)(gy, x, weight, save_mean, save_invstd, gx,
                                                                             grad_weight, grad_bias, N, C, S, training);
  DK_CUDA_CHECK_LAUNCH();
}

#define DK_INSTANTIATE(T)                                                                                    \
  template void batch_norm_forward<T>(const T*, T*, const T*, const T*, T*, T*, T*, T*, int64_t, int64_t,     \
                                      int64_t, bool, double, double, cudaStream_t);                           \
  template void batch_norm_backward<T>(const T*, const T*, const T*, const T*, const T*, T*, T*, T*, int64_t, \
                                       int64_t, int64_t, bool, cudaStream_t);
DK_INSTANTIATE(float)
DK_INSTANTIATE(double)
#undef DK_INSTANTIATE

}  // namespace dk::cuda
