// 2-D convolution on the CPU: im2col in column blocks + the GEMM micro-kernel.
//
// Layouts: x (N, C, H, W), w (K, C/G, R, S), y (N, K, P, Q), all C-contiguous; G = groups.
// Per image n and group g the convolution is one GEMM,
//     y[n, g] (K/G, P*Q) = w[g] (K/G, C/G*R*S) @ col (C/G*R*S, P*Q),
// where col is the im2col matrix: col[(c, r, s), (p, q)] = x[n, c, p*sh - pt + r*dh, q*sw - pl + s*dw]
// (0 outside the image). col is never built whole: the P*Q columns are cut into blocks of
// `chunk` columns sized so one block (~1 MiB of float32) stays in L2 while the GEMM streams over it,
// and the work units (image, group, column block) are spread over the threads, each with its
// own block of the workspace. This keeps the scratch small (no page faults, no 30 MB col
// buffer) and gives every thread work even for batch 1. Each unit calls dk::cpu::gemm, which
// runs single-threaded inside the parallel region.
// Pointwise fast path (1x1 kernel, stride 1, no padding): col *is* x[n, g] viewed as
// (C/G, H*W), so the GEMM reads the NCHW data directly (the course's "FC layer as 1x1 conv").
// Backward:
//   data:   dcol = w[g]^T @ gy[n, g], scattered back by col2im (a sum over the kernel taps);
//           units are (image, group) so no two threads write the same gx rows.
//   weight: gw[g] += gy[n, g] @ col^T over the batch; each thread accumulates into a private
//           copy of gw in its workspace slot, the copies are summed at the end (deterministic
//           for a given thread count).
//   bias:   gb[k] = sum over n, p, q of gy, accumulated in double.
// Transposed convolution (conv_transpose2d_*) is the adjoint: the same three passes with the
// tensors' roles swapped (forward = backward data + a per-channel bias, see conv.h).
#include "cpu/conv.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "core/parallel.h"
#include "cpu/gemm.h"

