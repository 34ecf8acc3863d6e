// Losses: fused cross-entropy (log-softmax + NLL) and the elementwise MSE / BCE /
// BCE-with-logits / smooth L1 / Huber, forward and backward, float32 and float64.
//
// Cross-entropy forward never materializes log-softmax: per row it computes the max M and
// S = sum exp(x - M), writes the loss (M - x_t) + log S (differences first, so logits of
// magnitude 1e4 lose no precision to an absolute lse) and saves M and log S (two values per
// row). Backward recomputes softmax = exp((x - M) - log S) in one pass, fused with the
// one-hot subtraction and the per-row weight w[t] * g. Layout (outer, C, inner) as
// PyTorch's (N, C, d1, ...):
//   inner == 1: rows of C contiguous logits, threads over rows. Two passes over the row
//     (max, then sum of exp): the row is L1-resident for the second (1000 classes = 4 KB),
//     and this measured ~30% faster (3.0 vs 4.3 ms, 4096x1000 float32, one thread) than the
//     online one-pass max+sum, whose rescaling selects cost more than the re-read.
//   inner > 1: blocks of adjacent columns walked down C with stride inner, vectorized across
//     the columns. Here the ONLINE max+sum pays: one strided pass over the block instead of
//     two. Each value costs one exp: e = exp(-|v - m|), then s = s*e + 1 if v > m (rescale
//     to the new max) else s + e.
// Ignored rows (target == ignore_index) get loss 0 and gradient 0; the caller divides
// 'mean' by the sum of target weights, as PyTorch does.
#include "cpu/loss.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/parallel.h"
#include "cpu/simd.h"
#include "cpu/vec_math.h"

