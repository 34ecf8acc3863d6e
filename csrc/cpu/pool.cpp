// 2-D pooling on the CPU (max, average, adaptive average), forward and backward.
//
// Layout: planes (N*C, H, W) -> (N*C, P, Q), C-contiguous. Threads take contiguous runs of
// planes (parallel_for), so no two threads ever write the same output or gradient plane.
// Within a plane the loops run over output rows p and, for each kernel tap (r, s), over a
// whole output row at once: y[p, q] = max(y[p, q], x[p*sh - ph + r, q*sw - pw + s]) for q in
// the tap's in-bounds range (computed once per tap, so the inner loop has no bounds test and
// is vectorized across output columns; stride 1 and 2 are compiled with a constant stride so
// the strided loads vectorize too). The output row stays in L1 across the kh*kw taps, so the
// input is streamed from memory about once. This is the layout PyTorch's NCHW max pooling
// leaves slow (it walks one window at a time).
// Max pooling keeps PyTorch's semantics: strictly greater wins (the first maximum in window
// order), a NaN always wins, the index is the flat h*W + w in the input plane, and a window
// of -inf reports its first in-image position (-1 when a dilated window has no tap in the
// image at all; backward skips it). Backward scatters through saved indices.
// Dilation spaces the taps (tap r reads row p*sh - ph + r*dh); ceil_mode only adds output
// rows/columns whose windows overhang the bottom/right edge: taps outside the image are
// skipped like padding, and an average divides by the window clipped to the padded input
// (count_include_pad), the in-image taps, or divisor_override (core/window2d.h).
#include "cpu/pool.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "core/parallel.h"
#include "cpu/simd.h"

namespace dk::cpu {
namespace {

int64_t plane_grain(int64_t H, int64_t W) { return std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, H * W)); }

// y[q] = max(y[q], xr[q*sw + off]) over q in [lo, hi), recording argmax base + column in idx.
template <typename T, bool kIdx, int kSW>
DK_INLINE void max_taps(const T* xr, int64_t sw_rt, int64_t off, int64_t lo, int64_t hi, T* y, int64_t* idx,
                        int64_t base) {
  const int64_t sw = kSW > 0 ? kSW : sw_rt;
  for (int64_t q = lo; q < hi; ++q) {
    const int64_t c = q * sw + off;
    const T v = xr[c];
    const bool take = v > y[q] || v != v;
    y[q] = take ? v : y[q];
    if constexpr (kIdx) idx[q] = take ? base + c : idx[q];
  }
}

template <typename T>
DK_INLINE void max_row_body(const T* xr, int64_t sw, int64_t off, int64_t lo, int64_t hi, T* y, int64_t* idx,
                            int64_t base) {
  if (idx) {
    if (sw == 1) max_taps<T, true, 1>(xr, sw, off, lo, hi, y, idx, base);
    else if (sw == 2) max_taps<T, true, 2>(xr, sw, off, lo, hi, y, idx, base);
    else max_taps<T, true, 0>(xr, sw, off, lo, hi, y, idx, base);
  } else {
    if (sw == 1) max_taps<T, false, 1>(xr, sw, off, lo, hi, y, idx, base);
    else if (sw == 2) max_taps<T, false, 2>(xr, sw, off, lo, hi, y, idx, base);
    else max_taps<T, false, 0>(xr, sw, off, lo, hi, y, idx, base);
  }
}

// y[q] += xr[q*sw + off] over q in [lo, hi).
template <typename T>
DK_INLINE void sum_row_body(const T* xr, int64_t sw, int64_t off, int64_t lo, int64_t hi, T* y) {
  if (sw == 1) {
    for (int64_t q = lo; q < hi; ++q) y[q] += xr[q + off];
  } else if (sw == 2) {
    for (int64_t q = lo; q < hi; ++q) y[q] += xr[2 * q + off];
  } else {
    for (int64_t q = lo; q < hi; ++q) y[q] += xr[q * sw + off];
  }
}

