// Losses on the GPU: fused cross-entropy and the elementwise MSE / BCE / BCE-with-logits /
// smooth L1 / Huber.
//
// Cross-entropy forward is a reduce-only Op for cuda/row_reduce.cuh: the online max+sum pass
// over each row of C logits (warp per row up to 1024 classes, block per longer row, thread
// per column for (N, C, d...) inputs), then one thread per row writes the loss
// w[t] * ((max - x_t) + log sum) and the saved max and log-sum. No per-element output.
// Backward is elementwise, one thread per logit: softmax recomputed from the saved row
// stats, minus the one-hot, times g_row * w[t]; reads stay coalesced along the logits.
// Formulas, clamps and PyTorch conventions are those of csrc/cpu/loss.cpp.
#include <cmath>

#include "cuda/cuda_check.h"
#include "cuda/launch.cuh"
#include "cuda/loss.h"
#include "cuda/row_reduce.cuh"

namespace dk::cuda {
namespace {

template <typename T>
__device__ __forceinline__ T quiet_nan() {
  return T(NAN);
}

template <typename T>
struct CrossEntropyForward {
  using Acc = MaxSum<T>;
  static constexpr bool kWrites = false;
  const T* __restrict__ x;
  const int64_t* __restrict__ target;
  const T* __restrict__ weight;
  T* __restrict__ loss;
  T* __restrict__ row_max;
  T* __restrict__ row_logsum;
  int64_t C, ignore_index;
  __device__ T value(int64_t k) const { return x[k]; }
  __device__ Acc finish(Acc a) const {
    a.s = log(a.s);
    return a;
  }
  // base/step locate the row's logits: class c is at base + c * step.
  __device__ void row_done(const Acc& a, int64_t row, int64_t base, int64_t step) const {
    const int64_t t = target[row];
    row_max[row] = a.m;
    row_logsum[row] = a.s;
    if (t == ignore_index)
      loss[row] = T(0);
    else if (t < 0 || t >= C)
      loss[row] = quiet_nan<T>();
    else
      loss[row] = (weight ? weight[t] : T(1)) * ((a.m - x[base + t * step]) + a.s);
  }
  __device__ void write(const Acc&, int64_t) const {}
};

template <typename T>
__global__ void cross_entropy_backward_kernel(const T* __restrict__ x, const int64_t* __restrict__ target,
                                              const T* __restrict__ weight, const T* __restrict__ row_max,
                                              const T* __restrict__ row_logsum, const T* __restrict__ g,
                                              bool g_per_row, T* __restrict__ grad, int64_t total, int64_t C,
                                              int64_t inner, int64_t ignore_index) {
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < total; k += (int64_t)gridDim.x * blockDim.x) {
    const int64_t o = k / (C * inner), rem = k - o * C * inner, c = rem / inner, i = rem - c * inner;
    const int64_t row = o * inner + i, t = target[row];
    if (t == ignore_index) {
      grad[k] = T(0);
    } else if (t < 0 || t >= C) {
      grad[k] = quiet_nan<T>();
    } else {
      const T scale = (g_per_row ? g[row] : g[0]) * (weight ? weight[t] : T(1));
      const T p = exp((x[k] - row_max[row]) - row_logsum[row]);
      grad[k] = scale * (p - (c == t ? T(1) : T(0)));
    }
  }
}

template <typename T>
__device__ __forceinline__ T softplus_neg(T a) {  // log(1 + exp(-a)), stable
  return log1p(exp(-fabs(a))) + (a < T(0) ? -a : T(0));
}

template <typename T>
__device__ __forceinline__ T stable_sigmoid(T a) {
  const T e = exp(-fabs(a));
  return a >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
}

// std::max(v, lo) of the CPU kernel: a NaN v stays NaN. fmax(NaN, lo) would return lo and
// turn a NaN input into a finite BCE loss on the GPU only.
template <typename T>
__device__ __forceinline__ T max_like_std(T v, T lo) {
  return v < lo ? lo : v;
}

template <typename T>
__device__ T pointwise_value(PointwiseLoss kind, T a, T b, T pw, T p) {
  switch (kind) {
    case PointwiseLoss::mse: return (a - b) * (a - b);
    case PointwiseLoss::bce: return -(b * max_like_std(log(a), T(-100)) + (T(1) - b) * max_like_std(log1p(-a), T(-100)));
    case PointwiseLoss::bce_logits: return (T(1) - b) * a + (T(1) + (pw - T(1)) * b) * softplus_neg(a);
    case PointwiseLoss::smooth_l1: {
      const T d = fabs(a - b);
      return d < p ? T(0.5) * d * d / p : d - T(0.5) * p;
    }
    case PointwiseLoss::huber: {
      const T d = fabs(a - b);
      return d < p ? T(0.5) * d * d : p * (d - T(0.5) * p);
    }
  }
  return T(0);
}

template <typename T>
__device__ T pointwise_grad(PointwiseLoss kind, T a, T b, T pw, T p) {
  switch (kind) {
    case PointwiseLoss::mse: return T(2) * (a - b);
    case PointwiseLoss::bce: return (a - b) / max_like_std((T(1) - a) * a, T(1e-12));
    case PointwiseLoss::bce_logits: return (T(1) - b) + (T(1) + (pw - T(1)) * b) * (stable_sigmoid(a) - T(1));
    case PointwiseLoss::smooth_l1: {
      const T d = a - b;
      return d < -p ? T(-1) : d > p ? T(1) : p > T(0) ? d / p : d * T(0);
    }
    case PointwiseLoss::huber: {
      const T d = a - b;
      return d < -p ? -p : d > p ? p : d;
    }
  }
  return T(0);
}

template <typename T>
__global__ void pointwise_forward_kernel(PointwiseLoss kind, const T* __restrict__ a, const T* __restrict__ b,
                                         const T* __restrict__ weight, const T* __restrict__ pos_weight, T param,
                                         T* __restrict__ out, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const T v = pointwise_value(kind, a[i], b[i], pos_weight ? pos_weight[i] : T(1), param);
    out[i] = weight ? weight[i] * v : v;
  }
}

