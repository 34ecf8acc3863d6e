// Elman RNN, GRU and LSTM over whole sequences, forward and backward (BPTT), float32/float64.
//
// Layouts follow PyTorch: x (T, B, I); states (B, H); W_ih (G*H, I), W_hh (G*H, H) with the
// gate blocks stacked in PyTorch's order (LSTM i, f, g, o; GRU r, z, n); b_ih, b_hh (G*H,).
//
// Forward, one layer and direction:
//   1. P = X (T*B, I) . W_ih^T — the input projection of all T steps in ONE GEMM, written into
//      the saved-gates array (GRU, LSTM: row stride 4H) or straight into hs (Elman).
//   2. per step: one GEMM h_prev (B, H) . W_hh^T (W_hh^T packed into the micro-kernel's panels
//      once per sequence, not once per step) — accumulated onto P[t] (Elman, LSTM) or into
//      `work` (GRU, whose n gate needs W_hn h + b_hn apart: n = tanh(W_in x + b_in +
//      r * (W_hn h + b_hn))) — then ONE fused pass that adds the biases, applies the gate
//      nonlinearities, updates the state and overwrites P[t] with the activations backward
//      reads (LSTM: i, f, g, o; GRU: r, z, n, W_hn h + b_hn; Elman: nothing — tanh' = 1 - h^2
//      and relu' = [h > 0] come from the output itself).
// Backward walks the steps in reverse: a fused pass turns dh (and dc) into the pre-activation
// gradients dG[t] and resets the running dh to its direct part, then one GEMM dh += dG[t] W_hh
// (W_hh packed once per sequence).
// After the loop the weight gradients are single big GEMMs over the sequence: dX = dG W_ih,
// dW_ih = dG^T X, dW_hh = dG^T H_prev (H_prev is hs shifted by one step, h0 first: two GEMMs
// so nothing is copied), db = column sums of dG.
// Threads: small problems give each thread a slice of batch rows for the whole time loop
// (rows never interact), one parallel region per sequence; large ones thread each GEMM.
// Variable lengths: row b takes step t only if t < lengths[b]; otherwise its state is carried
// unchanged (so the final state is the state after its last real step, and the reverse
// direction starts at each row's own last step) and its gradients pass straight through.
// The float32 nonlinearities are exp-based formulas over vexp (cpu/vec_math.h) so the fused
// loops vectorize (DK_CLONES): sigmoid = 1 / (1 + e^-x); tanh = Cephes' odd polynomial near 0,
// 1 - 2 / (e^2|x| + 1) beyond. float64 uses libm's tanh for full precision.
#include "cpu/rnn.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <vector>

#include "core/parallel.h"
#include "cpu/gemm.h"
#include "cpu/simd.h"
#include "cpu/vec_math.h"

namespace dk::cpu {
namespace {

template <typename T>
DK_INLINE T sigm(T x) {
  return T(1) / (T(1) + vexp(-x));
}

// Cephes tanhf, branch-free: an odd polynomial for |x| < 0.625, 1 - 2 / (e^2|x| + 1) above.
DK_INLINE float tanh_(float x) {
  const float ax = std::fabs(x);
  const float big = 1.0f - 2.0f / (vexp(2.0f * ax) + 1.0f);
  const float z = x * x;
  const float small =
      ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z + 1.33314422036e-1f) * z -
       3.33332819422e-1f) * z * x + x;
  return ax < 0.625f ? small : std::copysign(big, x);
}
// float64 runs for gradient checks and references, not speed: libm's tanh keeps full precision.
DK_INLINE double tanh_(double x) { return std::tanh(x); }

// ---- fused per-row passes (one batch row, H hidden units) --------------------------------

// g (4H): x W_ih^T + h W_hh^T on entry, i f g o on exit; bias = b_ih + b_hh.
template <typename T>
DK_INLINE void lstm_fwd_body(T* __restrict g, const T* __restrict bias, const T* __restrict cp, T* __restrict c,
                             T* __restrict h, int64_t H) {
  for (int64_t j = 0; j < H; ++j) {
    const T i = sigm(g[j] + bias[j]);
    const T f = sigm(g[H + j] + bias[H + j]);
    const T gg = tanh_(g[2 * H + j] + bias[2 * H + j]);
    const T o = sigm(g[3 * H + j] + bias[3 * H + j]);
    g[j] = i;
    g[H + j] = f;
    g[2 * H + j] = gg;
    g[3 * H + j] = o;
    const T cn = f * cp[j] + i * gg;
    c[j] = cn;
    h[j] = o * tanh_(cn);
  }
}

