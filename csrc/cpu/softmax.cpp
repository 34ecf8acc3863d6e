// Softmax and log-softmax along any axis, forward and backward, float32 and float64.
//
// Layout: the array is viewed as (outer, dim, inner) and reduced over dim, so softmax along
// any axis runs in place of the data, with no transposing copy.
//   inner == 1 (last axis): rows of `dim` contiguous values, one row per task, threads over
//     rows. Three passes over the row: max; exp(x - max) stored to y and summed; scale by
//     1/sum (log_softmax: sum only, then y = (x - max) - log(sum)). The row is re-read from
//     L1/L2 after the first pass (a 1000-class float row is 4 KB), so this costs one exp per
//     element; the one-pass online max+sum would cost two (rescaling) for no memory saving.
//     The cross-entropy kernel (loss.cpp), which writes no per-element output, is where the
//     online single pass pays, and uses it.
//   inner > 1: blocks of up to kCols adjacent columns of one outer index; the same passes
//     run down dim with per-column max/sum arrays, vectorized across columns (contiguous).
// Vectorization: reductions keep kLanes independent partial results (cpu/vec_math.h) so GCC
// vectorizes them without -ffast-math; exp is vexp (cpu/vec_math.h). Each
// leaf loop is a DK_CLONES function (baseline / AVX2 / AVX-512 picked at load time).
// Stability: exp only ever sees x - max <= 0, so logits of any magnitude give no inf/NaN.
// Backward's row sums (sum gy, sum gy*y) accumulate in double for float input: gx = gy - sum
// cancels, and a float sum's rounding (a few ulps of |sum|) would show in small gx.
#include "cpu/softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/parallel.h"
#include "cpu/simd.h"
#include "cpu/vec_math.h"