// xr[q*sw + off] += g[q] over q in [lo, hi).
template <typename T>
DK_INLINE void scatter_row_body(T* xr, int64_t sw, int64_t off, int64_t lo, int64_t hi, const T* g) {
  if (sw == 1) {
    for (int64_t q = lo; q < hi; ++q) xr[q + off] += g[q];
  } else {
    for (int64_t q = lo; q < hi; ++q) xr[q * sw + off] += g[q];
  }
}

DK_CLONES void max_row(const float* xr, int64_t sw, int64_t off, int64_t lo, int64_t hi, float* y, int64_t* idx,
                       int64_t base) {
  max_row_body(xr, sw, off, lo, hi, y, idx, base);
}
DK_CLONES void max_row(const double* xr, int64_t sw, int64_t off, int64_t lo, int64_t hi, double* y,
                       int64_t* idx, int64_t base) {
  max_row_body(xr, sw, off, lo, hi, y, idx, base);
}
DK_CLONES void sum_row(const float* xr, int64_t sw, int64_t off, int64_t lo, int64_t hi, float* y) {
  sum_row_body(xr, sw, off, lo, hi, y);
}
DK_CLONES void sum_row(const double* xr, int64_t sw, int64_t off, int64_t lo, int64_t hi, double* y) {
  sum_row_body(xr, sw, off, lo, hi, y);
}
DK_CLONES void scatter_row(float* xr, int64_t sw, int64_t off, int64_t lo, int64_t hi, const float* g) {
  scatter_row_body(xr, sw, off, lo, hi, g);
}
DK_CLONES void scatter_row(double* xr, int64_t sw, int64_t off, int64_t lo, int64_t hi, const double* g) {
  scatter_row_body(xr, sw, off, lo, hi, g);
}

// Sum of p[0..n) in kLanes independent lanes so the loop vectorizes (a plain scalar reduction
// would not: without -ffast-math the compiler keeps its order) and four vector accumulators
// hide the add latency; the lanes are combined in double. float accumulates in float lanes
// (each sums n/64 values: the conversion to double costs 2x the time of the memory stream).
// Adaptive pooling's windows are long (the whole plane for global pooling): its inner loop.
template <typename T, int kLanes>
DK_INLINE double sum_body(const T* p, int64_t n) {
  T lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) lanes[l] += p[i + l];
  double s = 0;
  for (; i < n; ++i) s += double(p[i]);
  for (int l = 0; l < kLanes; ++l) s += double(lanes[l]);
  return s;
}
DK_CLONES double sum_range(const float* p, int64_t n) { return sum_body<float, 64>(p, n); }
DK_CLONES double sum_range(const double* p, int64_t n) { return sum_body<double, 32>(p, n); }

// Taps [t0, t1) of a window starting at `start` with k taps `dil` apart that fall in [0, n).
struct Taps {
  int64_t t0, t1;
};
Taps in_image_taps(int64_t start, int64_t k, int64_t dil, int64_t n) {
  const int64_t t0 = start >= 0 ? 0 : (-start + dil - 1) / dil;
  const int64_t t1 = start >= n ? 0 : std::min<int64_t>(k, (n - 1 - start) / dil + 1);
  return {t0, std::max(t0, t1)};
}

// Kernel rows [r0, r1) of output row p that fall inside the image; tap r reads row hs + r*dh.
struct RowWindow {
  int64_t hs, r0, r1;
};
RowWindow row_window(const Pool2dGeom& g, int64_t p) {
  const int64_t hs = p * g.sh - g.ph;
  const Taps t = in_image_taps(hs, g.kh, g.dh, g.H);
  return {hs, t.t0, t.t1};
}