// g (4H): x W_ih^T in its first 3H on entry, r z n (W_hn h + b_hn) on exit; gh (3H) = h W_hh^T.
template <typename T>
DK_INLINE void gru_fwd_body(T* __restrict g, const T* __restrict gh, const T* __restrict bi, const T* __restrict bh,
                            const T* __restrict hp, T* __restrict h, int64_t H) {
  for (int64_t j = 0; j < H; ++j) {
    const T r = sigm(g[j] + bi[j] + gh[j] + bh[j]);
    const T z = sigm(g[H + j] + bi[H + j] + gh[H + j] + bh[H + j]);
    const T ghn = gh[2 * H + j] + bh[2 * H + j];
    const T n = tanh_(g[2 * H + j] + bi[2 * H + j] + r * ghn);
    g[j] = r;
    g[H + j] = z;
    g[2 * H + j] = n;
    g[3 * H + j] = ghn;
    h[j] = n + z * (hp[j] - n);
  }
}

// h: x W_ih^T + h_prev W_hh^T on entry, the new state on exit; bias = b_ih + b_hh.
template <typename T>
DK_INLINE void elman_fwd_body(T* __restrict h, const T* __restrict bias, bool relu, int64_t H) {
  if (relu) {
    for (int64_t j = 0; j < H; ++j) h[j] = std::max(h[j] + bias[j], T(0));
  } else {
    for (int64_t j = 0; j < H; ++j) h[j] = tanh_(h[j] + bias[j]);
  }
}

// dh, dc: running state gradients (dh becomes 0: its recurrent part is added by the GEMM).
template <typename T>
DK_INLINE void lstm_bwd_body(const T* __restrict g, const T* __restrict c, const T* __restrict cp,
                             const T* __restrict gout, T* __restrict dh, T* __restrict dc, T* __restrict dg,
                             int64_t H) {
  for (int64_t j = 0; j < H; ++j) {
    const T i = g[j], f = g[H + j], gg = g[2 * H + j], o = g[3 * H + j];
    const T tc = tanh_(c[j]);
    const T dhj = dh[j] + gout[j];
    const T dct = dc[j] + dhj * o * (T(1) - tc * tc);
    dg[j] = dct * gg * i * (T(1) - i);
    dg[H + j] = dct * cp[j] * f * (T(1) - f);
    dg[2 * H + j] = dct * i * (T(1) - gg * gg);
    dg[3 * H + j] = dhj * tc * o * (T(1) - o);
    dc[j] = dct * f;
    dh[j] = T(0);
  }
}

// dgx (3H) / dgh (3H): gradients of the input-side / recurrent-side pre-activations; they
// differ only in n (dgh_n = dgx_n * r). dh becomes its direct part dh * z.
template <typename T>
DK_INLINE void gru_bwd_body(const T* __restrict g, const T* __restrict hp, const T* __restrict gout,
                            T* __restrict dh, T* __restrict dgx, T* __restrict dgh, int64_t H) {
  for (int64_t j = 0; j < H; ++j) {
    const T r = g[j], z = g[H + j], n = g[2 * H + j], ghn = g[3 * H + j];
    const T dhj = dh[j] + gout[j];
    const T dan = dhj * (T(1) - z) * (T(1) - n * n);
    const T dar = dan * ghn * r * (T(1) - r);
    const T daz = dhj * (hp[j] - n) * z * (T(1) - z);
    dgx[j] = dar;
    dgx[H + j] = daz;
    dgx[2 * H + j] = dan;
    dgh[j] = dar;
    dgh[H + j] = daz;
    dgh[2 * H + j] = dan * r;
    dh[j] = dhj * z;
  }
}