namespace dk::cpu {
namespace {

constexpr int64_t kCols = 256;

// One online step (column path): fold v into (m, s). m starts at the lowest finite value
// (not -inf), so a -inf logit gives exp(-inf) = 0 instead of -inf - (-inf) = NaN.
template <typename T>
DK_INLINE void online_step(T v, T& m, T& s) {
  const bool gt = v > m;
  const T e = vexp(gt ? m - v : v - m);
  s = gt ? s * e + T(1) : s + e;
  m = gt ? v : m;
}

// (max, log sum exp(x - max)) of one contiguous row of n >= 1 values.
template <typename T>
DK_INLINE void row_stats(const T* x, int64_t n, T& max_out, T& logsum_out) {
  const T m = row_max(x, n);
  max_out = m;
  logsum_out = std::log(lane_sum<T>(n, [&](int64_t i) { return vexp(x[i] - m); }));
}

template <typename T>
DK_INLINE T class_weight(const T* weight, int64_t t) {
  return weight ? weight[t] : T(1);
}

template <typename T>
DK_INLINE void ce_rows_forward(const T* x, const int64_t* target, const T* weight, T* loss, T* rmax, T* rlog,
                               int64_t rows, int64_t C, int64_t ignore) {
  for (int64_t r = 0; r < rows; ++r, x += C) {
    row_stats(x, C, rmax[r], rlog[r]);
    const int64_t t = target[r];
    loss[r] = t == ignore ? T(0) : class_weight(weight, t) * ((rmax[r] - x[t]) + rlog[r]);
  }
}

template <typename T>
DK_INLINE void ce_rows_backward(const T* x, const int64_t* target, const T* weight, const T* rmax, const T* rlog,
                                const T* g, bool g_per_row, T* gx, int64_t rows, int64_t C, int64_t ignore) {
  for (int64_t r = 0; r < rows; ++r, x += C, gx += C) {
    const int64_t t = target[r];
    if (t == ignore) {
      std::fill(gx, gx + C, T(0));
      continue;
    }
    const T scale = (g_per_row ? g[r] : g[0]) * class_weight(weight, t);
    const T m = rmax[r], ls = rlog[r];
    for (int64_t c = 0; c < C; ++c) gx[c] = scale * vexp((x[c] - m) - ls);
    gx[t] -= scale;
  }
}

// x points at (o, 0, i0); rows r0 .. r0 + B - 1 of the (outer*inner) row arrays.
template <typename T>
DK_INLINE void ce_cols_forward(const T* x, const int64_t* target, const T* weight, T* loss, T* rmax, T* rlog,
                               int64_t C, int64_t inner, int64_t B, int64_t ignore) {
  T m[kCols], s[kCols];
  for (int64_t j = 0; j < B; ++j) {
    m[j] = std::numeric_limits<T>::lowest();
    s[j] = T(0);
  }
  for (int64_t c = 0; c < C; ++c) {
    const T* xc = x + c * inner;
    for (int64_t j = 0; j < B; ++j) online_step(xc[j], m[j], s[j]);
  }
  for (int64_t j = 0; j < B; ++j) {
    const int64_t t = target[j];
    rmax[j] = m[j];
    rlog[j] = std::log(s[j]);
    loss[j] = t == ignore ? T(0) : class_weight(weight, t) * ((m[j] - x[t * inner + j]) + rlog[j]);
  }
}

template <typename T>
DK_INLINE void ce_cols_backward(const T* x, const int64_t* target, const T* weight, const T* rmax, const T* rlog,
                                const T* g, bool g_per_row, T* gx, int64_t C, int64_t inner, int64_t B,
                                int64_t ignore) {
  T scale[kCols];
  for (int64_t j = 0; j < B; ++j) {
    const int64_t t = target[j];
    scale[j] = t == ignore ? T(0) : (g_per_row ? g[j] : g[0]) * class_weight(weight, t);
  }
  for (int64_t c = 0; c < C; ++c) {
    const T* xc = x + c * inner;
    T* o = gx + c * inner;
    for (int64_t j = 0; j < B; ++j) {
      const T p = target[j] == ignore ? T(0) : vexp((xc[j] - rmax[j]) - rlog[j]);
      o[j] = scale[j] * (p - (target[j] == c ? T(1) : T(0)));
    }
  }
}

#define DK_CE_CLONES(T)                                                                                         \
  DK_CLONES void ce_rows_fwd(const T* x, const int64_t* t, const T* w, T* l, T* m, T* s, int64_t r, int64_t C,  \
                             int64_t ig) {                                                                      \
    ce_rows_forward(x, t, w, l, m, s, r, C, ig);                                                                \
  }                                                                                                             \
  DK_CLONES void ce_rows_bwd(const T* x, const int64_t* t, const T* w, const T* m, const T* s, const T* g,      \
                             bool pr, T* gx, int64_t r, int64_t C, int64_t ig) {                                \
    ce_rows_backward(x, t, w, m, s, g, pr, gx, r, C, ig);                                                       \
  }                                                                                                             \
  DK_CLONES void ce_cols_fwd(const T* x, const int64_t* t, const T* w, T* l, T* m, T* s, int64_t C,             \
                             int64_t in, int64_t B, int64_t ig) {                                               \
    ce_cols_forward(x, t, w, l, m, s, C, in, B, ig);                                                            \
  }                                                                                                             \
  DK_CLONES void ce_cols_bwd(const T* x, const int64_t* t, const T* w, const T* m, const T* s, const T* g,      \
                             bool pr, T* gx, int64_t C, int64_t in, int64_t B, int64_t ig) {                    \
    ce_cols_backward(x, t, w, m, s, g, pr, gx, C, in, B, ig);                                                   \
  }
DK_CE_CLONES(float)
DK_CE_CLONES(double)
#undef DK_CE_CLONES

// f(o, i0, B) for every (outer, column block), threaded.
template <typename F>
void for_column_blocks(int64_t outer, int64_t C, int64_t inner, F&& f) {
  const int64_t nb = (inner + kCols - 1) / kCols;
  parallel_for(0, outer * nb, std::max<int64_t>(1, (1 << 15) / (C * kCols)), [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) {
      const int64_t o = t / nb, i0 = (t % nb) * kCols;
      f(o, i0, std::min(kCols, inner - i0));
    }
  });
}

// ---- elementwise losses ---------------------------------------------------------------
template <typename T>
DK_INLINE T softplus_neg(T a) {  // log(1 + exp(-a)), stable
  return std::log1p(std::exp(-std::fabs(a))) + (a < T(0) ? -a : T(0));
}

template <typename T>
DK_INLINE T stable_sigmoid(T a) {
  const T e = std::exp(-std::fabs(a));
  return a >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
}

template <typename T>
T pointwise_value(PointwiseLoss kind, T a, T b, T pw) {
  switch (kind) {
    case PointwiseLoss::mse: return (a - b) * (a - b);
    case PointwiseLoss::bce:
      return -(b * std::max(std::log(a), T(-100)) + (T(1) - b) * std::max(std::log1p(-a), T(-100)));
    case PointwiseLoss::bce_logits: return (T(1) - b) * a + (T(1) + (pw - T(1)) * b) * softplus_neg(a);
    default: break;  // smooth_l1, huber: threshold_loss_* below
  }
  return T(0);
}

template <typename T>
T pointwise_grad(PointwiseLoss kind, T a, T b, T pw) {
  switch (kind) {
    case PointwiseLoss::mse: return T(2) * (a - b);
    case PointwiseLoss::bce: return (a - b) / std::max((T(1) - a) * a, T(1e-12));
    case PointwiseLoss::bce_logits: return (T(1) - b) + (T(1) + (pw - T(1)) * b) * (stable_sigmoid(a) - T(1));
    default: break;
  }
  return T(0);
}

// Smooth L1 / Huber with threshold p, one loop per kind over contiguous arrays (selects, no
// per-element switch, so GCC vectorizes them: ~4x the generic loop). The quadratic branch is
// taken only for |d| < p, so a NaN difference falls to the linear branch and stays NaN (as
// PyTorch). Gradients compare d itself (d < -p, d > p), so NaN reaches the middle branch and
// stays NaN; smooth L1 with p = 0 is the L1 loss, whose gradient at d = 0 is 0 (d * 0 keeps NaN).
template <bool kHuber, typename T>
DK_INLINE void threshold_loss_forward(const T* a, const T* b, const T* weight, T p, T* out, int64_t n) {
  const T half_p = T(0.5) * p;
  for (int64_t i = 0; i < n; ++i) {
    const T d = std::fabs(a[i] - b[i]);
    const T v = kHuber ? (d < p ? T(0.5) * d * d : p * (d - half_p)) : (d < p ? T(0.5) * d * d / p : d - half_p);
    out[i] = weight ? weight[i] * v : v;
  }
}

template <bool kHuber, typename T>
DK_INLINE void threshold_loss_backward(const T* a, const T* b, const T* weight, T p, const T* g, bool g_per_elem,
                                       T* grad, int64_t n) {
  const T limit = kHuber ? p : T(1);
  const T inner_scale = kHuber ? T(1) : p > T(0) ? T(1) / p : T(0);
  const bool divide = !kHuber && p > T(0);
  for (int64_t i = 0; i < n; ++i) {
    const T d = a[i] - b[i];
    const T inner = divide ? d / p : d * inner_scale;  // Huber: d; smooth L1: d / p (0 when p = 0)
    const T v = d < -p ? -limit : d > p ? limit : inner;
    const T gi = g_per_elem ? g[i] : g[0];
    grad[i] = gi * (weight ? weight[i] * v : v);
  }
}

#define DK_THRESHOLD_CLONES(T)                                                                                  \
  DK_CLONES void threshold_fwd(bool huber, const T* a, const T* b, const T* w, T p, T* out, int64_t n) {        \
    huber ? threshold_loss_forward<true>(a, b, w, p, out, n) : threshold_loss_forward<false>(a, b, w, p, out, n); \
  }                                                                                                             \
  DK_CLONES void threshold_bwd(bool huber, const T* a, const T* b, const T* w, T p, const T* g, bool pe,       \
                               T* grad, int64_t n) {                                                            \
    huber ? threshold_loss_backward<true>(a, b, w, p, g, pe, grad, n)                                           \
          : threshold_loss_backward<false>(a, b, w, p, g, pe, grad, n);                                         \
  }
DK_THRESHOLD_CLONES(float)
DK_THRESHOLD_CLONES(double)
#undef DK_THRESHOLD_CLONES

constexpr int64_t kGrain = 1 << 14;

}  // namespace

