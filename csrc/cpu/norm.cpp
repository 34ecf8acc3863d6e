// Batch normalization, forward (training and eval) and backward, float32 and float64.
//
// Layout (N, C, S), S = spatial size: channel c is N contiguous segments of S values, one
// every C*S. Threads split the channels into blocks; each channel is processed whole by one
// thread. Two loop orders over a block of channels:
//   S > 1 (images, sequences): channel by channel, segment by segment, vectorized along S;
//   S == 1 ((N, C) from BatchNorm1d): row by row, vectorized ACROSS the block's channels,
//     with per-channel accumulator arrays (a channel-by-channel walk would be strided and
//     scalar: 50-100x slower at (256, 4096)).
// Statistics: two passes with wide accumulators: mean first, then sum((x - mean)^2). Not
// Welford: its per-element division does not vectorize, and its only advantage (one read)
// is small here because a channel of a typical batch (8 x 56 x 56 floats = 100 KB) is still
// in L2 for the second pass. Two-pass has no cancellation (unlike sum(x^2) - M mean^2), and
// accumulating float32 data in float64 (float64 data in long double) makes the statistics
// exact to the output's precision for any M. The elementwise passes run in T with
// per-channel coefficients computed in the wide type: y = (x - mean) * (w * invstd) + b,
// and backward gx = a (gy - mean(gy) - k (x - mean)).
#include "cpu/norm.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "core/parallel.h"
#include "cpu/simd.h"