template <typename T>
DK_INLINE void elman_bwd_body(const T* __restrict y, const T* __restrict gout, T* __restrict dh,
                              T* __restrict dg, bool relu, int64_t H) {
  if (relu) {
    for (int64_t j = 0; j < H; ++j) dg[j] = y[j] <= T(0) ? T(0) : dh[j] + gout[j];  // NaN passes, as relu's
  } else {
    for (int64_t j = 0; j < H; ++j) dg[j] = (dh[j] + gout[j]) * (T(1) - y[j] * y[j]);
  }
  for (int64_t j = 0; j < H; ++j) dh[j] = T(0);
}

// Per-ISA clones (target_clones does not apply to templates).
DK_CLONES void lstm_fwd(float* g, const float* b, const float* cp, float* c, float* h, int64_t H) {
  lstm_fwd_body(g, b, cp, c, h, H);
}
DK_CLONES void lstm_fwd(double* g, const double* b, const double* cp, double* c, double* h, int64_t H) {
  lstm_fwd_body(g, b, cp, c, h, H);
}
DK_CLONES void gru_fwd(float* g, const float* gh, const float* bi, const float* bh, const float* hp, float* h,
                       int64_t H) {
  gru_fwd_body(g, gh, bi, bh, hp, h, H);
}
DK_CLONES void gru_fwd(double* g, const double* gh, const double* bi, const double* bh, const double* hp,
                       double* h, int64_t H) {
  gru_fwd_body(g, gh, bi, bh, hp, h, H);
}
DK_CLONES void elman_fwd(float* h, const float* b, bool relu, int64_t H) { elman_fwd_body(h, b, relu, H); }
DK_CLONES void elman_fwd(double* h, const double* b, bool relu, int64_t H) { elman_fwd_body(h, b, relu, H); }
DK_CLONES void lstm_bwd(const float* g, const float* c, const float* cp, const float* go, float* dh, float* dc,
                        float* dg, int64_t H) {
  lstm_bwd_body(g, c, cp, go, dh, dc, dg, H);
}
DK_CLONES void lstm_bwd(const double* g, const double* c, const double* cp, const double* go, double* dh,
                        double* dc, double* dg, int64_t H) {
  lstm_bwd_body(g, c, cp, go, dh, dc, dg, H);
}
DK_CLONES void gru_bwd(const float* g, const float* hp, const float* go, float* dh, float* dgx, float* dgh,
                       int64_t H) {
  gru_bwd_body(g, hp, go, dh, dgx, dgh, H);
}
DK_CLONES void gru_bwd(const double* g, const double* hp, const double* go, double* dh, double* dgx, double* dgh,
                       int64_t H) {
  gru_bwd_body(g, hp, go, dh, dgx, dgh, H);
}
DK_CLONES void elman_bwd(const float* y, const float* go, float* dh, float* dg, bool relu, int64_t H) {
  elman_bwd_body(y, go, dh, dg, relu, H);
}
DK_CLONES void elman_bwd(const double* y, const double* go, double* dh, double* dg, bool relu, int64_t H) {
  elman_bwd_body(y, go, dh, dg, relu, H);
}

// Rows per thread chunk so each chunk does ~16K gate evaluations.
int64_t row_grain(int64_t width) { return std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(1, width)); }

bool active(const int64_t* lengths, int64_t b, int64_t t) { return lengths == nullptr || t < lengths[b]; }