// Divisor of average-pooling output (p, q), given the number of in-image kernel rows.
int64_t avg_div(const Pool2dGeom& g, bool count_include_pad, int64_t p, int64_t rows, int64_t q) {
  const Taps c = in_image_taps(q * g.sw - g.pw, g.kw, 1, g.W);
  return g.avg_divisor(count_include_pad, p, q, rows, c.t1 - c.t0);
}

template <typename T>
void max_plane(const Pool2dGeom& g, const T* x, T* y, int64_t* idx) {
  for (int64_t p = 0; p < g.P; ++p) {
    const RowWindow rw = row_window(g, p);
    T* yr = y + p * g.Q;
    int64_t* ir = idx ? idx + p * g.Q : nullptr;
    std::fill(yr, yr + g.Q, -std::numeric_limits<T>::infinity());
    if (ir) {  // a window of -inf reports its first in-image tap; one without any (dilated taps
               // straddling the image) reports -1 and gets no gradient
      for (int64_t q = 0; q < g.Q; ++q) {
        const int64_t ws = q * g.sw - g.pw;
        const Taps c = in_image_taps(ws, g.kw, g.dw, g.W);
        ir[q] = rw.r0 < rw.r1 && c.t0 < c.t1 ? (rw.hs + rw.r0 * g.dh) * g.W + ws + c.t0 * g.dw : -1;
      }
    }
    for (int64_t r = rw.r0; r < rw.r1; ++r) {
      const int64_t base = (rw.hs + r * g.dh) * g.W;
      for (int64_t s = 0; s < g.kw; ++s) {
        const OutRange v = valid_out_range(s * g.dw - g.pw, g.sw, g.W, g.Q);
        max_row(x + base, g.sw, s * g.dw - g.pw, v.lo, v.hi, yr, ir, base);
      }
    }
  }
}

}  // namespace

template <typename T>
void max_pool2d_forward(const Pool2dGeom& g, const T* x, T* y, int64_t* idx) {
  const int64_t in = g.H * g.W, out = g.P * g.Q;
  parallel_for(0, g.planes, plane_grain(g.H, g.W), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) max_plane(g, x + i * in, y + i * out, idx ? idx + i * out : nullptr);
  });
}

template <typename T>
void max_pool2d_backward(const Pool2dGeom& g, const T* gy, const int64_t* idx, T* gx) {
  const int64_t in = g.H * g.W, out = g.P * g.Q;
  parallel_for(0, g.planes, plane_grain(g.H, g.W), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      T* gp = gx + i * in;
      const T* gyp = gy + i * out;
      const int64_t* ip = idx + i * out;
      std::fill(gp, gp + in, T(0));
      for (int64_t j = 0; j < out; ++j)
        if (ip[j] >= 0) gp[ip[j]] += gyp[j];  // -1: a window without input
    }
  });
}

template <typename T>
void avg_pool2d_forward(const Pool2dGeom& g, bool count_include_pad, const T* x, T* y) {
  const int64_t in = g.H * g.W, out = g.P * g.Q;
  parallel_for(0, g.planes, plane_grain(g.H, g.W), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const T* xp = x + i * in;
      for (int64_t p = 0; p < g.P; ++p) {
        const RowWindow rw = row_window(g, p);
        T* yr = y + i * out + p * g.Q;
        std::fill(yr, yr + g.Q, T(0));
        for (int64_t r = rw.r0; r < rw.r1; ++r) {
          for (int64_t s = 0; s < g.kw; ++s) {
            const OutRange v = valid_out_range(s - g.pw, g.sw, g.W, g.Q);
            sum_row(xp + (rw.hs + r) * g.W, g.sw, s - g.pw, v.lo, v.hi, yr);
          }
        }
        for (int64_t q = 0; q < g.Q; ++q) yr[q] /= T(avg_div(g, count_include_pad, p, rw.r1 - rw.r0, q));
      }
    }
  });
}