namespace dk::cpu {
namespace {

constexpr int64_t kColBlockElems = 1 << 18;  // elements of one im2col block (1 MiB of float)
constexpr int64_t kMinChunk = 64;

int64_t chunk_cols(const Conv2dGeom& g) {
  const int64_t rows = std::max<int64_t>(1, g.CRSg());
  int64_t c = kColBlockElems / rows / 16 * 16;
  c = std::max(c, kMinChunk);
  return std::max<int64_t>(1, std::min(c, g.PQ()));
}

// Runs f(thread, unit) for unit in [0, units) on nt threads, static contiguous schedule.
// With nt == 1 there is no parallel region, so a GEMM inside may use every thread itself.
template <typename F>
void for_units(int nt, int64_t units, F&& f) {
  if (nt <= 1) {
    for (int64_t u = 0; u < units; ++u) f(0, u);
    return;
  }
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num();
#pragma omp for schedule(static)
    for (int64_t u = 0; u < units; ++u) f(t, u);
  }
}

int slots_threads(int64_t units, int64_t slot, int64_t ws_size) {
  int nt = threads_for(units, 1);
  if (slot > 0) nt = static_cast<int>(std::min<int64_t>(nt, ws_size / slot));
  return std::max(nt, 1);
}

// Output columns of kernel column s whose input column q*sw - pl + s*dw is inside [0, W).
OutRange valid_q(const Conv2dGeom& g, int64_t s) { return valid_out_range(s * g.dw - g.pl, g.sw, g.W, g.Q); }

// Calls seg(p, q0, q1, h) for the output positions j0 .. j0+nc-1 cut into row segments
// (one output row p each, columns [q0, q1)); h is the input row for kernel row r.
template <typename F>
void for_row_segments(const Conv2dGeom& g, int64_t r, int64_t j0, int64_t nc, F&& seg) {
  int64_t p = j0 / g.Q, q = j0 % g.Q, left = nc;
  while (left > 0) {
    const int64_t qe = std::min(g.Q, q + left);
    seg(p * g.sh - g.pt + r * g.dh, q, qe);
    left -= qe - q;
    ++p;
    q = 0;
  }
}

// col (C/G*R*S, nc) <- im2col of xg (C/G, H, W) for output positions [j0, j0 + nc).
template <typename T>
void im2col_block(const Conv2dGeom& g, const T* xg, int64_t j0, int64_t nc, T* col) {
  const int64_t RS = g.R * g.S;
  for (int64_t row = 0; row < g.CRSg(); ++row) {
    const int64_t c = row / RS, r = (row / g.S) % g.R, s = row % g.S;
    const T* xc = xg + c * g.HW();
    const OutRange v = valid_q(g, s);
    const int64_t off = s * g.dw - g.pl;
    T* dst = col + row * nc;
    for_row_segments(g, r, j0, nc, [&](int64_t h, int64_t q0, int64_t q1) {
      if (h < 0 || h >= g.H) {
        std::fill(dst, dst + (q1 - q0), T(0));
      } else {
        const int64_t lo = std::clamp(v.lo, q0, q1), hi = std::clamp(v.hi, lo, q1);
        const T* xr = xc + h * g.W;
        std::fill(dst, dst + (lo - q0), T(0));
        T* d = dst + (lo - q0);
        if (g.sw == 1) {
          if (hi > lo) std::memcpy(d, xr + lo + off, sizeof(T) * (hi - lo));
        } else {
          for (int64_t q = lo; q < hi; ++q) d[q - lo] = xr[q * g.sw + off];
        }
        std::fill(dst + (hi - q0), dst + (q1 - q0), T(0));
      }
      dst += q1 - q0;
    });
  }
}

// gxg (C/G, H, W) += col2im of col (C/G*R*S, nc) for output positions [j0, j0 + nc).
template <typename T>
void col2im_block(const Conv2dGeom& g, const T* col, int64_t j0, int64_t nc, T* gxg) {
  const int64_t RS = g.R * g.S;
  for (int64_t row = 0; row < g.CRSg(); ++row) {
    const int64_t c = row / RS, r = (row / g.S) % g.R, s = row % g.S;
    T* xc = gxg + c * g.HW();
    const OutRange v = valid_q(g, s);
    const int64_t off = s * g.dw - g.pl;
    const T* src = col + row * nc;
    for_row_segments(g, r, j0, nc, [&](int64_t h, int64_t q0, int64_t q1) {
      if (h >= 0 && h < g.H) {
        const int64_t lo = std::clamp(v.lo, q0, q1), hi = std::clamp(v.hi, lo, q1);
        T* xr = xc + h * g.W;
        const T* sr = src + (lo - q0);
        if (g.sw == 1) {
          T* d = xr + lo + off;
          for (int64_t i = 0; i < hi - lo; ++i) d[i] += sr[i];
        } else {
          for (int64_t q = lo; q < hi; ++q) xr[q * g.sw + off] += sr[q - lo];
        }
      }
      src += q1 - q0;
    });
  }
}

// sums[k] = sum over n and j of a[n, k, j] for a (N, K, L), accumulated in double (bias gradients).
template <typename T>
void channel_sums(const T* a, int64_t N, int64_t K, int64_t L, T* sums) {
  parallel_for(0, K, std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, N * L)), [&](int64_t lo, int64_t hi) {
    for (int64_t k = lo; k < hi; ++k) {
      double acc = 0;
      for (int64_t n = 0; n < N; ++n) {
        const T* r = a + (n * K + k) * L;
        for (int64_t j = 0; j < L; ++j) acc += r[j];
      }
      sums[k] = T(acc);
    }
  });
}

// The scratch a kernel writes is one slot per thread it uses: fewer than one slot would overflow.
void check_workspace(const Conv2dGeom& g, ConvPass pass, int64_t ws_size, const char* op) {
  const int64_t slot = conv2d_workspace_slot(g, pass);
  DK_CHECK(ws_size >= slot, op, ": workspace must have at least ", slot, " elements, got ", ws_size);
}

}  // namespace

int64_t conv2d_workspace_slot(const Conv2dGeom& g, ConvPass pass) {
  const int64_t col = g.pointwise() ? 0 : g.CRSg() * chunk_cols(g);
  return pass == ConvPass::backward_weight ? col + g.K * g.CRSg() : col;
}

int64_t conv2d_workspace_size(const Conv2dGeom& g, ConvPass pass) {
  return conv2d_workspace_slot(g, pass) * std::max(1, get_num_threads());
}