namespace dk::cpu {
namespace {

constexpr int64_t kCols = 256;

template <typename T>
DK_INLINE void rows_forward(const T* x, T* y, int64_t rows, int64_t n, bool log) {
  for (int64_t r = 0; r < rows; ++r, x += n, y += n) {
    const T m = row_max(x, n);
    if (log) {
      const T ls = std::log(lane_sum<T>(n, [&](int64_t i) { return vexp(x[i] - m); }));
      for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - m) - ls;
    } else {
      const T s = lane_sum<T>(n, [&](int64_t i) {
        const T e = vexp(x[i] - m);
        y[i] = e;
        return e;
      });
      const T inv = T(1) / s;
      for (int64_t i = 0; i < n; ++i) y[i] *= inv;
    }
  }
}

template <typename T>
DK_INLINE void rows_backward(const T* gy, const T* y, T* gx, int64_t rows, int64_t n, bool log) {
  for (int64_t r = 0; r < rows; ++r, gy += n, y += n, gx += n) {
    if (log) {
      const T s = T(lane_sum<double>(n, [&](int64_t i) { return gy[i]; }));
      for (int64_t i = 0; i < n; ++i) gx[i] = gy[i] - vexp(y[i]) * s;
    } else {
      const T dot = T(lane_sum<double>(n, [&](int64_t i) { return double(gy[i]) * y[i]; }));
      for (int64_t i = 0; i < n; ++i) gx[i] = y[i] * (gy[i] - dot);
    }
  }
}

// x, y point at (o, 0, i0); B <= kCols columns, row stride `inner`.
template <typename T>
DK_INLINE void cols_forward(const T* x, T* y, int64_t dim, int64_t inner, int64_t B, bool log) {
  T m[kCols], s[kCols];
  for (int64_t j = 0; j < B; ++j) {
    m[j] = -std::numeric_limits<T>::infinity();
    s[j] = T(0);
  }
  for (int64_t d = 0; d < dim; ++d) {
    const T* xd = x + d * inner;
    for (int64_t j = 0; j < B; ++j) m[j] = xd[j] > m[j] ? xd[j] : m[j];
  }
  if (log) {
    for (int64_t d = 0; d < dim; ++d) {
      const T* xd = x + d * inner;
      for (int64_t j = 0; j < B; ++j) s[j] += vexp(xd[j] - m[j]);
    }
    for (int64_t j = 0; j < B; ++j) s[j] = std::log(s[j]);
    for (int64_t d = 0; d < dim; ++d) {
      const T* xd = x + d * inner;
      T* yd = y + d * inner;
      for (int64_t j = 0; j < B; ++j) yd[j] = (xd[j] - m[j]) - s[j];
    }
  } else {
    for (int64_t d = 0; d < dim; ++d) {
      const T* xd = x + d * inner;
      T* yd = y + d * inner;
      for (int64_t j = 0; j < B; ++j) {
        const T e = vexp(xd[j] - m[j]);
        yd[j] = e;
        s[j] += e;
      }
    }
    for (int64_t j = 0; j < B; ++j) s[j] = T(1) / s[j];
    for (int64_t d = 0; d < dim; ++d) {
      T* yd = y + d * inner;
      for (int64_t j = 0; j < B; ++j) yd[j] *= s[j];
    }
  }
}

template <typename T>
DK_INLINE void cols_backward(const T* gy, const T* y, T* gx, int64_t dim, int64_t inner, int64_t B, bool log) {
  using A = double;
  A acc[kCols];
  for (int64_t j = 0; j < B; ++j) acc[j] = A(0);
  for (int64_t d = 0; d < dim; ++d) {
    const T* g = gy + d * inner;
    const T* yd = y + d * inner;
    if (log)
      for (int64_t j = 0; j < B; ++j) acc[j] += A(g[j]);
    else
      for (int64_t j = 0; j < B; ++j) acc[j] += A(g[j]) * yd[j];
  }
  T s[kCols];
  for (int64_t j = 0; j < B; ++j) s[j] = T(acc[j]);
  for (int64_t d = 0; d < dim; ++d) {
    const T* g = gy + d * inner;
    const T* yd = y + d * inner;
    T* o = gx + d * inner;
    if (log)
      for (int64_t j = 0; j < B; ++j) o[j] = g[j] - vexp(yd[j]) * s[j];
    else
      for (int64_t j = 0; j < B; ++j) o[j] = yd[j] * (g[j] - s[j]);
  }
}

DK_CLONES void rows_fwd(const float* x, float* y, int64_t r, int64_t n, bool l) { rows_forward(x, y, r, n, l); }
DK_CLONES void rows_fwd(const double* x, double* y, int64_t r, int64_t n, bool l) { rows_forward(x, y, r, n, l); }
DK_CLONES void rows_bwd(const float* g, const float* y, float* o, int64_t r, int64_t n, bool l) {
  rows_backward(g, y, o, r, n, l);
}
DK_CLONES void rows_bwd(const double* g, const double* y, double* o, int64_t r, int64_t n, bool l) {
  rows_backward(g, y, o, r, n, l);
}
DK_CLONES void cols_fwd(const float* x, float* y, int64_t d, int64_t in, int64_t b, bool l) {
  cols_forward(x, y, d, in, b, l);
}
DK_CLONES void cols_fwd(const double* x, double* y, int64_t d, int64_t in, int64_t b, bool l) {
  cols_forward(x, y, d, in, b, l);
}
DK_CLONES void cols_bwd(const float* g, const float* y, float* o, int64_t d, int64_t in, int64_t b, bool l) {
  cols_backward(g, y, o, d, in, b, l);
}
DK_CLONES void cols_bwd(const double* g, const double* y, double* o, int64_t d, int64_t in, int64_t b, bool l) {
  cols_backward(g, y, o, d, in, b, l);
}

// Calls f(offset, B) for every (outer, column block) of an (outer, dim, inner) array,
// offset being the element offset of (o, 0, i0); threads over the blocks.
template <typename F>
void for_column_blocks(int64_t outer, int64_t dim, int64_t inner, F&& f) {
  const int64_t nb = (inner + kCols - 1) / kCols;
  const int64_t grain = std::max<int64_t>(1, (1 << 15) / (dim * kCols));
  parallel_for(0, outer * nb, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) {
      const int64_t o = t / nb, i0 = (t % nb) * kCols;
      f(o * dim * inner + i0, std::min(kCols, inner - i0));
    }
  });
}

}  // namespace

template <typename T>
void softmax_forward(const T* x, T* y, int64_t outer, int64_t dim, int64_t inner, bool log) {
  if (inner == 1) {
    parallel_for(0, outer, std::max<int64_t>(1, (1 << 15) / dim),
                 [&](int64_t lo, int64_t hi) { rows_fwd(x + lo * dim, y + lo * dim, hi - lo, dim, log); });
    return;
  }
  for_column_blocks(outer, dim, inner,
                    [&](int64_t off, int64_t B) { cols_fwd(x + off, y + off, dim, inner, B, log); });
}

template <typename T>
void softmax_backward(const T* gy, const T* y, T* gx, int64_t outer, int64_t dim, int64_t inner, bool log) {
  if (inner == 1) {
    parallel_for(0, outer, std::max<int64_t>(1, (1 << 15) / dim), [&](int64_t lo, int64_t hi) {
      rows_bwd(gy + lo * dim, y + lo * dim, gx + lo * dim, hi - lo, dim, log);
    });
    return;
  }
  for_column_blocks(outer, dim, inner, [&](int64_t off, int64_t B) {
    cols_bwd(gy + off, y + off, gx + off, dim, inner, B, log);
  });
}

template void softmax_forward<float>(const float*, float*, int64_t, int64_t, int64_t, bool);
template void softmax_forward<double>(const double*, double*, int64_t, int64_t, int64_t, bool);
template void softmax_backward<float>(const float*, const float*, float*, int64_t, int64_t, int64_t, bool);
template void softmax_backward<double>(const double*, const double*, double*, int64_t, int64_t, int64_t, bool);

}  // namespace dk::cpu