namespace dk::cpu {
namespace {

template <typename T>
using Acc = std::conditional_t<std::is_same_v<T, float>, double, long double>;

// out[i] = sum of f(k, i) over the M = N*S elements k of channel c0 + i, for i < c1 - c0.
template <typename A, typename F>
DK_INLINE void channel_sums(int64_t N, int64_t C, int64_t S, int64_t c0, int64_t c1, A* out, F&& f) {
  const int64_t nc = c1 - c0;
  for (int64_t i = 0; i < nc; ++i) out[i] = A(0);
  if (S == 1) {
    for (int64_t n = 0; n < N; ++n) {
      const int64_t off = n * C + c0;
      for (int64_t i = 0; i < nc; ++i) out[i] += f(off + i, i);
    }
    return;
  }
  constexpr int L = 8;  // partial sums along S
  for (int64_t i = 0; i < nc; ++i) {
    A acc[L] = {};
    for (int64_t n = 0; n < N; ++n) {
      const int64_t off = (n * C + c0 + i) * S;
      int64_t s = 0;
      for (; s + L <= S; s += L)
        for (int j = 0; j < L; ++j) acc[j] += f(off + s + j, i);
      for (int j = 0; s + j < S; ++j) acc[j] += f(off + s + j, i);
    }
    for (int j = 0; j < L; ++j) out[i] += acc[j];
  }
}

template <typename T>
DK_INLINE void forward_block(const T* x, T* y, const T* weight, const T* bias, T* running_mean, T* running_var,
                             T* save_mean, T* save_invstd, int64_t N, int64_t C, int64_t S, bool training,
                             double momentum, double eps, int64_t c0, int64_t c1) {
  using A = Acc<T>;
  const int64_t nc = c1 - c0, M = N * S;
  std::vector<A> mean(nc, A(0)), var(nc, A(0));  // an empty batch (M == 0) keeps 0 and updates nothing
  if (training && M > 0) {
    channel_sums<A>(N, C, S, c0, c1, mean.data(), [&](int64_t k, int64_t) { return A(x[k]); });
    for (int64_t i = 0; i < nc; ++i) mean[i] /= A(M);
    const A* mu = mean.data();
    channel_sums<A>(N, C, S, c0, c1, var.data(), [&](int64_t k, int64_t i) {
      const A d = A(x[k]) - mu[i];
      return d * d;
    });
    for (int64_t i = 0; i < nc; ++i) var[i] /= A(M);
    if (running_mean) {
      const A mom = A(momentum);
      for (int64_t i = 0, c = c0; i < nc; ++i, ++c) {
        running_mean[c] = T((A(1) - mom) * A(running_mean[c]) + mom * mean[i]);
        running_var[c] = T((A(1) - mom) * A(running_var[c]) + mom * var[i] * A(M) / A(M - 1));
      }
    }
  } else if (!training) {
    for (int64_t i = 0; i < nc; ++i) {
      mean[i] = A(running_mean[c0 + i]);
      var[i] = A(running_var[c0 + i]);
    }
  }
  std::vector<T> m(nc), a(nc), b(nc);
  for (int64_t i = 0, c = c0; i < nc; ++i, ++c) {
    const A invstd = A(1) / std::sqrt(var[i] + A(eps));
    save_mean[c] = m[i] = T(mean[i]);
    save_invstd[c] = T(invstd);
    a[i] = T((weight ? A(weight[c]) : A(1)) * invstd);
    b[i] = bias ? bias[c] : T(0);
  }
  if (S == 1) {
    const T *pm = m.data(), *pa = a.data(), *pb = b.data();
    for (int64_t n = 0; n < N; ++n) {
      const T* xr = x + n * C + c0;
      T* yr = y + n * C + c0;
      for (int64_t i = 0; i < nc; ++i) yr[i] = (xr[i] - pm[i]) * pa[i] + pb[i];
    }
    return;
  }
  for (int64_t i = 0; i < nc; ++i) {
    const T mi = m[i], ai = a[i], bi = b[i];
    for (int64_t n = 0; n < N; ++n) {
      const T* xs = x + (n * C + c0 + i) * S;
      T* ys = y + (n * C + c0 + i) * S;
      for (int64_t s = 0; s < S; ++s) ys[s] = (xs[s] - mi) * ai + bi;
    }
  }
}

template <typename T>
DK_INLINE void backward_block(const T* gy, const T* x, const T* weight, const T* save_mean, const T* save_invstd,
                              T* gx, T* grad_weight, T* grad_bias, int64_t N, int64_t C, int64_t S, bool training,
                              int64_t c0, int64_t c1) {
  using A = Acc<T>;
  const int64_t nc = c1 - c0, M = N * S;
  std::vector<A> mean(nc), sg(nc), sgx(nc);
  for (int64_t i = 0; i < nc; ++i) mean[i] = A(save_mean[c0 + i]);
  const A* mu = mean.data();
  channel_sums<A>(N, C, S, c0, c1, sg.data(), [&](int64_t k, int64_t) { return A(gy[k]); });
  channel_sums<A>(N, C, S, c0, c1, sgx.data(), [&](int64_t k, int64_t i) { return A(gy[k]) * (A(x[k]) - mu[i]); });
  // gx = a (gy - mean(gy) - (x - mean) k): the bracket cancels first and is scaled once, as
  // the reference does; scaling each term before summing loses ~2-4x more to rounding.
  std::vector<T> m(nc), ta(nc), tg(nc), tk(nc);
  for (int64_t i = 0, c = c0; i < nc; ++i, ++c) {
    const A invstd = A(save_invstd[c]);
    grad_bias[c] = T(sg[i]);
    grad_weight[c] = T(sgx[i] * invstd);
    const A a = (weight ? A(weight[c]) : A(1)) * invstd;
    m[i] = T(mean[i]);
    ta[i] = T(a);
    tg[i] = training ? T(sg[i] / A(M)) : T(0);
    tk[i] = training ? T(invstd * invstd * sgx[i] / A(M)) : T(0);
  }
  if (S == 1) {
    const T *pm = m.data(), *pa = ta.data(), *pg = tg.data(), *pk = tk.data();
    for (int64_t n = 0; n < N; ++n) {
      const int64_t off = n * C + c0;
      for (int64_t i = 0; i < nc; ++i) gx[off + i] = pa[i] * (gy[off + i] - pg[i] - (x[off + i] - pm[i]) * pk[i]);
    }
    return;
  }
  for (int64_t i = 0; i < nc; ++i) {
    const T mi = m[i], ai = ta[i], gi = tg[i], ki = tk[i];
    for (int64_t n = 0; n < N; ++n) {
      const int64_t off = (n * C + c0 + i) * S;
      for (int64_t s = 0; s < S; ++s) gx[off + s] = ai * (gy[off + s] - gi - (x[off + s] - mi) * ki);
    }
  }
}

#define DK_NORM_CLONES(T)                                                                                      \
  DK_CLONES void fwd_block(const T* x, T* y, const T* w, const T* b, T* rm, T* rv, T* sm, T* si, int64_t N,    \
                           int64_t C, int64_t S, bool tr, double mom, double eps, int64_t c0, int64_t c1) {    \
    forward_block(x, y, w, b, rm, rv, sm, si, N, C, S, tr, mom, eps, c0, c1);                                  \
  }                                                                                                            \
  DK_CLONES void bwd_block(const T* gy, const T* x, const T* w, const T* sm, const T* si, T* gx, T* gw, T* gb,  \
                           int64_t N, int64_t C, int64_t S, bool tr, int64_t c0, int64_t c1) {                 \
    backward_block(gy, x, w, sm, si, gx, gw, gb, N, C, S, tr, c0, c1);                                         \
  }
DK_NORM_CLONES(float)
DK_NORM_CLONES(double)
#undef DK_NORM_CLONES

// Channels per thread task: enough elements to be worth a thread, and blocks of at most
// kMaxBlock channels so the per-channel arrays of the S == 1 path stay in L1.
constexpr int64_t kMaxBlock = 512;

template <typename F>
void for_channel_blocks(int64_t N, int64_t C, int64_t S, F&& f) {
  const int64_t grain = std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(N * S, 1));
  parallel_for(0, C, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t c0 = lo; c0 < hi; c0 += kMaxBlock) f(c0, std::min(hi, c0 + kMaxBlock));
  });
}

}  // namespace

template <typename T>
void batch_norm_forward(const T* x, T* y, const T* weight, const T* bias, T* running_mean, T* running_var,
                        T* save_mean, T* save_invstd, int64_t N, int64_t C, int64_t S, bool training,
                        double momentum, double eps) {
  for_channel_blocks(N, C, S, [&](int64_t c0, int64_t c1) {
    fwd_block(x, y, weight, bias, running_mean, running_var, save_mean, save_invstd, N, C, S, training, momentum,
              eps, c0, c1);
  });
}

template <typename T>
void batch_norm_backward(const T* gy, const T* x, const T* weight, const T* save_mean, const T* save_invstd,
                         T* gx, T* grad_weight, T* grad_bias, int64_t N, int64_t C, int64_t S, bool training) {
  for_channel_blocks(N, C, S, [&](int64_t c0, int64_t c1) {
    bwd_block(gy, x, weight, save_mean, save_invstd, gx, grad_weight, grad_bias, N, C, S, training, c0, c1);
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