// Batch rows are independent through the whole recurrence (row b's state depends on row b
// only), so small problems run the time loop on a slice of rows per thread inside ONE
// parallel region — the per-step GEMMs and passes then run single-threaded on their slice,
// with no fork/join per step. Large problems parallelize inside each step's GEMM instead
// (it splits W_hh's columns, so each thread packs half of it rather than all of it).
template <typename F>
void over_row_slices(int64_t B, int64_t step_macs, F&& steps) {
  const int nt = step_macs < (int64_t(1) << 24) ? threads_for(B, 8) : 1;
  if (nt <= 1) {
    steps(int64_t(0), B);
    return;
  }
  std::exception_ptr error;  // a bad_alloc in a GEMM's packing buffers must not escape the region
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num(), nth = omp_get_num_threads();
    const int64_t lo = B * t / nth, hi = B * (t + 1) / nth;
    try {
      if (lo < hi) steps(lo, hi);
    } catch (...) {
#pragma omp critical(dk_rnn_error)
      error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace

template <typename T>
void rnn_forward(Cell cell, const RnnSeq<T>& s, T* hs, T* cs, T* saved, T* work) {
  const int64_t S = s.steps, B = s.batch, I = s.input, H = s.hidden, GH = cell_gates(cell) * H;
  if (S == 0 || B == 0) return;
  const bool lstm = cell == Cell::lstm, gru = cell == Cell::gru, relu = cell == Cell::rnn_relu;
  // Elman and LSTM add both biases to the sum of the projections; GRU keeps them apart.
  std::vector<T> bi(GH, T(0)), bh(GH, T(0));
  if (s.b_ih) std::copy(s.b_ih, s.b_ih + GH, bi.begin());
  if (s.b_hh) std::copy(s.b_hh, s.b_hh + GH, bh.begin());
  if (!gru)
    for (int64_t j = 0; j < GH; ++j) bi[j] += bh[j];
  T* P = lstm || gru ? saved : hs;
  const int64_t ldp = lstm || gru ? 4 * H : H;
  gemm<T>(false, true, S * B, GH, I, T(1), s.x, I, s.w_ih, I, T(0), P, ldp);
  const PackedB<T> w_hh_t(true, H, GH, s.w_hh, H);  // W_hh^T (H, GH), packed once for every step
  // Rows [r0, r1) through every step.
  over_row_slices(B, B * GH * H, [&](int64_t r0, int64_t r1) {
    for (int64_t k = 0; k < S; ++k) {
      const int64_t t = s.reverse ? S - 1 - k : k;
      const int64_t tp = s.reverse ? t + 1 : t - 1;
      const T* hp = k == 0 ? s.h0 : hs + tp * B * H;
      const T* cp = !lstm ? nullptr : k == 0 ? s.c0 : cs + tp * B * H;
      T* pt = P + t * B * ldp;
      if (gru)
        w_hh_t.multiply(r1 - r0, hp + r0 * H, H, T(0), work + r0 * GH, GH);
      else
        w_hh_t.multiply(r1 - r0, hp + r0 * H, H, T(1), pt + r0 * ldp, ldp);
      parallel_for(r0, r1, row_grain(GH), [&](int64_t lo, int64_t hi) {
        for (int64_t b = lo; b < hi; ++b) {
          T* h = hs + (t * B + b) * H;
          if (lstm) {
            T* c = cs + (t * B + b) * H;
            lstm_fwd(pt + b * ldp, bi.data(), cp + b * H, c, h, H);
            if (!active(s.lengths, b, t)) std::copy(cp + b * H, cp + (b + 1) * H, c);
          } else if (gru) {
            gru_fwd(pt + b * ldp, work + b * GH, bi.data(), bh.data(), hp + b * H, h, H);
          } else {
            elman_fwd(h, bi.data(), relu, H);
          }
          if (!active(s.lengths, b, t)) std::copy(hp + b * H, hp + (b + 1) * H, h);
        }
      });
    }
  });
}

template <typename T>
void rnn_backward(Cell cell, const RnnSeq<T>& s, const T* hs, const T* cs, const T* saved, const T* grad_hs,
                  const T* grad_hn, const T* grad_cn, T* dx, T* dh0, T* dc0, T* dw_ih, T* dw_hh, T* db_ih,
                  T* db_hh, T* work) {
  const int64_t S = s.steps, B = s.batch, I = s.input, H = s.hidden, GH = cell_gates(cell) * H;
  const bool lstm = cell == Cell::lstm, gru = cell == Cell::gru, relu = cell == Cell::rnn_relu;
  // dh0 / dc0 are the running gradients of the state, seeded with those of the final state.
  if (grad_hn) std::copy(grad_hn, grad_hn + B * H, dh0);
  else std::fill(dh0, dh0 + B * H, T(0));
  if (lstm) {
    if (grad_cn) std::copy(grad_cn, grad_cn + B * H, dc0);
    else std::fill(dc0, dc0 + B * H, T(0));
  }
  if (S == 0 || B == 0) {
    std::fill(dx, dx + S * B * I, T(0));
    std::fill(dw_ih, dw_ih + GH * I, T(0));
    std::fill(dw_hh, dw_hh + GH * H, T(0));
    if (db_ih) std::fill(db_ih, db_ih + GH, T(0));
    if (db_hh) std::fill(db_hh, db_hh + GH, T(0));
    return;
  }
  T* dgx = work;                           // (S, B, GH): gradients of the pre-activations, input side
  T* dgh = gru ? work + S * B * GH : work;  // recurrent side (differs from dgx only in GRU's n)
  const std::vector<T> zeros(H, T(0));
  const PackedB<T> w_hh(false, GH, H, s.w_hh, H);  // W_hh (GH, H), packed once for every step
  over_row_slices(B, B * GH * H, [&](int64_t r0, int64_t r1) {
    for (int64_t k = 0; k < S; ++k) {
      const int64_t t = s.reverse ? k : S - 1 - k;
      const int64_t tp = s.reverse ? t + 1 : t - 1;
      const bool first = k == S - 1;  // the step forward took first: its previous state is h0
      const T* hp = first ? s.h0 : hs + tp * B * H;
      const T* cp = !lstm ? nullptr : first ? s.c0 : cs + tp * B * H;
      parallel_for(r0, r1, row_grain(GH), [&](int64_t lo, int64_t hi) {
        for (int64_t b = lo; b < hi; ++b) {
          const int64_t row = t * B + b;
          T* gx = dgx + row * GH;
          T* gh = dgh + row * GH;
          if (!active(s.lengths, b, t)) {
            std::fill(gx, gx + GH, T(0));
            std::fill(gh, gh + GH, T(0));
            continue;
          }
          const T* go = grad_hs ? grad_hs + row * H : zeros.data();
          if (lstm)
            lstm_bwd(saved + row * 4 * H, cs + row * H, cp + b * H, go, dh0 + b * H, dc0 + b * H, gx, H);
          else if (gru)
            gru_bwd(saved + row * 4 * H, hp + b * H, go, dh0 + b * H, gx, gh, H);
          else
            elman_bwd(hs + row * H, go, dh0 + b * H, gx, relu, H);
        }
      });
      w_hh.multiply(r1 - r0, dgh + (t * B + r0) * GH, GH, T(1), dh0 + r0 * H, H);
    }
  });
  gemm<T>(false, false, S * B, I, GH, T(1), dgx, GH, s.w_ih, I, T(0), dx, I);
  gemm<T>(true, false, GH, I, S * B, T(1), dgx, GH, s.x, I, T(0), dw_ih, I);
  // dW_hh = sum_t dG_h[t]^T h_prev[t]: h0 for the step taken first, hs shifted by one for the rest.
  const int64_t t0 = s.reverse ? S - 1 : 0;
  gemm<T>(true, false, GH, H, B, T(1), dgh + t0 * B * GH, GH, s.h0, H, T(0), dw_hh, H);
  if (S > 1)
    gemm<T>(true, false, GH, H, (S - 1) * B, T(1), dgh + (s.reverse ? 0 : B * GH), GH, hs + (s.reverse ? B * H : 0),
            H, T(1), dw_hh, H);
  if (db_ih) column_sum<T>(S * B, GH, dgx, GH, db_ih);
  if (db_hh) column_sum<T>(S * B, GH, dgh, GH, db_hh);
}

template void rnn_forward<float>(Cell, const RnnSeq<float>&, float*, float*, float*, float*);
template void rnn_forward<double>(Cell, const RnnSeq<double>&, double*, double*, double*, double*);
template void rnn_backward<float>(Cell, const RnnSeq<float>&, const float*, const float*, const float*,
                                  const float*, const float*, const float*, float*, float*, float*, float*, float*,
                                  float*, float*, float*);
template void rnn_backward<double>(Cell, const RnnSeq<double>&, const double*, const double*, const double*,
                                   const double*, const double*, const double*, double*, double*, double*, double*,
                                   double*, double*, double*, double*);

}  // namespace dk::cpu
