// Batch normalization, forward (training and eval) and backward, float32 and float64.
//
// Layout (N, C, S), S = spatial size: channel c is N contiguous segments of S values, one
// every C*S. Threads split the channels; each channel is processed whole by one thread.
// Statistics: two passes with wide accumulators: mean first, then sum((x - mean)^2). Not
// Welford: its per-element division does not vectorize, and its only advantage (one read)
// is small here because a channel of a typical batch (8 x 56 x 56 floats = 100 KB) is still
// in L2 for the second pass. Two-pass has no cancellation (unlike sum(x^2) - M mean^2), and
// accumulating float32 data in float64 (float64 data in long double) makes the statistics
// exact to the output's precision for any M. The elementwise passes run in T:
// y = (x - mean) * (w * invstd) + b, and backward gx = a (gy - mean(gy) - k (x - mean)) with per-channel
// coefficients computed in the wide type.
#include "cpu/norm.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "core/parallel.h"
#include "cpu/simd.h"

namespace dk::cpu {
namespace {

template <typename T>
using Acc = std::conditional_t<std::is_same_v<T, float>, double, long double>;

// sum over the channel's M values of f(offset), with 8 partial sums (vectorizable).
template <typename A, typename F>
DK_INLINE A channel_sum(int64_t N, int64_t S, int64_t stride, int64_t base, F&& f) {
  constexpr int L = 8;
  A acc[L] = {};
  for (int64_t n = 0; n < N; ++n) {
    const int64_t off = base + n * stride;
    int64_t s = 0;
    for (; s + L <= S; s += L)
      for (int j = 0; j < L; ++j) acc[j] += f(off + s + j);
    for (int j = 0; s + j < S; ++j) acc[j] += f(off + s + j);
  }
  A total = A(0);
  for (int j = 0; j < L; ++j) total += acc[j];
  return total;
}

template <typename T>
DK_INLINE void forward_channel(const T* x, T* y, const T* weight, const T* bias, T* running_mean, T* running_var,
                               T* save_mean, T* save_invstd, int64_t N, int64_t C, int64_t S, bool training,
                               double momentum, double eps, int64_t c) {
  using A = Acc<T>;
  const int64_t stride = C * S, base = c * S, M = N * S;
  A mean = A(0), var = A(0);  // an empty batch (M == 0) normalizes nothing and updates nothing
  if (training && M > 0) {
    mean = channel_sum<A>(N, S, stride, base, [&](int64_t i) { return A(x[i]); }) / A(M);
    var = channel_sum<A>(N, S, stride, base, [&](int64_t i) {
            const A d = A(x[i]) - mean;
            return d * d;
          }) / A(M);
    if (running_mean) {
      const A mom = A(momentum);
      running_mean[c] = T((A(1) - mom) * A(running_mean[c]) + mom * mean);
      running_var[c] = T((A(1) - mom) * A(running_var[c]) + mom * var * A(M) / A(M - 1));
    }
  } else if (!training) {
    mean = A(running_mean[c]);
    var = A(running_var[c]);
  }
  const A invstd = A(1) / std::sqrt(var + A(eps));
  save_mean[c] = T(mean);
  save_invstd[c] = T(invstd);
  const T m = T(mean), a = T((weight ? A(weight[c]) : A(1)) * invstd), b = bias ? bias[c] : T(0);
  for (int64_t n = 0; n < N; ++n) {
    const T* xs = x + base + n * stride;
    T* ys = y + base + n * stride;
    for (int64_t s = 0; s < S; ++s) ys[s] = (xs[s] - m) * a + b;
  }
}

template <typename T>
DK_INLINE void backward_channel(const T* gy, const T* x, const T* weight, const T* save_mean, const T* save_invstd,
                                T* gx, T* grad_weight, T* grad_bias, int64_t N, int64_t C, int64_t S, bool training,
                                int64_t c) {
  using A = Acc<T>;
  const int64_t stride = C * S, base = c * S, M = N * S;
  const A mean = A(save_mean[c]), invstd = A(save_invstd[c]);
  const A sum_g = channel_sum<A>(N, S, stride, base, [&](int64_t i) { return A(gy[i]); });
  const A sum_gxm = channel_sum<A>(N, S, stride, base, [&](int64_t i) { return A(gy[i]) * (A(x[i]) - mean); });
  grad_bias[c] = T(sum_g);
  grad_weight[c] = T(sum_gxm * invstd);
  const A a = (weight ? A(weight[c]) : A(1)) * invstd;
  // gx = a (gy - mean(gy) - (x - mean) k): the bracket cancels first and is scaled once,
  // as the reference does; scaling each term before summing loses ~2x more to rounding.
  const T ta = T(a), m = T(mean);
  const T tg = training ? T(sum_g / A(M)) : T(0);
  const T tk = training ? T(invstd * invstd * sum_gxm / A(M)) : T(0);
  for (int64_t n = 0; n < N; ++n) {
    const int64_t off = base + n * stride;
    for (int64_t s = 0; s < S; ++s) gx[off + s] = ta * (gy[off + s] - tg - (x[off + s] - m) * tk);
  }
}

#define DK_NORM_CLONES(T)                                                                                      \
  DK_CLONES void fwd_channels(const T* x, T* y, const T* w, const T* b, T* rm, T* rv, T* sm, T* si, int64_t N, \
                              int64_t C, int64_t S, bool tr, double mom, double eps, int64_t c0, int64_t c1) { \
    for (int64_t c = c0; c < c1; ++c) forward_channel(x, y, w, b, rm, rv, sm, si, N, C, S, tr, mom, eps, c);    \
  }                                                                                                            \
  DK_CLONES void bwd_channels(const T* gy, const T* x, const T* w, const T* sm, const T* si, T* gx, T* gw,      \
                              T* gb, int64_t N, int64_t C, int64_t S, bool tr, int64_t c0, int64_t c1) {       \
    for (int64_t c = c0; c < c1; ++c) backward_channel(gy, x, w, sm, si, gx, gw, gb, N, C, S, tr, c);           \
  }
DK_NORM_CLONES(float)
DK_NORM_CLONES(double)
#undef DK_NORM_CLONES

int64_t channel_grain(int64_t M) { return std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(M, 1)); }

}  // namespace