template <typename T>
void cross_entropy_forward(const T* logits, const int64_t* target, const T* weight, T* loss, T* row_max,
                           T* row_logsum, int64_t outer, int64_t C, int64_t inner, int64_t ignore_index) {
  if (inner == 1) {
    parallel_for(0, outer, std::max<int64_t>(1, (1 << 15) / C), [&](int64_t lo, int64_t hi) {
      ce_rows_fwd(logits + lo * C, target + lo, weight, loss + lo, row_max + lo, row_logsum + lo, hi - lo, C,
                  ignore_index);
    });
    return;
  }
  for_column_blocks(outer, C, inner, [&](int64_t o, int64_t i0, int64_t B) {
    const int64_t r = o * inner + i0;
    ce_cols_fwd(logits + o * C * inner + i0, target + r, weight, loss + r, row_max + r, row_logsum + r, C, inner,
                B, ignore_index);
  });
}

template <typename T>
void cross_entropy_backward(const T* logits, const int64_t* target, const T* weight, const T* row_max,
                            const T* row_logsum, const T* g, bool g_per_row, T* grad, int64_t outer, int64_t C,
                            int64_t inner, int64_t ignore_index) {
  if (inner == 1) {
    parallel_for(0, outer, std::max<int64_t>(1, (1 << 15) / C), [&](int64_t lo, int64_t hi) {
      ce_rows_bwd(logits + lo * C, target + lo, weight, row_max + lo, row_logsum + lo, g_per_row ? g + lo : g,
                  g_per_row, grad + lo * C, hi - lo, C, ignore_index);
    });
    return;
  }
  for_column_blocks(outer, C, inner, [&](int64_t o, int64_t i0, int64_t B) {
    const int64_t r = o * inner + i0, off = o * C * inner + i0;
    ce_cols_bwd(logits + off, target + r, weight, row_max + r, row_logsum + r, g_per_row ? g + r : g, g_per_row,
                grad + off, C, inner, B, ignore_index);
  });
}