template <typename T>
void avg_pool2d_backward(const Pool2dGeom& g, bool count_include_pad, const T* gy, T* gx) {
  const int64_t in = g.H * g.W, out = g.P * g.Q;
  parallel_for(0, g.planes, plane_grain(g.H, g.W), [&](int64_t lo, int64_t hi) {
    std::vector<T> grow(g.Q);
    for (int64_t i = lo; i < hi; ++i) {
      T* gp = gx + i * in;
      std::fill(gp, gp + in, T(0));
      for (int64_t p = 0; p < g.P; ++p) {
        const RowWindow rw = row_window(g, p);
        const T* gyr = gy + i * out + p * g.Q;
        for (int64_t q = 0; q < g.Q; ++q) grow[q] = gyr[q] / T(avg_div(g, count_include_pad, p, rw.r1 - rw.r0, q));
        for (int64_t r = rw.r0; r < rw.r1; ++r) {
          for (int64_t s = 0; s < g.kw; ++s) {
            const OutRange v = valid_out_range(s - g.pw, g.sw, g.W, g.Q);
            scatter_row(gp + (rw.hs + r) * g.W, g.sw, s - g.pw, v.lo, v.hi, grow.data());
          }
        }
      }
    }
  });
}

template <typename T>
void adaptive_avg_pool2d_forward(int64_t planes, int64_t H, int64_t W, int64_t P, int64_t Q, const T* x, T* y) {
  parallel_for(0, planes, plane_grain(H, W), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const T* xp = x + i * H * W;
      for (int64_t p = 0; p < P; ++p) {
        const int64_t h0 = p * H / P, h1 = ((p + 1) * H + P - 1) / P;
        for (int64_t q = 0; q < Q; ++q) {
          const int64_t w0 = q * W / Q, w1 = ((q + 1) * W + Q - 1) / Q;
          double acc = 0;
          if (w0 == 0 && w1 == W) {  // full-width windows (global pooling): one contiguous run
            acc = sum_range(xp + h0 * W, (h1 - h0) * W);
          } else {
            for (int64_t h = h0; h < h1; ++h) acc += sum_range(xp + h * W + w0, w1 - w0);
          }
          y[(i * P + p) * Q + q] = T(acc / double((h1 - h0) * (w1 - w0)));
        }
      }
    }
  });
}

template <typename T>
void adaptive_avg_pool2d_backward(int64_t planes, int64_t H, int64_t W, int64_t P, int64_t Q, const T* gy, T* gx) {
  parallel_for(0, planes, plane_grain(H, W), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      T* gp = gx + i * H * W;
      std::fill(gp, gp + H * W, T(0));
      for (int64_t p = 0; p < P; ++p) {
        const int64_t h0 = p * H / P, h1 = ((p + 1) * H + P - 1) / P;
        for (int64_t q = 0; q < Q; ++q) {
          const int64_t w0 = q * W / Q, w1 = ((q + 1) * W + Q - 1) / Q;
          const T v = gy[(i * P + p) * Q + q] / T((h1 - h0) * (w1 - w0));
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w) gp[h * W + w] += v;
        }
      }
    }
  });
}

#define DK_POOL_INSTANTIATE(T)                                                                                \
  template void max_pool2d_forward<T>(const Pool2dGeom&, const T*, T*, int64_t*);                            \
  template void max_pool2d_backward<T>(const Pool2dGeom&, const T*, const int64_t*, T*);                     \
  template void avg_pool2d_forward<T>(const Pool2dGeom&, bool, const T*, T*);                                \
  template void avg_pool2d_backward<T>(const Pool2dGeom&, bool, const T*, T*);                               \
  template void adaptive_avg_pool2d_forward<T>(int64_t, int64_t, int64_t, int64_t, int64_t, const T*, T*);    \
  template void adaptive_avg_pool2d_backward<T>(int64_t, int64_t, int64_t, int64_t, int64_t, const T*, T*);
DK_POOL_INSTANTIATE(float)
DK_POOL_INSTANTIATE(double)
#undef DK_POOL_INSTANTIATE

}  // namespace dk::cpu
