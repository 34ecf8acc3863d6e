// 2-D convolution on the CPU: Winograd F(2x2, 3x3) for 3x3 stride-1 layers, im2col in column
// blocks + the GEMM micro-kernel for everything else.
//
// Layouts: x (N, C, H, W), w (K, C/groups, R, S), y (N, K, P, Q), all C-contiguous; G = groups.
// Per image n and group g the convolution is one GEMM,
//     y[n, g] (K/G, P*Q) = w[g] (K/G, C/G*R*S) @ col (C/G*R*S, P*Q),
// where col is the im2col matrix: col[(c, r, s), (p, q)] = x[n, c, p*sh - pt + r*dh, q*sw - pl + s*dw]
// (0 outside the image). col is never built whole: the output positions are cut into column
// blocks sized so one block (~1 MiB of float32) stays in L2 while the GEMM streams over it,
// and the work units (group, column block) are spread over the threads, each with its own
// slot of the workspace. Images with fewer than 256 positions go whole, several to a block
// (their columns side by side, the GEMM output copied back per image): a 2x2 or 4x4 map alone
// would fill 4 or 16 of the micro-kernel's 32 columns and make the weight gradient a
// reduction of 4 or 16 terms per GEMM call. The forward pass writes a block's im2col
// straight into the micro-kernel's packed B panels and packs the filter once per block
// (gemm_pack_a + gemm_prepacked: no packing pass over the block); the backward passes call
// dk::cpu::gemm, which runs single-threaded inside the parallel region. A strided layer whose
// kernel is wider than its stride (Atari DQN's 8x8/4 and 4x4/2, ResNet's 7x7/2 stem) first
// splits the input rows a block reads into their sw column phases, so every im2col row
// segment is a contiguous copy rather than a gather with stride sw (see deinterleave_rows).
// Pointwise fast path (1x1 kernel, stride 1, no padding, large images): col *is* x[n, g]
// viewed as (C/G, H*W), so the GEMM reads the NCHW data directly (the course's "FC layer as
// 1x1 conv").
//
// Winograd F(2x2, 3x3) (Lavin & Gray 2015), forward and data gradient of 3x3, stride-1,
// undilated, ungrouped layers with >= 16 channels in and out and >= 48 output tiles:
//   Y = A^T [ (G g G^T) (.) (B^T d B) ] A  per 2x2 output tile, d its 4x4 input patch;
// summed over input channels this is 16 GEMMs, one per transformed position,
//   M[pos] (K, tiles) = U[pos] (K, C) @ V[pos] (C, tiles).
// U is transformed once per call (in double, the MR output channels of a panel as SIMD
// lanes) straight into the micro-kernel's packed A panels; the tiles are cut into blocks of a multiple of 32 whose V and M stay in L2, and
// each block's V is written by the input transform straight into packed B panels (so the
// operand is packed once, from NCHW, instead of im2col followed by a re-pack), multiplied by
// gemm_prepacked, and turned into y by the output transform. The transforms run on rows of
// NR tiles (the panel width) so they vectorize (DK_CLONES). The data gradient is the same
// pass over grad_out with the filter rotated 180 degrees and its channel axes swapped.
// Why this and not the alternatives (benchmarks/results/2026-12-03-cpu-conv.md): one thread,
// CPU time, beside PyTorch's oneDNN, F(2x2) took 0.81x PyTorch's time on the ResNet and VGG
// 3x3 forward layers where im2col + GEMM took 1.36-1.38x. F(4x4) would do fewer multiplies
// still, but its float32 error is 6-13x the direct sum's (its transforms scale values by up
// to 100; benchmarks/winograd_error.py) and fails the 2x-naive rule, while F(2x2)'s is
// 0.7-1.1x. A direct convolution on a channel-blocked layout (oneDNN's nChw16c) does the same
// multiplies as the GEMM — its ceiling is PyTorch's own time plus two layout conversions per
// call — where F(2x2) does 2.25x fewer.
// A NaN, an inf or an overflow in a transform would spread over a whole tile, so a pass that
// finds a non-finite transformed value redoes the layer with im2col (same NaN/inf placement as
// a direct convolution).
//
// Backward:
//   data:   dcol = w[g]^T @ gy[n, g], scattered back by col2im (a sum over the kernel taps);
//           units own whole images, or at batch 1 blocks of an image's input channels (the
//           rows of dcol that col2im sums into those channels' planes), so no two threads
//           write the same gx rows and a single image still fills every thread.
//   weight: gw[g] += gy[n, g] @ col^T over the batch; each thread accumulates into a private
//           copy of gw in its workspace slot, the copies are summed at the end (deterministic
//           for a given thread count).
//   bias:   gb[k] = sum over n, p, q of gy, accumulated in double.
// Transposed convolution (conv_transpose2d_*) is the adjoint: the same three passes with the
// tensors' roles swapped (forward = backward data + a per-channel bias, see conv.h).
#include "cpu/conv.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "core/parallel.h"
#include "cpu/gemm.h"
#include "cpu/gemm_kernels.h"
#include "cpu/simd.h"