template <typename T>
void batch_norm_forward(const T* x, T* y, const T* weight, const T* bias, T* running_mean, T* running_var,
                        T* save_mean, T* save_invstd, int64_t N, int64_t C, int64_t S, bool training,
                        double momentum, double eps) {
  parallel_for(0, C, channel_grain(N * S), [&](int64_t c0, int64_t c1) {
    fwd_channels(x, y, weight, bias, running_mean, running_var, save_mean, save_invstd, N, C, S, training,
                 momentum, eps, c0, c1);
  });
}

template <typename T>
void batch_norm_backward(const T* gy, const T* x, const T* weight, const T* save_mean, const T* save_invstd,
                         T* gx, T* grad_weight, T* grad_bias, int64_t N, int64_t C, int64_t S, bool training) {
  parallel_for(0, C, channel_grain(N * S), [&](int64_t c0, int64_t c1) {
    bwd_channels(gy, x, weight, save_mean, save_invstd, gx, grad_weight, grad_bias, N, C, S, training, c0, c1);
  });
}

#define DK_INSTANTIATE(T)                                                                                    \
  template void batch_norm_forward<T>(const T*, T*, const T*, const T*, T*, T*, T*, T*, int64_t, int64_t,     \
                                      int64_t, bool, double, double);                                         \
  template void batch_norm_backward<T>(const T*, const T*, const T*, const T*, const T*, T*, T*, T*, int64_t, \
                                       int64_t, int64_t, bool);
DK_INSTANTIATE(float)
DK_INSTANTIATE(double)
#undef DK_INSTANTIATE

}  // namespace dk::cpu