template <typename T>
void pointwise_loss_forward(PointwiseLoss kind, const T* a, const T* b, const T* weight, const T* pos_weight,
                            T param, T* out, int64_t n) {
  if (kind == PointwiseLoss::smooth_l1 || kind == PointwiseLoss::huber) {
    parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) {
      threshold_fwd(kind == PointwiseLoss::huber, a + lo, b + lo, weight ? weight + lo : nullptr, param, out + lo,
                    hi - lo);
    });
    return;
  }
  parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const T v = pointwise_value(kind, a[i], b[i], pos_weight ? pos_weight[i] : T(1));
      out[i] = weight ? weight[i] * v : v;
    }
  });
}

template <typename T>
void pointwise_loss_backward(PointwiseLoss kind, const T* a, const T* b, const T* weight, const T* pos_weight,
                             T param, const T* g, bool g_per_elem, T* grad, int64_t n) {
  if (kind == PointwiseLoss::smooth_l1 || kind == PointwiseLoss::huber) {
    parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) {
      threshold_bwd(kind == PointwiseLoss::huber, a + lo, b + lo, weight ? weight + lo : nullptr, param,
                    g_per_elem ? g + lo : g, g_per_elem, grad + lo, hi - lo);
    });
    return;
  }
  parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const T d = pointwise_grad(kind, a[i], b[i], pos_weight ? pos_weight[i] : T(1));
      grad[i] = (g_per_elem ? g[i] : g[0]) * (weight ? weight[i] * d : d);
    }
  });
}

#define DK_INSTANTIATE(T)                                                                                       \
  template void cross_entropy_forward<T>(const T*, const int64_t*, const T*, T*, T*, T*, int64_t, int64_t,      \
                                         int64_t, int64_t);                                                     \
  template void cross_entropy_backward<T>(const T*, const int64_t*, const T*, const T*, const T*, const T*,     \
                                          bool, T*, int64_t, int64_t, int64_t, int64_t);                        \
  template void pointwise_loss_forward<T>(PointwiseLoss, const T*, const T*, const T*, const T*, T, T*,         \
                                          int64_t);                                                             \
  template void pointwise_loss_backward<T>(PointwiseLoss, const T*, const T*, const T*, const T*, T, const T*,  \
                                           bool, T*, int64_t);
DK_INSTANTIATE(float)
DK_INSTANTIATE(double)
#undef DK_INSTANTIATE

}  // namespace dk::cpu