template <typename T>
void conv2d_forward(const Conv2dGeom& g, const T* x, const T* w, const T* b, T* y, T* ws, int64_t ws_size) {
  const int64_t PQ = g.PQ(), rows = g.CRSg(), Kg = g.Kg();
  if (g.N * g.K * PQ == 0) return;
  const int64_t chunk = chunk_cols(g), nchunks = (PQ + chunk - 1) / chunk;
  const int64_t units = g.N * g.groups * nchunks;
  const int64_t slot = conv2d_workspace_slot(g, ConvPass::forward);
  const bool pw = g.pointwise();
  for_units(slots_threads(units, slot, ws_size), units, [&](int t, int64_t u) {
    const int64_t n = u / (g.groups * nchunks), gi = (u / nchunks) % g.groups;
    const int64_t j0 = (u % nchunks) * chunk, nc = std::min(chunk, PQ - j0);
    const T* xg = x + (n * g.C + gi * g.Cg()) * g.HW();
    T* yb = y + (n * g.K + gi * Kg) * PQ + j0;
    if (rows == 0) {
      for (int64_t k = 0; k < Kg; ++k) std::fill(yb + k * PQ, yb + k * PQ + nc, T(0));
    } else if (pw) {
      gemm<T>(false, false, Kg, nc, rows, T(1), w + gi * Kg * rows, rows, xg + j0, g.HW(), T(0), yb, PQ);
    } else {
      T* col = ws + t * slot;
      im2col_block(g, xg, j0, nc, col);
      gemm<T>(false, false, Kg, nc, rows, T(1), w + gi * Kg * rows, rows, col, nc, T(0), yb, PQ);
    }
    if (b) {
      for (int64_t k = 0; k < Kg; ++k) {
        const T bk = b[gi * Kg + k];
        T* yr = yb + k * PQ;
        for (int64_t j = 0; j < nc; ++j) yr[j] += bk;
      }
    }
  });
}

template <typename T>
void conv2d_backward_data(const Conv2dGeom& g, const T* gy, const T* w, T* gx, T* ws, int64_t ws_size) {
  const int64_t PQ = g.PQ(), rows = g.CRSg(), Kg = g.Kg(), HW = g.HW();
  if (g.N * g.C * HW == 0) return;
  const int64_t chunk = chunk_cols(g), nchunks = (PQ + chunk - 1) / chunk;
  const int64_t units = g.N * g.groups;
  const int64_t slot = conv2d_workspace_slot(g, ConvPass::backward_data);
  const bool pw = g.pointwise();
  for_units(slots_threads(units, slot, ws_size), units, [&](int t, int64_t u) {
    const int64_t n = u / g.groups, gi = u % g.groups;
    T* gxg = gx + (n * g.C + gi * g.Cg()) * HW;
    const T* gyg = gy + (n * g.K + gi * Kg) * PQ;
    const T* wg = w + gi * Kg * rows;
    if (Kg == 0 || !pw) std::fill(gxg, gxg + g.Cg() * HW, T(0));
    if (Kg == 0) return;
    for (int64_t ci = 0; ci < nchunks; ++ci) {
      const int64_t j0 = ci * chunk, nc = std::min(chunk, PQ - j0);
      if (pw) {
        gemm<T>(true, false, rows, nc, Kg, T(1), wg, rows, gyg + j0, PQ, T(0), gxg + j0, HW);
      } else {
        T* col = ws + t * slot;
        gemm<T>(true, false, rows, nc, Kg, T(1), wg, rows, gyg + j0, PQ, T(0), col, nc);
        col2im_block(g, col, j0, nc, gxg);
      }
    }
  });
}

