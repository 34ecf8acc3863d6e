// Elman RNN, GRU and LSTM sequences on the GPU, forward and backward (BPTT), float32/float64.
//
// Same algorithm and layouts as csrc/cpu/rnn.cpp: the input projection of all T steps is one
// GEMM (dk::cuda::gemm) into the saved-gates array (GRU, LSTM; row stride 4H) or into hs
// (Elman); per step one recurrent GEMM and ONE fused elementwise kernel — one thread per
// (batch row, hidden unit), grid-stride — that adds the biases, applies the gate
// nonlinearities, updates the state (or carries it for rows past their length) and leaves the
// activations backward reads. Backward: per step (reverse order) one fused kernel producing the
// pre-activation gradients dG[t] and the direct part of dh, then one GEMM dh += dG[t] W_hh;
// afterwards dX, dW_ih, dW_hh are single GEMMs over the whole sequence and the bias gradients
// column sums (dk::cuda::column_sum). Every launch goes on the caller's stream; nothing synchronizes.
// Each thread reads and writes only its own (b, j) element of the state arrays and its own
// four gate columns, so the fused kernels need no shared memory and no barriers.
#include "cuda/cuda_check.h"
#include "cuda/gemm.h"
#include "cuda/launch.cuh"
#include "cuda/rnn.h"