template <typename T>
__global__ void pointwise_backward_kernel(PointwiseLoss kind, const T* __restrict__ a, const T* __restrict__ b,
                                          const T* __restrict__ weight, const T* __restrict__ pos_weight, T param,
                                          const T* __restrict__ g, bool g_per_elem, T* __restrict__ grad,
                                          int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const T d = pointwise_grad(kind, a[i], b[i], pos_weight ? pos_weight[i] : T(1), param);
    grad[i] = (g_per_elem ? g[i] : g[0]) * (weight ? weight[i] * d : d);
  }
}

constexpr unsigned kBlock = 256;

}  // namespace

template <typename T>
void cross_entropy_forward(const T* logits, const int64_t* target, const T* weight, T* loss, T* row_max,
                           T* row_logsum, int64_t outer, int64_t C, int64_t inner, int64_t ignore_index,
                           cudaStream_t stream) {
  launch_rows(CrossEntropyForward<T>{logits, target, weight, loss, row_max, row_logsum, C, ignore_index}, outer, C,
              inner, stream);
}

template <typename T>
void cross_entropy_backward(const T* logits, const int64_t* target, const T* weight, const T* row_max,
                            const T* row_logsum, const T* g, bool g_per_row, T* grad, int64_t outer, int64_t C,
                            int64_t inner, int64_t ignore_index, cudaStream_t stream) {
  const int64_t total = outer * C * inner;
  if (total == 0) return;
  DK_LAUNCH(cross_entropy_backward_kernel<T>, grid_for(total, kBlock), kBlock, 0, stream)(
      logits, target, weight, row_max, row_logsum, g, g_per_row, grad, total, C, inner, ignore_index);
  DK_CUDA_CHECK_LAUNCH();
}

template <typename T>
void pointwise_loss_forward(PointwiseLoss kind, const T* a, const T* b, const T* weight, const T* pos_weight,
                            T param, T* out, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  DK_LAUNCH(pointwise_forward_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream)(kind, a, b, weight, pos_weight,
                                                                                 param, out, n);
  DK_CUDA_CHECK_LAUNCH();
}

template <typename T>
void pointwise_loss_backward(PointwiseLoss kind, const T* a, const T* b, const T* weight, const T* pos_weight,
                             T param, const T* g, bool g_per_elem, T* grad, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  DK_LAUNCH(pointwise_backward_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream)(kind, a, b, weight, pos_weight,
                                                                                  param, g, g_per_elem, grad, n);
  DK_CUDA_CHECK_LAUNCH();
}

#define DK_INSTANTIATE(T)                                                                                      \
  template void cross_entropy_forward<T>(const T*, const int64_t*, const T*, T*, T*, T*, int64_t, int64_t,     \
                                         int64_t, int64_t, cudaStream_t);                                      \
  template void cross_entropy_backward<T>(const T*, const int64_t*, const T*, const T*, const T*, const T*,    \
                                          bool, T*, int64_t, int64_t, int64_t, int64_t, cudaStream_t);         \
  template void pointwise_loss_forward<T>(PointwiseLoss, const T*, const T*, const T*, const T*, T, T*,        \
                                          int64_t, cudaStream_t);                                              \
  template void pointwise_loss_backward<T>(PointwiseLoss, const T*, const T*, const T*, const T*, T, const T*, \
                                           bool, T*, int64_t, cudaStream_t);
DK_INSTANTIATE(float)
DK_INSTANTIATE(double)
#undef DK_INSTANTIATE

}  // namespace dk::cuda