template <typename T>
void conv2d_backward_weight(const Conv2dGeom& g, const T* gy, const T* x, T* gw, T* gb, T* ws, int64_t ws_size) {
  const int64_t PQ = g.PQ(), rows = g.CRSg(), Kg = g.Kg(), HW = g.HW();
  const int64_t wsize = g.K * rows;
  if (gb) channel_sums(gy, g.N, g.K, PQ, gb);
  std::fill(gw, gw + wsize, T(0));
  if (wsize == 0 || g.N * PQ == 0) return;
  const int64_t chunk = chunk_cols(g), nchunks = (PQ + chunk - 1) / chunk;
  const int64_t units = g.N * g.groups * nchunks;
  const int64_t slot = conv2d_workspace_slot(g, ConvPass::backward_weight);
  const int64_t colsize = slot - wsize;
  const bool pw = g.pointwise();
  const int nt = slots_threads(units, slot, ws_size);
  if (nt > 1) {
    for (int t = 0; t < nt; ++t) std::fill(ws + t * slot + colsize, ws + (t + 1) * slot, T(0));
  }
  for_units(nt, units, [&](int t, int64_t u) {
    const int64_t n = u / (g.groups * nchunks), gi = (u / nchunks) % g.groups;
    const int64_t j0 = (u % nchunks) * chunk, nc = std::min(chunk, PQ - j0);
    const T* xg = x + (n * g.C + gi * g.Cg()) * HW;
    const T* gyb = gy + (n * g.K + gi * Kg) * PQ + j0;
    T* acc = (nt > 1 ? ws + t * slot + colsize : gw) + gi * Kg * rows;
    if (pw) {
      gemm<T>(false, true, Kg, rows, nc, T(1), gyb, PQ, xg + j0, HW, T(1), acc, rows);
    } else {
      T* col = ws + t * slot;
      im2col_block(g, xg, j0, nc, col);
      gemm<T>(false, true, Kg, rows, nc, T(1), gyb, PQ, col, nc, T(1), acc, rows);
    }
  });
  if (nt > 1) {
    parallel_for(0, wsize, 1 << 14, [&](int64_t lo, int64_t hi) {
      for (int t = 0; t < nt; ++t) {
        const T* part = ws + t * slot + colsize;
        for (int64_t i = lo; i < hi; ++i) gw[i] += part[i];
      }
    });
  }
}

int64_t conv_transpose2d_workspace_size(const Conv2dGeom& g, ConvPass pass) {
  return conv2d_workspace_size(g, conv_transpose_pass(pass));
}

template <typename T>
void conv_transpose2d_forward(const Conv2dGeom& g, const T* x, const T* w, const T* b, T* y, T* ws,
                              int64_t ws_size) {
  check_workspace(g, ConvPass::backward_data, ws_size, "conv_transpose2d_forward");
  conv2d_backward_data(g, x, w, y, ws, ws_size);
  if (!b) return;
  const int64_t HW = g.HW();
  parallel_for(0, g.N * g.C, std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, HW)), [&](int64_t lo, int64_t hi) {
    for (int64_t plane = lo; plane < hi; ++plane) {
      const T bc = b[plane % g.C];
      T* yp = y + plane * HW;
      for (int64_t i = 0; i < HW; ++i) yp[i] += bc;
    }
  });
}

template <typename T>
void conv_transpose2d_backward_data(const Conv2dGeom& g, const T* gy, const T* w, T* gx, T* ws, int64_t ws_size) {
  check_workspace(g, ConvPass::forward, ws_size, "conv_transpose2d_backward_data");
  conv2d_forward<T>(g, gy, w, nullptr, gx, ws, ws_size);
}

template <typename T>
void conv_transpose2d_backward_weight(const Conv2dGeom& g, const T* gy, const T* x, T* gw, T* gb, T* ws,
                                      int64_t ws_size) {
  check_workspace(g, ConvPass::backward_weight, ws_size, "conv_transpose2d_backward_weight");
  conv2d_backward_weight<T>(g, x, gy, gw, nullptr, ws, ws_size);
  if (gb) channel_sums(gy, g.N, g.C, g.HW(), gb);
}

#define DK_CONV_INSTANTIATE(T)                                                                              \
  template void conv2d_forward<T>(const Conv2dGeom&, const T*, const T*, const T*, T*, T*, int64_t);       \
  template void conv2d_backward_data<T>(const Conv2dGeom&, const T*, const T*, T*, T*, int64_t);           \
  template void conv2d_backward_weight<T>(const Conv2dGeom&, const T*, const T*, T*, T*, T*, int64_t);      \
  template void conv_transpose2d_forward<T>(const Conv2dGeom&, const T*, const T*, const T*, T*, T*, int64_t); \
  template void conv_transpose2d_backward_data<T>(const Conv2dGeom&, const T*, const T*, T*, T*, int64_t); \
  template void conv_transpose2d_backward_weight<T>(const Conv2dGeom&, const T*, const T*, T*, T*, T*, int64_t);
DK_CONV_INSTANTIATE(float)
DK_CONV_INSTANTIATE(double)
#undef DK_CONV_INSTANTIATE

}  // namespace dk::cpu