namespace dk::cpu {
namespace {

constexpr int64_t kColBlockElems = 1 << 18;  // elements of one im2col block (1 MiB of float)
constexpr int64_t kMinChunk = 64;

// The GEMM's columns are output positions, cut into blocks whose im2col fits kColBlockElems.
// An image with at least kWholeImages positions is cut into blocks of `chunk` columns; smaller
// images go whole, `per` images to a block (their columns side by side), so the late stages
// of a network (2x2 .. 8x8 maps) still fill the micro-kernel's 32-wide panels and give the
// weight gradient a reduction longer than one small image.
constexpr int64_t kWholeImages = 256;

struct ColBlocks {
  int64_t per = 1;        // images per block (> 1: whole images; 1: blocks within one image)
  int64_t chunk = 0;      // columns per block (per * PQ when per > 1)
  int64_t per_image = 1;  // blocks per image (per == 1)
  int64_t count = 0;      // blocks per group
};

ColBlocks col_blocks(const Conv2dGeom& g) {
  ColBlocks cb;
  const int64_t rows = std::max<int64_t>(1, g.CRSg()), PQ = std::max<int64_t>(1, g.PQ());
  const int64_t c = std::max(kColBlockElems / rows / 16 * 16, kMinChunk);
  if (PQ < kWholeImages && g.N > 1 && c >= 2 * PQ) {
    cb.per = std::min(g.N, c / PQ);
    cb.chunk = cb.per * PQ;
    cb.count = (g.N + cb.per - 1) / cb.per;
  } else {
    cb.chunk = std::min(c, PQ);
    cb.per_image = (PQ + cb.chunk - 1) / cb.chunk;
    cb.count = g.N * cb.per_image;
  }
  return cb;
}

// Block b: images [n0, n0 + nimg) whole (cols = nimg * PQ), or columns [j0, j0 + cols) of image n0.
struct ColBlock {
  int64_t n0, nimg, j0, cols;
};

ColBlock col_block(const Conv2dGeom& g, const ColBlocks& cb, int64_t b) {
  if (cb.per > 1) {
    const int64_t n0 = b * cb.per, nimg = std::min(cb.per, g.N - n0);
    return {n0, nimg, 0, nimg * g.PQ()};
  }
  const int64_t j0 = (b % cb.per_image) * cb.chunk;
  return {b / cb.per_image, 1, j0, std::min(cb.chunk, g.PQ() - j0)};
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
DK_INLINE void for_row_segments(const Conv2dGeom& g, int64_t r, int64_t j0, int64_t nc, F&& seg) {
  int64_t p = j0 / g.Q, q = j0 % g.Q, left = nc;
  while (left > 0) {
    const int64_t qe = std::min(g.Q, q + left);
    seg(p * g.sh - g.pt + r * g.dh, q, qe);
    left -= qe - q;
    ++p;
    q = 0;
  }
}

// A strided layer whose kernel is wider than its stride (the 8x8/4 and 4x4/2 of Atari's DQN,
// ResNet's 7x7/2 stem) reads each input column several times, every sw-th value: a scalar
// gather per im2col element. Instead the input rows the block needs are first deinterleaved
// by column phase, once,
//     phase[((c*H + h)*sw + f)*Wp + i] = x[c, h, i*sw + f],   Wp = ceil(W / sw),
// and each im2col row segment becomes a contiguous copy: x[c, h, q*sw + off] is
// phase[.., off mod sw, q + floor(off / sw)]. (Layers with S <= sw read each value at most
// once: the gather is cheaper than the deinterleave there.)
bool uses_phases(const Conv2dGeom& g) { return g.sw > 1 && g.S > g.sw; }
int64_t phase_width(const Conv2dGeom& g) { return (g.W + g.sw - 1) / g.sw; }
int64_t phase_elems(const Conv2dGeom& g) { return uses_phases(g) ? g.Cg() * g.H * g.sw * phase_width(g) : 0; }

// d[f*Wp + i] = xr[i*SW + f]: one input row split into its SW column phases. With SW a
// constant the SW loads of a group are one interleaved access that vectorizes (permutes).
template <typename T, int SW>
DK_INLINE void deinterleave_row(const T* xr, int64_t W, int64_t Wp, T* d) {
  const int64_t full = W / SW;
  for (int64_t i = 0; i < full; ++i)
#pragma GCC unroll 4
    for (int f = 0; f < SW; ++f) d[f * Wp + i] = xr[i * SW + f];
  for (int64_t w = full * SW; w < W; ++w) d[(w % SW) * Wp + full] = xr[w];
}

// The phase rows of xg (C/G, H, W) for the input rows read by output positions [j0, j0 + nc).
template <typename T>
DK_INLINE void deinterleave_rows(const Conv2dGeom& g, const T* xg, int64_t j0, int64_t nc, T* phase) {
  const int64_t Wp = phase_width(g), sw = g.sw;
  const int64_t p0 = j0 / g.Q, p1 = (j0 + nc - 1) / g.Q;
  const int64_t h0 = std::max<int64_t>(0, p0 * g.sh - g.pt), h1 = std::min(g.H, p1 * g.sh - g.pt + (g.R - 1) * g.dh + 1);
  for (int64_t c = 0; c < g.Cg(); ++c)
    for (int64_t h = h0; h < h1; ++h) {
      const T* xr = xg + (c * g.H + h) * g.W;
      T* d = phase + (c * g.H + h) * sw * Wp;
      if (sw == 2) {
        deinterleave_row<T, 2>(xr, g.W, Wp, d);
      } else if (sw == 4) {
        deinterleave_row<T, 4>(xr, g.W, Wp, d);
      } else {
        for (int64_t f = 0; f < sw; ++f)
          for (int64_t i = 0, w = f; w < g.W; ++i, w += sw) d[f * Wp + i] = xr[w];
      }
    }
}

template <typename T>
DK_INLINE void copy_run(const T* __restrict src, int64_t n, T* __restrict dst) {
  for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
}

// Where im2col writes element (row, j) of its (C/G*R*S, cols) matrix: plain rows,
// col[row * ld + j], or the GEMM's packed B panels of nr columns (gemm.h's GemmPanels),
// col[(j / nr) * nr * rows + row * nr + j % nr], which the micro-kernel reads as they are
// (no separate packing pass over the block).
struct ColLayout {
  int64_t ld;          // plain: the row stride; panels: nr
  int64_t nr = 0;      // panel width (0: plain rows)
  int64_t rows = 0;    // panels: the matrix's row count
  int64_t offset(int64_t row, int64_t j) const {
    return nr ? (j / nr) * nr * rows + row * nr + j % nr : row * ld + j;
  }
  // the end of a run of columns from j that stays contiguous: q0 + len at most (panels: to the end of j's panel)
  int64_t run_end(int64_t j, int64_t q0, int64_t len) const { return q0 + (nr ? std::min(len, nr - j % nr) : len); }
};

// Columns [c0, c0 + nc) of col (layout lay) <- im2col of xg (C/G, H, W) for output positions
// [j0, j0 + nc). phase: phase_elems(g) elements of scratch when uses_phases(g), else unused.
// The loops run over (c, r), then the block's output-row segments (cut where a panel ends),
// then the S kernel columns, so the segment bookkeeping is shared by the S rows it fills
// (segments are short: at most Q values).
template <typename T>
DK_INLINE void im2col_body(const Conv2dGeom& g, const T* xg, int64_t j0, int64_t nc, T* col, const ColLayout& lay,
                           int64_t c0, T* phase) {
  const int64_t Wp = phase_width(g), sw = g.sw;
  const bool phases = uses_phases(g);
  if (phases) deinterleave_rows(g, xg, j0, nc, phase);
  struct Tap {
    int64_t lo, hi;  // output columns q whose input column q*sw + off is inside the row
    int64_t off;     // input column of q = 0 (may be negative: padding)
    int64_t src;     // phases: x[h, q*sw + off] = phase row (h, f) at q + base; src = f*Wp + base
  };
  std::vector<Tap> taps(static_cast<size_t>(g.S));
  for (int64_t s = 0; s < g.S; ++s) {
    const OutRange v = valid_q(g, s);
    const int64_t off = s * g.dw - g.pl, f = ((off % sw) + sw) % sw;
    taps[s] = {v.lo, v.hi, off, f * Wp + (off - f) / sw};
  }
  int64_t lo_all = 0, hi_all = g.Q;  // output columns where every tap reads inside the row
  for (const Tap& tp : taps) {
    lo_all = std::max(lo_all, tp.lo);
    hi_all = std::min(hi_all, tp.hi);
  }
  const int64_t row_step = lay.nr ? lay.nr : lay.ld;  // from row (c, r, s) to (c, r, s + 1)
  for (int64_t c = 0; c < g.Cg(); ++c)
    for (int64_t r = 0; r < g.R; ++r) {
      const int64_t row0 = (c * g.R + r) * g.S;
      int64_t at = c0;  // column of the segment in col
      for_row_segments(g, r, j0, nc, [&](int64_t h, int64_t qs, int64_t qe) {
        const bool inside = h >= 0 && h < g.H;
        const T* xr = inside ? xg + (c * g.H + h) * g.W : nullptr;
        const T* pr = inside && phases ? phase + (c * g.H + h) * sw * Wp : nullptr;
        for (int64_t q0 = qs; q0 < qe;) {
          const int64_t q1 = lay.run_end(at, q0, qe - q0);
          T* dst = col + lay.offset(row0, at);
          if (inside && q0 >= lo_all && q1 <= hi_all && (sw == 1 || phases)) {
            // no padding in this piece: S contiguous copies
            for (int64_t s = 0; s < g.S; ++s, dst += row_step)
              copy_run(sw == 1 ? xr + taps[s].off + q0 : pr + taps[s].src + q0, q1 - q0, dst);
          } else {
            for (int64_t s = 0; s < g.S; ++s, dst += row_step) {
              if (!inside) {
                for (int64_t q = q0; q < q1; ++q) dst[q - q0] = T(0);
                continue;
              }
              const Tap& tp = taps[s];
              const int64_t lo = std::clamp(tp.lo, q0, q1), hi = std::clamp(tp.hi, lo, q1);
              for (int64_t q = q0; q < lo; ++q) dst[q - q0] = T(0);
              if (sw == 1) {
                copy_run(xr + tp.off + lo, hi - lo, dst + (lo - q0));
              } else if (phases) {
                copy_run(pr + tp.src + lo, hi - lo, dst + (lo - q0));
              } else {
                T* d = dst + (lo - q0);
                for (int64_t q = lo; q < hi; ++q) d[q - lo] = xr[q * sw + tp.off];
              }
              for (int64_t q = hi; q < q1; ++q) dst[q - q0] = T(0);
            }
          }
          at += q1 - q0;
          q0 = q1;
        }
      });
    }
}

// The short copies vectorize with the widest registers the CPU has (DK_CLONES).
DK_CLONES void im2col_block(const Conv2dGeom& g, const float* xg, int64_t j0, int64_t nc, float* col,
                            const ColLayout& lay, int64_t c0, float* phase) {
  im2col_body(g, xg, j0, nc, col, lay, c0, phase);
}
DK_CLONES void im2col_block(const Conv2dGeom& g, const double* xg, int64_t j0, int64_t nc, double* col,
                            const ColLayout& lay, int64_t c0, double* phase) {
  im2col_body(g, xg, j0, nc, col, lay, c0, phase);
}

// gxg (nch, H, W) += col2im of col (nch*R*S, nc; row stride ld) for output positions [j0, j0 + nc):
// nch input channels (C/G for a whole group, fewer for a channel block of one).
template <typename T>
void col2im_block(const Conv2dGeom& g, const T* col, int64_t j0, int64_t nc, T* gxg, int64_t ld, int64_t nch) {
  const int64_t RS = g.R * g.S;
  for (int64_t row = 0; row < nch * RS; ++row) {
    const int64_t c = row / RS, r = (row / g.S) % g.R, s = row % g.S;
    T* xc = gxg + c * g.HW();
    const OutRange v = valid_q(g, s);
    const int64_t off = s * g.dw - g.pl;
    const T* src = col + row * ld;
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

// ---- Winograd F(m x m, 3 x 3) -------------------------------------------------------------
// Per output tile (m x m) and channel pair: Y = A^T [(G g G^T) (.) (B^T d B)] A, d the
// (m+2) x (m+2) input patch and g the 3x3 filter. Summed over input channels, each of the
// (m+2)^2 transformed positions is one GEMM  M_pos (K, tiles) = U_pos (K, C) @ V_pos (C, tiles).

// Transform matrices (Lavin & Gray 2015) of F(2x2,3x3), on the points 0, 1, -1, inf.
template <int M>
struct WinogradMatrices;
template <>
struct WinogradMatrices<2> {
  static constexpr int A = 4;
  static constexpr double BT[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
  static constexpr double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  static constexpr double AT[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};
};

// out row r (NR values at out + r*out_stride) = sum over c of mat[r][c] * in row c (at in +
// c*in_stride). mat is a constexpr transform matrix: once inlined and unrolled, zero terms
// vanish and +-1 coefficients become adds and subtracts. Rows of NR tiles vectorize.
template <typename T, int NR, int R, int Cn>
DK_INLINE void apply_rows(const double (&mat)[R][Cn], const T* in, int64_t in_stride, T* out, int64_t out_stride) {
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    T acc[NR];
    bool first = true;
#pragma GCC unroll 8
    for (int c = 0; c < Cn; ++c) {
      const double w = mat[r][c];
      if (w == 0) continue;
      const T* s = in + c * in_stride;
      const T tw = static_cast<T>(w);
      if (first) {
        for (int t = 0; t < NR; ++t) acc[t] = w == 1 ? s[t] : w == -1 ? -s[t] : tw * s[t];
      } else {
        for (int t = 0; t < NR; ++t) acc[t] = w == 1 ? acc[t] + s[t] : w == -1 ? acc[t] - s[t] : acc[t] + tw * s[t];
      }
      first = false;
    }
    T* o = out + r * out_stride;
    for (int t = 0; t < NR; ++t) o[t] = first ? T(0) : acc[t];
  }
}

// The input channels cin (the GEMM's reduction), output channels cout, the input read
// (hin, win) and the output written (hout, wout) in tiles of m x m; tile (th, tw) of image n
// reads the input patch whose top-left is (th*m - pt, tw*m - pl) (zeros outside).
// backward data runs as a forward pass over grad_out with the filter rotated by 180 degrees
// and its channel axes swapped (flip), and pt = R - 1 - pad_top.
struct WinogradPlan {
  int m = 0;  // output tile: 2; 0: Winograd does not apply
  bool flip = false;
  int64_t n = 0, cin = 0, cout = 0, hin = 0, win = 0, hout = 0, wout = 0, pt = 0, pl = 0;
  int64_t th = 0, tw = 0, tiles = 0, tb = 0, blocks = 0;
  int64_t alpha2() const { return (m + 2) * (m + 2); }
  // U: (m+2)^2 packed (cout, cin) filters, cout rounded up to any micro-kernel's MR.
  int64_t u_size() const { return (alpha2() * (cout + gemm_detail::kMaxMr) * cin + 15) / 16 * 16; }
  // One thread's V (cin, tb) and M (cout, tb) per transformed position.
  int64_t slot() const { return (alpha2() * (cin + cout) * tb + 15) / 16 * 16; }
  int64_t min_workspace() const { return u_size() + slot() + 16; }  // + 16: room to align to 64 bytes
};

// Tiles per block: one block's V and M (about kWinogradBlockElems) stay in L2 while the
// (m+2)^2 GEMMs stream over them; a multiple of 32 (every micro-kernel's NR divides it).
constexpr int64_t kWinogradBlockElems = 1 << 18;

std::atomic<int> g_conv_algorithm{-1};  // -1 automatic, 0 im2col, 1 Winograd wherever it applies (test hook)

WinogradPlan winograd_plan(const Conv2dGeom& g, ConvPass pass) {
  WinogradPlan p;
  if (pass == ConvPass::backward_weight || g.R != 3 || g.S != 3 || g.sh != 1 || g.sw != 1 || g.dh != 1 ||
      g.dw != 1 || g.groups != 1 || g.N * g.C * g.K * g.P * g.Q == 0)
    return p;
  const bool fwd = pass == ConvPass::forward;
  p.flip = !fwd;
  p.n = g.N;
  p.cin = fwd ? g.C : g.K;
  p.cout = fwd ? g.K : g.C;
  p.hin = fwd ? g.H : g.P;
  p.win = fwd ? g.W : g.Q;
  p.hout = fwd ? g.P : g.H;
  p.wout = fwd ? g.Q : g.W;
  p.pt = fwd ? g.pt : g.R - 1 - g.pt;
  p.pl = fwd ? g.pl : g.S - 1 - g.pl;
  const int forced = g_conv_algorithm.load();
  if (forced == 0) return p;
  p.m = 2;
  p.th = (p.hout + 1) / 2;
  p.tw = (p.wout + 1) / 2;
  p.tiles = p.n * p.th * p.tw;
  // Heuristic: below ~48 tiles the filter transform (per call) outweighs the multiplies
  // saved; few channels make the 16 GEMMs too short to pay for the data transforms.
  if (forced < 0 && (p.cin < 16 || p.cout < 16 || p.tiles < 48)) {
    p.m = 0;
    return p;
  }
  p.th = (p.hout + p.m - 1) / p.m;
  p.tw = (p.wout + p.m - 1) / p.m;
  p.tiles = p.n * p.th * p.tw;
  int64_t tb = kWinogradBlockElems / (p.alpha2() * (p.cin + p.cout)) / 32 * 32;
  tb = std::max<int64_t>(32, std::min(tb, (p.tiles + 4 * 32 - 1) / (4 * 32) * 32));  // at least 4 blocks if it can
  p.tb = tb;
  p.blocks = (p.tiles + tb - 1) / tb;
  return p;
}

// V rows for the NR tiles t0 .. t0+NR-1 (tiles past the end are zero), every input channel:
// v[pos*pos_stride + c*NR + t] = (B^T d B)[pos] of channel c's patch under tile t0 + t.
// Returns false when a transformed value is not finite (a NaN or inf in the input, or an
// overflow in the transform): the caller then convolves directly instead, since Winograd
// would spread the NaN to the tile's other outputs.
template <typename T, int M, int NR>
DK_INLINE bool winograd_input_body(const WinogradPlan& p, const T* x, int64_t t0, T* v, int64_t pos_stride) {
  using Wm = WinogradMatrices<M>;
  constexpr int A = M + 2;
  int64_t off[NR];
  int64_t h0[NR], w0[NR];
  unsigned char kind[NR];  // 0: no tile, 1: patch inside the input, 2: patch crosses an edge
  const int64_t per_image = p.th * p.tw, hw = p.hin * p.win;
  for (int t = 0; t < NR; ++t) {
    const int64_t tile = t0 + t;
    kind[t] = 0;
    if (tile >= p.tiles) continue;
    const int64_t n = tile / per_image, r = tile % per_image;
    h0[t] = (r / p.tw) * M - p.pt;
    w0[t] = (r % p.tw) * M - p.pl;
    off[t] = n * p.cin * hw + h0[t] * p.win + w0[t];
    kind[t] = h0[t] >= 0 && w0[t] >= 0 && h0[t] + A <= p.hin && w0[t] + A <= p.win ? 1 : 2;
  }
  alignas(64) T d[A * A * NR];
  alignas(64) T tmp[A * A * NR];
  T guard[NR] = {};  // stays 0 while every value is finite (x * 0 is NaN for NaN and inf)
  for (int64_t c = 0; c < p.cin; ++c) {
    const T* xc = x + c * hw;
    for (int t = 0; t < NR; ++t) {
      if (kind[t] == 1) {
        const T* s = xc + off[t];
#pragma GCC unroll 6
        for (int i = 0; i < A; ++i)
#pragma GCC unroll 6
          for (int j = 0; j < A; ++j) d[(i * A + j) * NR + t] = s[i * p.win + j];
      } else if (kind[t] == 2) {
        for (int i = 0; i < A; ++i)
          for (int j = 0; j < A; ++j) {
            const int64_t h = h0[t] + i, w = w0[t] + j;
            d[(i * A + j) * NR + t] = h >= 0 && h < p.hin && w >= 0 && w < p.win ? xc[off[t] + i * p.win + j] : T(0);
          }
      } else {
        for (int i = 0; i < A * A; ++i) d[i * NR + t] = T(0);
      }
    }
#pragma GCC unroll 6
    for (int j = 0; j < A; ++j) apply_rows<T, NR>(Wm::BT, d + j * NR, A * NR, tmp + j * NR, A * NR);  // B^T d
#pragma GCC unroll 6
    for (int i = 0; i < A; ++i)  // (B^T d) B, row i of the result straight into V
      apply_rows<T, NR>(Wm::BT, tmp + i * A * NR, NR, v + i * A * pos_stride + c * NR, pos_stride);
    for (int pos = 0; pos < A * A; ++pos) {
      const T* vr = v + pos * pos_stride + c * NR;
      for (int t = 0; t < NR; ++t) guard[t] += vr[t] * T(0);
    }
  }
  T all = T(0);
  for (int t = 0; t < NR; ++t) all += guard[t];
  return all == T(0);
}

// y tiles t0 .. t0+NR-1 (those that exist) of every output channel from the GEMM results:
// mcol[pos*pos_stride + k*ldm + t] is M[pos] of output channel k, tile t0 + t.
template <typename T, int M, int NR>
DK_INLINE void winograd_output_body(const WinogradPlan& p, const T* mcol, int64_t ldm, int64_t pos_stride,
                                    const T* bias, T* y, int64_t t0) {
  using Wm = WinogradMatrices<M>;
  constexpr int A = M + 2;
  int64_t off[NR];
  int rows[NR], cols[NR];
  const int64_t per_image = p.th * p.tw, hw = p.hout * p.wout;
  int last = 0;  // tiles t < last exist
  for (int t = 0; t < NR; ++t) {
    const int64_t tile = t0 + t;
    if (tile >= p.tiles) break;
    const int64_t n = tile / per_image, r = tile % per_image;
    const int64_t oh = (r / p.tw) * M, ow = (r % p.tw) * M;
    off[t] = n * p.cout * hw + oh * p.wout + ow;
    rows[t] = static_cast<int>(std::min<int64_t>(M, p.hout - oh));
    cols[t] = static_cast<int>(std::min<int64_t>(M, p.wout - ow));
    last = t + 1;
  }
  alignas(64) T tmp[M * A * NR];
  alignas(64) T yt[M * M * NR];
  for (int64_t k = 0; k < p.cout; ++k) {
    const T* mk = mcol + k * ldm;
#pragma GCC unroll 6
    for (int j = 0; j < A; ++j)  // A^T M, column j
      apply_rows<T, NR>(Wm::AT, mk + j * pos_stride, A * pos_stride, tmp + j * NR, A * NR);
#pragma GCC unroll 4
    for (int i = 0; i < M; ++i) apply_rows<T, NR>(Wm::AT, tmp + i * A * NR, NR, yt + i * M * NR, NR);  // (A^T M) A
    const T b = bias != nullptr ? bias[k] : T(0);
    T* yk = y + k * hw;
    for (int t = 0; t < last; ++t) {
      T* o = yk + off[t];
      if (rows[t] == M && cols[t] == M) {
#pragma GCC unroll 4
        for (int i = 0; i < M; ++i)
#pragma GCC unroll 4
          for (int j = 0; j < M; ++j) o[i * p.wout + j] = yt[(i * M + j) * NR + t] + b;
      } else {
        for (int i = 0; i < rows[t]; ++i)
          for (int j = 0; j < cols[t]; ++j) o[i * p.wout + j] = yt[(i * M + j) * NR + t] + b;
      }
    }
  }
}

// The transforms under DK_CLONES (AVX-512 / AVX2 / baseline copies), per dtype, tile and NR.
#define DK_WINOGRAD_CLONES(T, M, NR)                                                                          \
  DK_CLONES bool winograd_input_##M##_##NR(const WinogradPlan& p, const T* x, int64_t t0, T* v, int64_t ps) { \
    return winograd_input_body<T, M, NR>(p, x, t0, v, ps);                                                   \
  }                                                                                                          \
  DK_CLONES void winograd_output_##M##_##NR(const WinogradPlan& p, const T* mcol, int64_t ldm, int64_t ps,    \
                                            const T* bias, T* y, int64_t t0) {                               \
    winograd_output_body<T, M, NR>(p, mcol, ldm, ps, bias, y, t0);                                           \
  }
#define DK_WINOGRAD_CLONES_NR(T, M) DK_WINOGRAD_CLONES(T, M, 8) DK_WINOGRAD_CLONES(T, M, 16) DK_WINOGRAD_CLONES(T, M, 32)
DK_WINOGRAD_CLONES_NR(float, 2)
DK_WINOGRAD_CLONES_NR(double, 2)
#undef DK_WINOGRAD_CLONES_NR
#undef DK_WINOGRAD_CLONES

template <typename T>
struct WinogradPanels {
  bool (*input)(const WinogradPlan&, const T*, int64_t, T*, int64_t);
  void (*output)(const WinogradPlan&, const T*, int64_t, int64_t, const T*, T*, int64_t);
};

template <typename T>
WinogradPanels<T> winograd_panels(int m, int nr) {
  using P = WinogradPanels<T>;
#define DK_WINOGRAD_CASE(M, NR)                                                          \
  if (m == M && nr == NR)                                                                \
    return P{static_cast<decltype(P::input)>(&winograd_input_##M##_##NR),                \
             static_cast<decltype(P::output)>(&winograd_output_##M##_##NR)};
  DK_WINOGRAD_CASE(2, 8) DK_WINOGRAD_CASE(2, 16) DK_WINOGRAD_CASE(2, 32)
#undef DK_WINOGRAD_CASE
  throw std::logic_error("winograd: no transform for this tile and panel width");
}

// U = G g G^T of every (output, input) channel pair, computed in double and written as the
// micro-kernel's packed A panels: u[pos*(kpa*cin) + (k/mr)*mr*cin + c*mr + k%mr], rows past
// cout zero. One call does one panel (output channels k0 .. k0+mr-1) with the mr channels as
// SIMD lanes (kMaxMr of them, the unused ones zero), so the transform vectorizes and each
// (pos, c) writes mr contiguous values. Returns false when a filter value is not finite.
template <typename T, int M>
DK_INLINE bool winograd_filter_panel_body(const WinogradPlan& p, const T* w, int mr, int64_t k0, T* u,
                                          int64_t pos_stride) {
  using Wm = WinogradMatrices<M>;
  constexpr int A = M + 2, L = gemm_detail::kMaxMr;
  const int lanes = static_cast<int>(std::min<int64_t>(mr, p.cout - k0));
  alignas(64) double g[9 * L] = {};  // g[(r*3 + s)*L + lane]; lanes >= `lanes` stay zero
  alignas(64) double gg[A * 3 * L];  // G g
  alignas(64) double uu[A * A * L];  // G g G^T
  double guard[L] = {};              // stays 0 while every value is finite
  for (int64_t c = 0; c < p.cin; ++c) {
    for (int kk = 0; kk < lanes; ++kk) {
      const int64_t k = k0 + kk;
      if (p.flip) {  // w is (cin, cout, 3, 3), read rotated by 180 degrees
        const T* src = w + (c * p.cout + k) * 9;
        for (int rs = 0; rs < 9; ++rs) g[rs * L + kk] = src[8 - rs];
      } else {
        const T* src = w + (k * p.cin + c) * 9;
        for (int rs = 0; rs < 9; ++rs) g[rs * L + kk] = src[rs];
      }
    }
    for (int s = 0; s < 3; ++s) apply_rows<double, L>(Wm::G, g + s * L, 3 * L, gg + s * L, 3 * L);
    for (int i = 0; i < A; ++i) apply_rows<double, L>(Wm::G, gg + i * 3 * L, L, uu + i * A * L, L);
    for (int pos = 0; pos < A * A; ++pos) {
      T* dst = u + pos * pos_stride + c * mr;
      const double* src = uu + pos * L;
      for (int kk = 0; kk < mr; ++kk) dst[kk] = static_cast<T>(src[kk]);
      for (int kk = 0; kk < L; ++kk) guard[kk] += src[kk] * 0.0;
    }
  }
  double all = 0;
  for (int kk = 0; kk < L; ++kk) all += guard[kk];
  return all == 0;
}

DK_CLONES bool winograd_filter_panel_2(const WinogradPlan& p, const float* w, int mr, int64_t k0, float* u,
                                       int64_t ps) {
  return winograd_filter_panel_body<float, 2>(p, w, mr, k0, u, ps);
}
DK_CLONES bool winograd_filter_panel_2(const WinogradPlan& p, const double* w, int mr, int64_t k0, double* u,
                                       int64_t ps) {
  return winograd_filter_panel_body<double, 2>(p, w, mr, k0, u, ps);
}

template <typename T, int M>
bool winograd_filters(const WinogradPlan& p, const T* w, int mr, T* u) {
  static_assert(M == 2, "winograd_filters: F(2x2, 3x3) only");
  const int64_t kpa = (p.cout + mr - 1) / mr * mr, pos_stride = kpa * p.cin;
  std::atomic<bool> finite{true};
  parallel_for(0, kpa / mr, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; ++b)
      if (!winograd_filter_panel_2(p, w, mr, b * mr, u + b * mr * p.cin, pos_stride)) finite = false;
  });
  return finite;
}

// out = conv(in) by Winograd F(m x m, 3 x 3) for plan p (m > 0), plus bias (cout,) or null.
// Returns false, having written part of out, when a value is not finite (see winograd_input_body).
template <typename T, int M>
bool winograd_conv(const WinogradPlan& p, const T* in, const T* w, const T* bias, T* out, T* ws, int64_t ws_size) {
  constexpr int64_t A2 = (M + 2) * (M + 2);
  const GemmPanels gp = gemm_panels<T>();
  const WinogradPanels<T> fns = winograd_panels<T>(M, gp.nr);
  const auto addr = reinterpret_cast<uintptr_t>(ws);
  T* base = ws + ((64 - addr % 64) % 64) / sizeof(T);  // V panels are read with aligned loads
  const int64_t usable = ws_size - (base - ws);
  T* u = base;
  const int64_t slot = p.slot();
  const int nt = std::max(1, std::min(threads_for(p.blocks, 1), static_cast<int>((usable - p.u_size()) / slot)));
  if (!winograd_filters<T, M>(p, w, gp.mr, u)) return false;
  const int64_t kpa = (p.cout + gp.mr - 1) / gp.mr * gp.mr;
  std::atomic<bool> finite{true};
  for_units(nt, p.blocks, [&](int t, int64_t blk) {
    if (!finite.load(std::memory_order_relaxed)) return;
    T* v = base + p.u_size() + t * slot;
    const int64_t t0 = blk * p.tb, count = std::min(p.tb, p.tiles - t0);
    const int64_t cols = (count + gp.nr - 1) / gp.nr * gp.nr;  // V and M columns: whole panels
    T* mm = v + A2 * p.cin * cols;
    bool ok = true;
    for (int64_t q = 0; q < cols; q += gp.nr) ok &= fns.input(p, in, t0 + q, v + q * p.cin, p.cin * cols);
    if (!ok) {
      finite = false;
      return;
    }
    for (int64_t pos = 0; pos < A2; ++pos)
      gemm_prepacked<T>(p.cout, count, p.cin, u + pos * kpa * p.cin, v + pos * p.cin * cols, mm + pos * p.cout * cols,
                        cols);
    for (int64_t q = 0; q < cols; q += gp.nr) fns.output(p, mm + q, cols, p.cout * cols, bias, out, t0 + q);
  });
  return finite;
}

template <typename T>
bool winograd(const WinogradPlan& p, const T* in, const T* w, const T* bias, T* out, T* ws, int64_t ws_size) {
  return winograd_conv<T, 2>(p, in, w, bias, out, ws, ws_size);
}

// The scratch a kernel writes is one slot per thread it uses: fewer than one slot would overflow.
void check_workspace(const Conv2dGeom& g, ConvPass pass, int64_t ws_size, const char* op) {
  const int64_t need = conv2d_workspace_slot(g, pass);
  DK_CHECK(ws_size >= need, op, ": workspace must have at least ", need, " elements, got ", ws_size);
}

// One thread's scratch for the forward pass (none for the pointwise fast path): the block's
// im2col as packed B panels (whole panels, 64-byte aligned: the micro-kernel reads them with
// aligned loads), the GEMM output of a block of whole images, the phase rows of a strided
// input, and the filter as packed A panels.
struct ForwardSlot {
  int64_t out = 0, phase = 0, a = 0, size = 0;  // offsets from the aligned start; size with the alignment room
};
constexpr int64_t kAlignRoom = 16;  // elements: room to align a slot's start to 64 bytes

ForwardSlot forward_slot(const Conv2dGeom& g, const ColBlocks& cb) {
  ForwardSlot f;
  if (g.pointwise() && cb.per == 1) return f;
  const int64_t rows = g.CRSg(), nr = gemm_detail::kMaxNr;
  f.out = rows * ((cb.chunk + nr - 1) / nr * nr);
  f.phase = f.out + (cb.per > 1 ? g.Kg() * cb.chunk : 0);
  f.a = f.phase + phase_elems(g);
  f.size = f.a + (g.Kg() + gemm_detail::kMaxMr) * rows + kAlignRoom;
  return f;
}

template <typename T>
T* align64(T* p) {
  const auto addr = reinterpret_cast<uintptr_t>(p);
  return p + ((64 - addr % 64) % 64) / sizeof(T);
}

// The backward passes' scratch: the im2col block (plain rows), the grad_out columns of a
// block of whole images, for the weight gradient the phase rows of a strided input and a
// private copy of gw.
int64_t phase_offset(const Conv2dGeom& g, const ColBlocks& cb) {
  return (g.pointwise() && cb.per == 1 ? 0 : g.CRSg() * cb.chunk) + (cb.per > 1 ? g.Kg() * cb.chunk : 0);
}

int64_t im2col_slot(const Conv2dGeom& g, ConvPass pass) {
  const ColBlocks cb = col_blocks(g);
  if (pass == ConvPass::forward) return forward_slot(g, cb).size;
  const int64_t slot = phase_offset(g, cb);
  if (pass == ConvPass::backward_data) return slot;
  return slot + phase_elems(g) + g.K * g.CRSg();
}

// blk's whole images: cols (Kg, cols) <-> a (N, K, PQ) array's group gi channels.
template <typename T>
void gather_images(const Conv2dGeom& g, const ColBlock& blk, int64_t gi, const T* a, T* cols) {
  const int64_t PQ = g.PQ(), Kg = g.Kg();
  for (int64_t i = 0; i < blk.nimg; ++i)
    for (int64_t k = 0; k < Kg; ++k)
      std::memcpy(cols + k * blk.cols + i * PQ, a + ((blk.n0 + i) * g.K + gi * Kg + k) * PQ, sizeof(T) * PQ);
}

}  // namespace

// A Winograd pass may fall back to im2col (non-finite values): its workspace serves both.
int64_t conv2d_workspace_slot(const Conv2dGeom& g, ConvPass pass) {
  const WinogradPlan wp = winograd_plan(g, pass);
  const int64_t slot = im2col_slot(g, pass);
  return wp.m ? std::max(wp.min_workspace(), slot) : slot;
}

int64_t conv2d_workspace_size(const Conv2dGeom& g, ConvPass pass) {
  const int nt = std::max(1, get_num_threads());
  const WinogradPlan wp = winograd_plan(g, pass);
  const int64_t im2col = im2col_slot(g, pass) * nt;
  if (!wp.m) return im2col;
  return std::max(im2col, wp.min_workspace() + wp.slot() * std::min<int64_t>(nt - 1, wp.blocks - 1));
}

void set_conv_algorithm(int algorithm) {
  DK_CHECK(algorithm >= -1 && algorithm <= 1, "set_conv_algorithm: expected -1 (automatic), 0 (im2col) or 1 (Winograd), got ",
           algorithm);
  g_conv_algorithm = algorithm;
}

template <typename T>
void conv2d_forward(const Conv2dGeom& g, const T* x, const T* w, const T* b, T* y, T* ws, int64_t ws_size) {
  const int64_t PQ = g.PQ(), rows = g.CRSg(), Kg = g.Kg();
  if (g.N * g.K * PQ == 0) return;
  const WinogradPlan wp = winograd_plan(g, ConvPass::forward);
  if (wp.m && winograd(wp, x, w, b, y, ws, ws_size)) return;
  const ColBlocks cb = col_blocks(g);
  const int64_t units = g.groups * cb.count;
  const ForwardSlot fs = forward_slot(g, cb);
  const bool direct = g.pointwise() && cb.per == 1;
  const int64_t nr = gemm_panels<T>().nr;
  const ColLayout lay{nr, nr, rows};
  for_units(slots_threads(units, fs.size, ws_size), units, [&](int t, int64_t u) {
    const int64_t gi = u / cb.count;
    const ColBlock blk = col_block(g, cb, u % cb.count);
    const T* wg = w + gi * Kg * rows;
    T* panels = align64(ws + t * fs.size);  // the block's im2col, packed B panels
    T* out = panels + fs.out;               // (Kg, cols) of a block of whole images
    if (rows > 0 && !direct) {
      for (int64_t i = 0; i < blk.nimg; ++i)
        im2col_block(g, x + ((blk.n0 + i) * g.C + gi * g.Cg()) * g.HW(), blk.j0, blk.nimg > 1 ? PQ : blk.cols,
                     panels, lay, i * PQ, panels + fs.phase);
      const int64_t pad = (nr - blk.cols % nr) % nr;  // the last panel's columns past the block: 0
      T* tail = panels + lay.offset(0, blk.cols);
      for (int64_t row = 0; pad && row < rows; ++row) std::fill(tail + row * nr, tail + row * nr + pad, T(0));
      gemm_pack_a<T>(Kg, rows, wg, rows, panels + fs.a);
    }
    for (int64_t i = 0; i < blk.nimg; ++i) {
      T* yb = y + ((blk.n0 + i) * g.K + gi * Kg) * PQ + blk.j0;
      const int64_t nc = blk.nimg > 1 ? PQ : blk.cols;
      if (rows == 0) {
        for (int64_t k = 0; k < Kg; ++k) std::fill(yb + k * PQ, yb + k * PQ + nc, T(0));
      } else if (blk.nimg > 1) {
        if (i == 0) gemm_prepacked<T>(Kg, blk.cols, rows, panels + fs.a, panels, out, blk.cols);
        for (int64_t k = 0; k < Kg; ++k) std::memcpy(yb + k * PQ, out + k * blk.cols + i * PQ, sizeof(T) * PQ);
      } else if (direct) {
        const T* xg = x + (blk.n0 * g.C + gi * g.Cg()) * g.HW();
        gemm<T>(false, false, Kg, nc, rows, T(1), wg, rows, xg + blk.j0, g.HW(), T(0), yb, PQ);
      } else {
        gemm_prepacked<T>(Kg, nc, rows, panels + fs.a, panels, yb, PQ);
      }
      if (b) {
        for (int64_t k = 0; k < Kg; ++k) {
          const T bk = b[gi * Kg + k];
          T* yr = yb + k * PQ;
          for (int64_t j = 0; j < nc; ++j) yr[j] += bk;
        }
      }
    }
  });
}

template <typename T>
void conv2d_backward_data(const Conv2dGeom& g, const T* gy, const T* w, T* gx, T* ws, int64_t ws_size) {
  const int64_t PQ = g.PQ(), rows = g.CRSg(), Kg = g.Kg(), HW = g.HW(), RS = g.R * g.S, Cg = g.Cg();
  if (g.N * g.C * HW == 0) return;
  const WinogradPlan wp = winograd_plan(g, ConvPass::backward_data);
  if (wp.m && winograd(wp, gy, w, static_cast<const T*>(nullptr), gx, ws, ws_size)) return;
  const ColBlocks cb = col_blocks(g);
  const int64_t slot = im2col_slot(g, ConvPass::backward_data);
  const bool direct = g.pointwise() && cb.per == 1;
  if (cb.per > 1) {  // blocks of whole small images: a unit owns its images' gx
    const int64_t units = g.groups * cb.count;
    for_units(slots_threads(units, slot, ws_size), units, [&](int t, int64_t u) {
      const int64_t gi = u / cb.count;
      const ColBlock blk = col_block(g, cb, u % cb.count);
      T* col = ws + t * slot;
      T* out = col + rows * cb.chunk;
      for (int64_t i = 0; i < blk.nimg; ++i) {
        T* gxg = gx + ((blk.n0 + i) * g.C + gi * Cg) * HW;
        std::fill(gxg, gxg + Cg * HW, T(0));
      }
      if (Kg == 0) return;
      gather_images(g, blk, gi, gy, out);
      gemm<T>(true, false, rows, blk.cols, Kg, T(1), w + gi * Kg * rows, rows, out, blk.cols, T(0), col, blk.cols);
      for (int64_t i = 0; i < blk.nimg; ++i)
        col2im_block(g, col + i * PQ, 0, PQ, gx + ((blk.n0 + i) * g.C + gi * Cg) * HW, blk.cols, Cg);
    });
    return;
  }
  // Units are (group, image, block of input channels): a unit owns its channels' gx planes, so
  // no two threads write the same rows. Fewer (group, image) pairs than threads (batch 1), or a
  // count the threads do not divide, splits each image's channels into `split` blocks, so one
  // parallel region covers the layer instead of a serial loop of multithreaded GEMMs.
  const int nt = std::max(1, get_num_threads());
  const int64_t images = g.groups * g.N;
  const int64_t split = images % nt == 0 || images >= 4 * nt ? 1 : std::min<int64_t>(Cg, nt);
  const int64_t cblk = (Cg + split - 1) / split, units = images * split;
  for_units(slots_threads(units, slot, ws_size), units, [&](int t, int64_t u) {
    const int64_t gi = u / (g.N * split), n = u / split % g.N, c0 = u % split * cblk;
    const int64_t nch = std::min(cblk, Cg - c0);
    if (nch <= 0) return;
    T* gxc = gx + (n * g.C + gi * Cg + c0) * HW;
    if (Kg == 0 || !direct) std::fill(gxc, gxc + nch * HW, T(0));
    if (Kg == 0) return;
    const T* wc = w + gi * Kg * rows + c0 * RS;  // columns c0*RS .. of w[g] (Kg, rows)
    const T* gyg = gy + (n * g.K + gi * Kg) * PQ;
    T* col = ws + t * slot;
    for (int64_t ci = 0; ci < cb.per_image; ++ci) {
      const int64_t j0 = ci * cb.chunk, nc = std::min(cb.chunk, PQ - j0);
      if (direct) {
        gemm<T>(true, false, nch * RS, nc, Kg, T(1), wc, rows, gyg + j0, PQ, T(0), gxc + j0, HW);
      } else {
        gemm<T>(true, false, nch * RS, nc, Kg, T(1), wc, rows, gyg + j0, PQ, T(0), col, nc);
        col2im_block(g, col, j0, nc, gxc, nc, nch);
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
  const ColBlocks cb = col_blocks(g);
  const int64_t units = g.groups * cb.count;
  const int64_t slot = im2col_slot(g, ConvPass::backward_weight);
  const int64_t colsize = slot - wsize;
  const bool direct = g.pointwise() && cb.per == 1;
  const int nt = slots_threads(units, slot, ws_size);
  if (nt > 1) {
    for (int t = 0; t < nt; ++t) std::fill(ws + t * slot + colsize, ws + (t + 1) * slot, T(0));
  }
  for_units(nt, units, [&](int t, int64_t u) {
    const int64_t gi = u / cb.count;
    const ColBlock blk = col_block(g, cb, u % cb.count);
    T* acc = (nt > 1 ? ws + t * slot + colsize : gw) + gi * Kg * rows;
    T* col = ws + t * slot;
    T* phase = col + phase_offset(g, cb);
    if (blk.nimg > 1) {
      T* out = col + rows * cb.chunk;
      gather_images(g, blk, gi, gy, out);
      for (int64_t i = 0; i < blk.nimg; ++i)
        im2col_block(g, x + ((blk.n0 + i) * g.C + gi * g.Cg()) * HW, 0, PQ, col, ColLayout{blk.cols}, i * PQ, phase);
      gemm<T>(false, true, Kg, rows, blk.cols, T(1), out, blk.cols, col, blk.cols, T(1), acc, rows);
      return;
    }
    const T* xg = x + (blk.n0 * g.C + gi * g.Cg()) * HW;
    const T* gyb = gy + (blk.n0 * g.K + gi * Kg) * PQ + blk.j0;
    if (direct) {
      gemm<T>(false, true, Kg, rows, blk.cols, T(1), gyb, PQ, xg + blk.j0, HW, T(1), acc, rows);
    } else {
      im2col_block(g, xg, blk.j0, blk.cols, col, ColLayout{blk.cols}, 0, phase);
      gemm<T>(false, true, Kg, rows, blk.cols, T(1), gyb, PQ, col, blk.cols, T(1), acc, rows);
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