namespace dk::cuda {
namespace {

constexpr unsigned kBlock = 256;

template <typename T>
__device__ __forceinline__ T sigm(T x) {
  return T(1) / (T(1) + exp(-x));
}

__device__ __forceinline__ bool row_active(const int64_t* lengths, int64_t b, int64_t t) {
  return lengths == nullptr || t < lengths[b];
}

template <typename T>
__device__ __forceinline__ T bias_at(const T* b, int64_t k) {
  return b ? b[k] : T(0);
}

// g: (B, 4H) slice of step t: x W_ih^T + h W_hh^T on entry, i f g o on exit.
template <typename T>
__global__ void lstm_fwd_kernel(int64_t B, int64_t H, int64_t t, const int64_t* __restrict__ lengths,
                                T* __restrict__ g, const T* __restrict__ b_ih, const T* __restrict__ b_hh,
                                const T* __restrict__ hp, const T* __restrict__ cp, T* __restrict__ h,
                                T* __restrict__ c) {
  const int64_t n = B * H;
  for (int64_t idx = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; idx < n; idx += (int64_t)gridDim.x * blockDim.x) {
    const int64_t b = idx / H, j = idx - b * H;
    T* gr = g + b * 4 * H;
    const T i = sigm(gr[j] + bias_at(b_ih, j) + bias_at(b_hh, j));
    const T f = sigm(gr[H + j] + bias_at(b_ih, H + j) + bias_at(b_hh, H + j));
    const T gg = tanh(gr[2 * H + j] + bias_at(b_ih, 2 * H + j) + bias_at(b_hh, 2 * H + j));
    const T o = sigm(gr[3 * H + j] + bias_at(b_ih, 3 * H + j) + bias_at(b_hh, 3 * H + j));
    gr[j] = i;
    gr[H + j] = f;
    gr[2 * H + j] = gg;
    gr[3 * H + j] = o;
    if (row_active(lengths, b, t)) {
      const T cn = f * cp[idx] + i * gg;
      c[idx] = cn;
      h[idx] = o * tanh(cn);
    } else {
      c[idx] = cp[idx];
      h[idx] = hp[idx];
    }
  }
}

// g: (B, 4H) slice: x W_ih^T in the first 3H columns on entry, r z n (W_hn h + b_hn) on exit;
// gh: (B, 3H) = h W_hh^T.
template <typename T>
__global__ void gru_fwd_kernel(int64_t B, int64_t H, int64_t t, const int64_t* __restrict__ lengths,
                               T* __restrict__ g, const T* __restrict__ gh, const T* __restrict__ b_ih,
                               const T* __restrict__ b_hh, const T* __restrict__ hp, T* __restrict__ h) {
  const int64_t n = B * H;
  for (int64_t idx = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; idx < n; idx += (int64_t)gridDim.x * blockDim.x) {
    const int64_t b = idx / H, j = idx - b * H;
    T* gr = g + b * 4 * H;
    const T* hr = gh + b * 3 * H;
    const T r = sigm(gr[j] + bias_at(b_ih, j) + hr[j] + bias_at(b_hh, j));
    const T z = sigm(gr[H + j] + bias_at(b_ih, H + j) + hr[H + j] + bias_at(b_hh, H + j));
    const T ghn = hr[2 * H + j] + bias_at(b_hh, 2 * H + j);
    const T nn = tanh(gr[2 * H + j] + bias_at(b_ih, 2 * H + j) + r * ghn);
    gr[j] = r;
    gr[H + j] = z;
    gr[2 * H + j] = nn;
    gr[3 * H + j] = ghn;
    h[idx] = row_active(lengths, b, t) ? nn + z * (hp[idx] - nn) : hp[idx];
  }
}

// h: (B, H) slice of hs: x W_ih^T + h_prev W_hh^T on entry, the new state on exit.
template <typename T>
__global__ void elman_fwd_kernel(int64_t B, int64_t H, int64_t t, const int64_t* __restrict__ lengths, bool relu,
                                 const T* __restrict__ b_ih, const T* __restrict__ b_hh, const T* __restrict__ hp,
                                 T* __restrict__ h) {
  const int64_t n = B * H;
  for (int64_t idx = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; idx < n; idx += (int64_t)gridDim.x * blockDim.x) {
    const int64_t b = idx / H, j = idx - b * H;
    const T a = h[idx] + bias_at(b_ih, j) + bias_at(b_hh, j);
    const T y = relu ? (a < T(0) ? T(0) : a) : tanh(a);  // relu keeps NaN, as std::max on the CPU
    h[idx] = row_active(lengths, b, t) ? y : hp[idx];
  }
}

template <typename T>
__device__ __forceinline__ T grad_at(const T* go, int64_t idx) {
  return go ? go[idx] : T(0);
}

// dh, dc (B, H): running state gradients; dg (B, 4H) slice of step t.
template <typename T>
__global__ void lstm_bwd_kernel(int64_t B, int64_t H, int64_t t, const int64_t* __restrict__ lengths,
                                const T* __restrict__ g, const T* __restrict__ c, const T* __restrict__ cp,
                                const T* __restrict__ go, T* __restrict__ dh, T* __restrict__ dc,
                                T* __restrict__ dg) {
  const int64_t n = B * H;
  for (int64_t idx = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; idx < n; idx += (int64_t)gridDim.x * blockDim.x) {
    const int64_t b = idx / H, j = idx - b * H;
    const T* gr = g + b * 4 * H;
    T* d = dg + b * 4 * H;
    if (!row_active(lengths, b, t)) {
      d[j] = d[H + j] = d[2 * H + j] = d[3 * H + j] = T(0);
      continue;
    }
    const T i = gr[j], f = gr[H + j], gg = gr[2 * H + j], o = gr[3 * H + j];
    const T tc = tanh(c[idx]);
    const T dhj = dh[idx] + grad_at(go, idx);
    const T dct = dc[idx] + dhj * o * (T(1) - tc * tc);
    d[j] = dct * gg * i * (T(1) - i);
    d[H + j] = dct * cp[idx] * f * (T(1) - f);
    d[2 * H + j] = dct * i * (T(1) - gg * gg);
    d[3 * H + j] = dhj * tc * o * (T(1) - o);
    dc[idx] = dct * f;
    dh[idx] = T(0);
  }
}

// dgx, dgh (B, 3H) slices of step t: input-side / recurrent-side pre-activation gradients.
template <typename T>
__global__ void gru_bwd_kernel(int64_t B, int64_t H, int64_t t, const int64_t* __restrict__ lengths,
                               const T* __restrict__ g, const T* __restrict__ hp, const T* __restrict__ go,
                               T* __restrict__ dh, T* __restrict__ dgx, T* __restrict__ dgh) {
  const int64_t n = B * H;
  for (int64_t idx = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; idx < n; idx += (int64_t)gridDim.x * blockDim.x) {
    const int64_t b = idx / H, j = idx - b * H;
    T* dx = dgx + b * 3 * H;
    T* dr = dgh + b * 3 * H;
    if (!row_active(lengths, b, t)) {
      dx[j] = dx[H + j] = dx[2 * H + j] = T(0);
      dr[j] = dr[H + j] = dr[2 * H + j] = T(0);
      continue;
    }
    const T* gr = g + b * 4 * H;
    const T r = gr[j], z = gr[H + j], nn = gr[2 * H + j], ghn = gr[3 * H + j];
    const T dhj = dh[idx] + grad_at(go, idx);
    const T dan = dhj * (T(1) - z) * (T(1) - nn * nn);
    const T dar = dan * ghn * r * (T(1) - r);
    const T daz = dhj * (hp[idx] - nn) * z * (T(1) - z);
    dx[j] = dar;
    dx[H + j] = daz;
    dx[2 * H + j] = dan;
    dr[j] = dar;
    dr[H + j] = daz;
    dr[2 * H + j] = dan * r;
    dh[idx] = dhj * z;
  }
}

template <typename T>
__global__ void elman_bwd_kernel(int64_t B, int64_t H, int64_t t, const int64_t* __restrict__ lengths, bool relu,
                                 const T* __restrict__ y, const T* __restrict__ go, T* __restrict__ dh,
                                 T* __restrict__ dg) {
  const int64_t n = B * H;
  for (int64_t idx = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; idx < n; idx += (int64_t)gridDim.x * blockDim.x) {
    const int64_t b = idx / H;
    if (!row_active(lengths, b, t)) {
      dg[idx] = T(0);
      continue;
    }
    const T d = dh[idx] + grad_at(go, idx);
    dg[idx] = relu ? (y[idx] <= T(0) ? T(0) : d) : d * (T(1) - y[idx] * y[idx]);
    dh[idx] = T(0);
  }
}

template <typename T>
void copy_or_zero(T* dst, const T* src, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  if (src)
    DK_CUDA_CHECK(cudaMemcpyAsync(dst, src, n * sizeof(T), cudaMemcpyDeviceToDevice, stream));
  else
    DK_CUDA_CHECK(cudaMemsetAsync(dst, 0, n * sizeof(T), stream));
}

}  // namespace

template <typename T>
void rnn_forward(Cell cell, const RnnSeq<T>& s, T* hs, T* cs, T* saved, T* work, cudaStream_t stream) {
  const int64_t S = s.steps, B = s.batch, I = s.input, H = s.hidden, GH = cell_gates(cell) * H;
  if (S == 0 || B == 0) return;
  const bool lstm = cell == Cell::lstm, gru = cell == Cell::gru, relu = cell == Cell::rnn_relu;
  T* P = lstm || gru ? saved : hs;
  const int64_t ldp = lstm || gru ? 4 * H : H;
  gemm<T>(false, true, S * B, GH, I, T(1), s.x, I, s.w_ih, I, T(0), P, ldp, stream);
  const unsigned grid = grid_for(B * H, kBlock);
  for (int64_t k = 0; k < S; ++k) {
    const int64_t t = s.reverse ? S - 1 - k : k;
    const int64_t tp = s.reverse ? t + 1 : t - 1;
    const T* hp = k == 0 ? s.h0 : hs + tp * B * H;
    T* h = hs + t * B * H;
    T* pt = P + t * B * ldp;
    if (gru)
      gemm<T>(false, true, B, GH, H, T(1), hp, H, s.w_hh, H, T(0), work, GH, stream);
    else
      gemm<T>(false, true, B, GH, H, T(1), hp, H, s.w_hh, H, T(1), pt, ldp, stream);
    if (lstm) {
      const T* cp = k == 0 ? s.c0 : cs + tp * B * H;
      DK_LAUNCH(lstm_fwd_kernel<T>, grid, kBlock, 0, stream)(B, H, t, s.lengths, pt, s.b_ih, s.b_hh, hp, cp, h,
                                                            cs + t * B * H);
    } else if (gru) {
      DK_LAUNCH(gru_fwd_kernel<T>, grid, kBlock, 0, stream)(B, H, t, s.lengths, pt, work, s.b_ih, s.b_hh, hp, h);
    } else {
      DK_LAUNCH(elman_fwd_kernel<T>, grid, kBlock, 0, stream)(B, H, t, s.lengths, relu, s.b_ih, s.b_hh, hp, h);
    }
    DK_CUDA_CHECK_LAUNCH();
  }
}

template <typename T>
void rnn_backward(Cell cell, const RnnSeq<T>& s, const T* hs, const T* cs, const T* saved, const T* grad_hs,
                  const T* grad_hn, const T* grad_cn, T* dx, T* dh0, T* dc0, T* dw_ih, T* dw_hh, T* db_ih,
                  T* db_hh, T* work, cudaStream_t stream) {
  const int64_t S = s.steps, B = s.batch, I = s.input, H = s.hidden, GH = cell_gates(cell) * H;
  const bool lstm = cell == Cell::lstm, gru = cell == Cell::gru, relu = cell == Cell::rnn_relu;
  copy_or_zero(dh0, grad_hn, B * H, stream);
  if (lstm) copy_or_zero(dc0, grad_cn, B * H, stream);
  if (S == 0 || B == 0) {
    copy_or_zero<T>(dx, nullptr, S * B * I, stream);
    copy_or_zero<T>(dw_ih, nullptr, GH * I, stream);
    copy_or_zero<T>(dw_hh, nullptr, GH * H, stream);
    if (db_ih) copy_or_zero<T>(db_ih, nullptr, GH, stream);
    if (db_hh) copy_or_zero<T>(db_hh, nullptr, GH, stream);
    return;
  }
  T* dgx = work;
  T* dgh = gru ? work + S * B * GH : work;
  const unsigned grid = grid_for(B * H, kBlock);
  for (int64_t k = 0; k < S; ++k) {
    const int64_t t = s.reverse ? k : S - 1 - k;
    const int64_t tp = s.reverse ? t + 1 : t - 1;
    const bool first = k == S - 1;
    const T* hp = first ? s.h0 : hs + tp * B * H;
    const T* go = grad_hs ? grad_hs + t * B * H : nullptr;
    if (lstm) {
      const T* cp = first ? s.c0 : cs + tp * B * H;
      DK_LAUNCH(lstm_bwd_kernel<T>, grid, kBlock, 0, stream)(B, H, t, s.lengths, saved + t * B * 4 * H, cs + t * B * H,
                                                            cp, go, dh0, dc0, dgx + t * B * GH);
    } else if (gru) {
      DK_LAUNCH(gru_bwd_kernel<T>, grid, kBlock, 0, stream)(B, H, t, s.lengths, saved + t * B * 4 * H, hp, go, dh0,
                                                           dgx + t * B * GH, dgh + t * B * GH);
    } else {
      DK_LAUNCH(elman_bwd_kernel<T>, grid, kBlock, 0, stream)(B, H, t, s.lengths, relu, hs + t * B * H, go, dh0,
                                                             dgx + t * B * GH);
    }
    DK_CUDA_CHECK_LAUNCH();
    gemm<T>(false, false, B, H, GH, T(1), dgh + t * B * GH, GH, s.w_hh, H, T(1), dh0, H, stream);
  }
  gemm<T>(false, false, S * B, I, GH, T(1), dgx, GH, s.w_ih, I, T(0), dx, I, stream);
  gemm<T>(true, false, GH, I, S * B, T(1), dgx, GH, s.x, I, T(0), dw_ih, I, stream);
  const int64_t t0 = s.reverse ? S - 1 : 0;
  gemm<T>(true, false, GH, H, B, T(1), dgh + t0 * B * GH, GH, s.h0, H, T(0), dw_hh, H, stream);
  if (S > 1)
    gemm<T>(true, false, GH, H, (S - 1) * B, T(1), dgh + (s.reverse ? 0 : B * GH), GH, hs + (s.reverse ? B * H : 0),
            H, T(1), dw_hh, H, stream);
  if (db_ih) column_sum<T>(S * B, GH, dgx, GH, db_ih, stream);
  if (db_hh) column_sum<T>(S * B, GH, dgh, GH, db_hh, stream);
}

template void rnn_forward<float>(Cell, const RnnSeq<float>&, float*, float*, float*, float*, cudaStream_t);
template void rnn_forward<double>(Cell, const RnnSeq<double>&, double*, double*, double*, double*, cudaStream_t);
template void rnn_backward<float>(Cell, const RnnSeq<float>&, const float*, const float*, const float*,
                                  const float*, const float*, const float*, float*, float*, float*, float*, float*,
                                  float*, float*, float*, cudaStream_t);
template void rnn_backward<double>(Cell, const RnnSeq<double>&, const double*, const double*, const double*,
                                   const double*, const double*, const double*, double*, double*, double*, double*,
                                   double*, double*, double*, double*, cudaStream_t);

}  // namespace dk::cuda
