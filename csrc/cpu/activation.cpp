// Elementwise activations, forward and backward, float32 and float64.
//
// Memory-bound loops: split over threads in contiguous chunks (parallel_for), each chunk a
// plain loop the compiler vectorizes, cloned per instruction set (DK_CLONES).
// Derivatives: relu' = [x > 0], leaky' = x > 0 ? 1 : slope, sigmoid' = y(1-y),
// tanh' = 1 - y^2, so sigmoid and tanh backward read the saved output, not the input.
// NaN as PyTorch: relu(NaN) = NaN (a diverging network must not hide its NaNs) and its
// gradient there passes through (relu = x < 0 ? 0 : x, relu' = x <= 0 ? 0 : 1, which also keep
// relu(-0) = -0); leaky_relu(NaN) = NaN with gradient slope.
// Dropout: the mask is a hash of (seed, index) (core/dropout_rng.h), so chunks need no shared
// generator state, the result does not depend on the thread count, and the CUDA kernel makes
// the same mask from the same seed. The mask is stored as uint8 (1 byte per element, a
// quarter of a float mask) and scaled by 1/(1-p) on the fly in forward and backward.
#include "cpu/activation.h"

#include <cmath>

#include "core/dropout_rng.h"
#include "core/parallel.h"
#include "cpu/simd.h"

namespace dk::cpu {
namespace {

constexpr int64_t kGrain = 1 << 16;

template <typename T>
DK_INLINE void forward_body(Activation act, const T* x, T* y, int64_t n, T slope) {
  switch (act) {
    case Activation::relu:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] < T(0) ? T(0) : x[i];
      break;
    case Activation::leaky_relu:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] > T(0) ? x[i] : slope * x[i];
      break;
    case Activation::sigmoid:
      // exp of a non-positive argument only, so large |x| never overflows.
      for (int64_t i = 0; i < n; ++i) {
        T e = std::exp(-std::fabs(x[i]));
        y[i] = x[i] >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
      }
      break;
    case Activation::tanh:
      for (int64_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
      break;
  }
}

template <typename T>
DK_INLINE void backward_body(Activation act, const T* s, const T* gy, T* gx, int64_t n, T slope) {
  switch (act) {
    case Activation::relu:
      for (int64_t i = 0; i < n; ++i) gx[i] = s[i] <= T(0) ? T(0) : gy[i];
      break;
    case Activation::leaky_relu:
      for (int64_t i = 0; i < n; ++i) gx[i] = s[i] > T(0) ? gy[i] : slope * gy[i];
      break;
    case Activation::sigmoid:
      for (int64_t i = 0; i < n; ++i) gx[i] = gy[i] * s[i] * (T(1) - s[i]);
      break;
    case Activation::tanh:
      for (int64_t i = 0; i < n; ++i) gx[i] = gy[i] * (T(1) - s[i] * s[i]);
      break;
  }
}

DK_CLONES void forward_chunk(Activation a, const float* x, float* y, int64_t n, float s) {
  forward_body(a, x, y, n, s);
}
DK_CLONES void forward_chunk(Activation a, const double* x, double* y, int64_t n, double s) {
  forward_body(a, x, y, n, s);
}
DK_CLONES void backward_chunk(Activation a, const float* v, const float* gy, float* gx, int64_t n, float s) {
  backward_body(a, v, gy, gx, n, s);
}
DK_CLONES void backward_chunk(Activation a, const double* v, const double* gy, double* gx, int64_t n,
                              double s) {
  backward_body(a, v, gy, gx, n, s);
}

template <typename T>
DK_INLINE void dropout_forward_body(const T* x, T* y, uint8_t* mask, int64_t n, uint64_t threshold, T scale,
                                    uint64_t seed, uint64_t first) {
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t keep = dropout_keep(seed, first + static_cast<uint64_t>(i), threshold);
    mask[i] = keep;
    y[i] = x[i] * (T(keep) * scale);
  }
}

template <typename T>
DK_INLINE void dropout_backward_body(const T* gy, const uint8_t* mask, T* gx, int64_t n, T scale) {
  for (int64_t i = 0; i < n; ++i) gx[i] = gy[i] * (T(mask[i]) * scale);
}

DK_CLONES void dropout_fwd_chunk(const float* x, float* y, uint8_t* m, int64_t n, uint64_t t, float s, uint64_t seed,
                                 uint64_t first) {
  dropout_forward_body(x, y, m, n, t, s, seed, first);
}
DK_CLONES void dropout_fwd_chunk(const double* x, double* y, uint8_t* m, int64_t n, uint64_t t, double s,
                                 uint64_t seed, uint64_t first) {
  dropout_forward_body(x, y, m, n, t, s, seed, first);
}
DK_CLONES void dropout_bwd_chunk(const float* gy, const uint8_t* m, float* gx, int64_t n, float s) {
  dropout_backward_body(gy, m, gx, n, s);
}
DK_CLONES void dropout_bwd_chunk(const double* gy, const uint8_t* m, double* gx, int64_t n, double s) {
  dropout_backward_body(gy, m, gx, n, s);
}

}  // namespace

template <typename T>
void activation_forward(Activation act, const T* x, T* y, int64_t n, T slope) {
  parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) { forward_chunk(act, x + lo, y + lo, hi - lo, slope); });
}

template <typename T>
void activation_backward(Activation act, const T* saved, const T* gy, T* gx, int64_t n, T slope) {
  parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) {
    backward_chunk(act, saved + lo, gy + lo, gx + lo, hi - lo, slope);
  });
}

template <typename T>
void dropout_forward(const T* x, T* y, uint8_t* mask, int64_t n, double p, uint64_t seed) {
  const uint64_t threshold = dropout_threshold(p);
  const T scale = T(dropout_scale(p));
  parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) {
    dropout_fwd_chunk(x + lo, y + lo, mask + lo, hi - lo, threshold, scale, seed, static_cast<uint64_t>(lo));
  });
}

template <typename T>
void dropout_backward(const T* gy, const uint8_t* mask, T* gx, int64_t n, double p) {
  const T scale = T(dropout_scale(p));
  parallel_for(0, n, kGrain,
               [&](int64_t lo, int64_t hi) { dropout_bwd_chunk(gy + lo, mask + lo, gx + lo, hi - lo, scale); });
}

template void activation_forward<float>(Activation, const float*, float*, int64_t, float);
template void activation_forward<double>(Activation, const double*, double*, int64_t, double);
template void activation_backward<float>(Activation, const float*, const float*, float*, int64_t, float);
template void activation_backward<double>(Activation, const double*, const double*, double*, int64_t, double);
template void dropout_forward<float>(const float*, float*, uint8_t*, int64_t, double, uint64_t);
template void dropout_forward<double>(const double*, double*, uint8_t*, int64_t, double, uint64_t);
template void dropout_backward<float>(const float*, const uint8_t*, float*, int64_t, double);
template void dropout_backward<double>(const double*, const uint8_t*, double*, int64_t, double);

}  // namespace dk::cpu
