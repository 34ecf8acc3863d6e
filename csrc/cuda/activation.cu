// Elementwise activations on the GPU: grid-stride loops, one launch per call, on the
// caller's stream. Same formulas as csrc/cpu/activation.cpp (sigmoid evaluates exp of a
// non-positive argument only; sigmoid/tanh backward read the saved output).
// Dropout: one thread per element hashes (seed, index) with dk::dropout_keep
// (core/dropout_rng.h), the function the CPU kernel uses, so masks agree across devices.
#include "core/dropout_rng.h"
#include "cuda/activation.h"
#include "cuda/cuda_check.h"
#include "cuda/launch.cuh"

namespace dk::cuda {
namespace {

template <typename T>
__device__ T act_forward(Activation act, T x, T slope) {
  switch (act) {
    case Activation::relu: return x < T(0) ? T(0) : x;  // NaN stays NaN, as on the CPU
    case Activation::leaky_relu: return x > T(0) ? x : slope * x;
    case Activation::sigmoid: {
      T e = exp(-fabs(x));
      return x >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
    }
    case Activation::tanh: return tanh(x);
  }
  return x;
}

template <typename T>
__device__ T act_backward(Activation act, T s, T gy, T slope) {
  switch (act) {
    case Activation::relu: return s <= T(0) ? T(0) : gy;  // passes through at NaN
    case Activation::leaky_relu: return s > T(0) ? gy : slope * gy;
    case Activation::sigmoid: return gy * s * (T(1) - s);
    case Activation::tanh: return gy * (T(1) - s * s);
  }
  return gy;
}

template <typename T>
__global__ void forward_kernel(Activation act, const T* __restrict__ x, T* __restrict__ y, int64_t n, T slope) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    y[i] = act_forward(act, x[i], slope);
}

template <typename T>
__global__ void backward_kernel(Activation act, const T* __restrict__ s, const T* __restrict__ gy,
                                T* __restrict__ gx, int64_t n, T slope) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    gx[i] = act_backward(act, s[i], gy[i], slope);
}

template <typename T>
__global__ void dropout_forward_kernel(const T* __restrict__ x, T* __restrict__ y, uint8_t* __restrict__ mask,
                                       int64_t n, uint64_t threshold, T scale, uint64_t seed) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const uint8_t keep = dropout_keep(seed, static_cast<uint64_t>(i), threshold);
    mask[i] = keep;
    y[i] = x[i] * (T(keep) * scale);
  }
}

template <typename T>
__global__ void dropout_backward_kernel(const T* __restrict__ gy, const uint8_t* __restrict__ mask,
                                        T* __restrict__ gx, int64_t n, T scale) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    gx[i] = gy[i] * (T(mask[i]) * scale);
}

constexpr unsigned kBlock = 256;

}  // namespace

template <typename T>
void activation_forward(Activation act, const T* x, T* y, int64_t n, T slope, cudaStream_t stream) {
  if (n == 0) return;
  DK_LAUNCH(forward_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream)(act, x, y, n, slope);
  DK_CUDA_CHECK_LAUNCH();
}

template <typename T>
void activation_backward(Activation act, const T* saved, const T* gy, T* gx, int64_t n, T slope,
                         cudaStream_t stream) {
  if (n == 0) return;
  DK_LAUNCH(backward_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream)(act, saved, gy, gx, n, slope);
  DK_CUDA_CHECK_LAUNCH();
}

template <typename T>
void dropout_forward(const T* x, T* y, uint8_t* mask, int64_t n, double p, uint64_t seed, cudaStream_t stream) {
  if (n == 0) return;
  DK_LAUNCH(dropout_forward_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream)(x, y, mask, n, dropout_threshold(p),
                                                                               T(dropout_scale(p)), seed);
  DK_CUDA_CHECK_LAUNCH();
}

template <typename T>
void dropout_backward(const T* gy, const uint8_t* mask, T* gx, int64_t n, double p, cudaStream_t stream) {
  if (n == 0) return;
  DK_LAUNCH(dropout_backward_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream)(gy, mask, gx, n, T(dropout_scale(p)));
  DK_CUDA_CHECK_LAUNCH();
}

template void activation_forward<float>(Activation, const float*, float*, int64_t, float, cudaStream_t);
template void activation_forward<double>(Activation, const double*, double*, int64_t, double, cudaStream_t);
template void activation_backward<float>(Activation, const float*, const float*, float*, int64_t, float,
                                         cudaStream_t);
template void activation_backward<double>(Activation, const double*, const double*, double*, int64_t, double,
                                          cudaStream_t);

template void dropout_forward<float>(const float*, float*, uint8_t*, int64_t, double, uint64_t, cudaStream_t);
template void dropout_forward<double>(const double*, double*, uint8_t*, int64_t, double, uint64_t, cudaStream_t);
template void dropout_backward<float>(const float*, const uint8_t*, float*, int64_t, double, cudaStream_t);
template void dropout_backward<double>(const double*, const uint8_t*, double*, int64_t, double, cudaStream_t);

}  // namespace dk::cuda
