// 2-D convolution on the GPU: implicit GEMM with shared-memory tiles (no cuDNN, no cuBLAS).
//
// Layouts: x (N, C, H, W), w (K, C/G, R, S), y (N, K, P, Q), C-contiguous; G = groups.
// Each pass is a GEMM whose operands are gathered on the fly from the NCHW tensors, never
// materialized (no im2col buffer):
//   forward       y[g]  (K/G x N*P*Q)      = w[g] (K/G x C/G*R*S)  @ col(x)  (C/G*R*S x N*P*Q)
//   backward data gx[g] (C/G x N*H*W)      = w[g]^T (C/G x K/G*R*S) @ gather(gy) (K/G*R*S x N*H*W),
//                 where gather(gy)[(k, r, s), (n, h, w)] = gy[n, k, p, q] if h = p*sh - pt + r*dh
//                 and w = q*sw - pl + s*dw for integer in-range p, q (else 0) — a gather, so no
//                 atomics and no col2im race;
//   backward wt.  gw[g] (K/G x C/G*R*S)    = gy[g] (K/G x N*P*Q) @ col(x)^T (N*P*Q x C/G*R*S);
//                 the reduction (N*P*Q) is long and the output small, so it is split over
//                 blockIdx.z into `splits` partial products written to the workspace and summed
//                 by a second kernel (deterministic, no atomics).
// One kernel template runs all three: 64x64 output tile per 256-thread block, 16-deep k-steps
// through shared memory, a 4x4 register micro-tile per thread with columns strided by 16 so
// shared-memory reads are conflict-free and global stores are coalesced along (p, q). The
// gather for each thread's B column (n -> image, p, q) is decoded once per block; the operand
// "Op" structs hold the pass-specific addressing. Index math is 32-bit (the launcher checks
// every tensor has fewer than 2^31 - 128 elements). float32 and float64 (the float64 path is
// for gradient checks; same tiles).
// Transposed convolution (conv_transpose2d_*) is the adjoint: the same three passes with the
// tensors' roles swapped, plus a per-channel bias kernel (see conv.h).
#include <algorithm>
#include <climits>

#include "cuda/conv.h"
#include "cuda/cuda_check.h"
#include "cuda/launch.cuh"

namespace dk::cuda {
namespace {

constexpr int kBM = 64, kBN = 64, kBK = 16, kThreads = 256;

// Geometry in 32-bit ints for the device.
struct Geom32 {
  int N, C, H, W, K, R, S, P, Q, groups, sh, sw, pt, pl, dh, dw;
  int Cg, Kg, RS, PQ, HW, CRSg;
};

Geom32 to32(const Conv2dGeom& g) {
  // Margin: tile origins plus in-tile offsets (< 2 * 64) must not overflow either.
  auto fits = [](int64_t v) { return v < INT_MAX - 2 * kBN; };
  DK_CHECK(fits(g.N * g.C * g.HW()) && fits(g.N * g.K * g.PQ()) && fits(g.K * g.CRSg()),
           "conv2d (CUDA): tensors must have fewer than 2^31 - 128 elements");
  // The window geometry is truncated to int too: a stride >= 2^31 would become 0 (a division
  // by zero and a negative gy index in backward_data), a huge padding/dilation would wrap.
  // Bounding the padded extents bounds pt, pb, pl, pr and dilation * (kernel - 1).
  DK_CHECK(fits(g.pt) && fits(g.pb) && fits(g.pl) && fits(g.pr) && fits(g.H + g.pt + g.pb) &&
               fits(g.W + g.pl + g.pr) && fits(g.sh) && fits(g.sw),
           "conv2d (CUDA): padding, stride and padded input size must be below 2^31 - 128");
  Geom32 d;
  d.N = int(g.N), d.C = int(g.C), d.H = int(g.H), d.W = int(g.W), d.K = int(g.K), d.R = int(g.R), d.S = int(g.S);
  d.P = int(g.P), d.Q = int(g.Q), d.groups = int(g.groups), d.sh = int(g.sh), d.sw = int(g.sw);
  d.pt = int(g.pt), d.pl = int(g.pl), d.dh = int(g.dh), d.dw = int(g.dw);
  d.Cg = int(g.Cg()), d.Kg = int(g.Kg()), d.RS = int(g.R * g.S), d.PQ = int(g.PQ()), d.HW = int(g.HW());
  d.CRSg = int(g.CRSg());
  return d;
}

// ---- operand addressing per pass -------------------------------------------------------------
// a(g, m, k): the A operand (M x Kred); col(n): per-column context; b(g, k, col): the B operand
// (Kred x Ncols); store(g, split, m, n, v).

template <typename T>
struct ForwardOp {
  Geom32 d;
  const T* x;
  const T* w;
  const T* bias;
  T* y;
  struct Col {
    int img, h0, w0, pq;
  };
  __device__ Col col(int n) const {
    const int img = n / d.PQ, pq = n - img * d.PQ, p = pq / d.Q, q = pq - p * d.Q;
    return {img, p * d.sh - d.pt, q * d.sw - d.pl, pq};
  }
  __device__ T a(int g, int m, int k) const { return w[(size_t)(g * d.Kg + m) * d.CRSg + k]; }
  __device__ T b(int g, int k, const Col& c) const {
    const int ch = k / d.RS, rs = k - ch * d.RS, r = rs / d.S, s = rs - r * d.S;
    const int h = c.h0 + r * d.dh, wc = c.w0 + s * d.dw;
    if (h < 0 || h >= d.H || wc < 0 || wc >= d.W) return T(0);
    return x[((size_t)(c.img * d.C + g * d.Cg + ch) * d.H + h) * d.W + wc];
  }
  __device__ void store(int g, int, int m, int n, T v) const {
    const int img = n / d.PQ, pq = n - img * d.PQ, k = g * d.Kg + m;
    y[(size_t)(img * d.K + k) * d.PQ + pq] = bias ? v + bias[k] : v;
  }
};

template <typename T>
struct BackwardDataOp {
  Geom32 d;
  const T* gy;
  const T* w;
  T* gx;
  struct Col {
    int img, h, w;
  };
  __device__ Col col(int n) const {
    const int img = n / d.HW, hw = n - img * d.HW, h = hw / d.W;
    return {img, h, hw - h * d.W};
  }
  __device__ T a(int g, int m, int k) const {  // w[g*Kg + kk, m, r, s] with k = (kk, r, s)
    const int kk = k / d.RS, rs = k - kk * d.RS;
    return w[((size_t)(g * d.Kg + kk) * d.Cg + m) * d.RS + rs];
  }
  __device__ T b(int g, int k, const Col& c) const {
    const int kk = k / d.RS, rs = k - kk * d.RS, r = rs / d.S, s = rs - r * d.S;
    const int ph = c.h + d.pt - r * d.dh, pw = c.w + d.pl - s * d.dw;
    if (ph < 0 || pw < 0) return T(0);
    const int p = ph / d.sh, q = pw / d.sw;
    if (p * d.sh != ph || q * d.sw != pw || p >= d.P || q >= d.Q) return T(0);
    return gy[((size_t)(c.img * d.K + g * d.Kg + kk) * d.P + p) * d.Q + q];
  }
  __device__ void store(int g, int, int m, int n, T v) const {
    const int img = n / d.HW, hw = n - img * d.HW;
    gx[(size_t)(img * d.C + g * d.Cg + m) * d.HW + hw] = v;
  }
};

template <typename T>
struct BackwardWeightOp {
  Geom32 d;
  const T* gy;
  const T* x;
  T* out;             // gw, or the partial products (splits, K, C/G*R*S)
  int64_t split_stride;
  struct Col {
    int ch, r, s;
  };
  __device__ Col col(int n) const {
    const int ch = n / d.RS, rs = n - ch * d.RS, r = rs / d.S;
    return {ch, r, rs - r * d.S};
  }
  __device__ T a(int g, int m, int k) const {  // gy[img, g*Kg + m, pq] with k = (img, pq)
    const int img = k / d.PQ, pq = k - img * d.PQ;
    return gy[(size_t)(img * d.K + g * d.Kg + m) * d.PQ + pq];
  }
  __device__ T b(int g, int k, const Col& c) const {
    const int img = k / d.PQ, pq = k - img * d.PQ, p = pq / d.Q, q = pq - p * d.Q;
    const int h = p * d.sh - d.pt + c.r * d.dh, wc = q * d.sw - d.pl + c.s * d.dw;
    if (h < 0 || h >= d.H || wc < 0 || wc >= d.W) return T(0);
    return x[((size_t)(img * d.C + g * d.Cg + c.ch) * d.H + h) * d.W + wc];
  }
  __device__ void store(int g, int split, int m, int n, T v) const {
    out[split * split_stride + (size_t)(g * d.Kg + m) * d.CRSg + n] = v;
  }
};

// C (M x Ncols) = A (M x Kred) @ B (Kred x Ncols) per group; blockIdx.z = group * splits + split,
// the split covering reduction indices [split * kchunk, min(Kred, (split + 1) * kchunk)).
template <typename T, class Op>
__global__ void __launch_bounds__(kThreads) igemm_kernel(Op op, int M, int Ncols, int Kred, int splits, int kchunk) {
  DK_SHARED(T, As, [kBK][kBM + 1]);
  DK_SHARED(T, Bs, [kBK][kBN]);
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int g = blockIdx.z / splits, split = blockIdx.z % splits;
  const int m0 = blockIdx.y * kBM, n0 = blockIdx.x * kBN;
  // In 64 bits: with the chunk rounded up to kBK, split * kchunk (+ kchunk) may pass INT_MAX
  // when Kred is near it; such a split is empty (kbeg = kend = Kred).
  const long long kb64 = (long long)split * kchunk;
  const int kbeg = (int)min((long long)Kred, kb64), kend = (int)min((long long)Kred, kb64 + kchunk);

  // Each thread loads B column n0 + tid % 64 (rows tid / 64 + 4i) and A elements
  // (row (tid + 256 i) / 16, k tid % 16): decode its B column once.
  const int bn = tid % kBN, bk = tid / kBN;
  const bool bn_ok = n0 + bn < Ncols;
  const typename Op::Col bcol = op.col(bn_ok ? n0 + bn : 0);
  const int ak = tid % kBK;

  T acc[4][4];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) acc[i][j] = T(0);

  for (int k0 = kbeg; k0 < kend; k0 += kBK) {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int am = (tid + i * kThreads) / kBK;
      const int m = m0 + am, k = k0 + ak;
      As[ak][am] = (m < M && k < kend) ? op.a(g, m, k) : T(0);
      const int kb = k0 + bk + 4 * i;
      Bs[bk + 4 * i][bn] = (bn_ok && kb < kend) ? op.b(g, kb, bcol) : T(0);
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kBK; ++kk) {
      T av[4], bv[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) av[i] = As[kk][ty + 16 * i];
#pragma unroll
      for (int j = 0; j < 4; ++j) bv[j] = Bs[kk][tx + 16 * j];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] += av[i] * bv[j];
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int m = m0 + ty + 16 * i;
    if (m >= M) continue;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int n = n0 + tx + 16 * j;
      if (n < Ncols) op.store(g, split, m, n, acc[i][j]);
    }
  }
}

template <typename T, class Op>
void launch_igemm(const Op& op, int M, int Ncols, int Kred, int groups, int splits, cudaStream_t stream) {
  const int kchunk = (Kred + splits - 1) / splits;
  const int kchunk_aligned = (kchunk + kBK - 1) / kBK * kBK;
  dim3 grid((Ncols + kBN - 1) / kBN, (M + kBM - 1) / kBM, groups * splits);
  DK_CHECK(grid.y <= 65535u && grid.z <= 65535u, "conv2d (CUDA): too many channels or groups for one launch");
  DK_LAUNCH((igemm_kernel<T, Op>), grid, kThreads, 0, stream)(op, M, Ncols, Kred, splits, kchunk_aligned);
  DK_CUDA_CHECK_LAUNCH();
}

// Split count of the weight-gradient reduction: enough blocks to fill a large GPU (~500),
// each split still at least 256 reduction steps long. A pure function of the geometry, so the
// workspace query and the launch agree.
int weight_splits(const Conv2dGeom& g) {
  const int64_t tiles = ((g.Kg() + kBM - 1) / kBM) * ((g.CRSg() + kBN - 1) / kBN) * g.groups;
  const int64_t red = g.N * g.PQ();
  int64_t s = std::min<int64_t>(512 / std::max<int64_t>(1, tiles), red / 256);
  s = std::min<int64_t>(s, 65535 / std::max<int64_t>(1, g.groups));
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(s, 64)));
}

template <typename T>
__global__ void sum_splits_kernel(const T* __restrict__ part, T* __restrict__ out, int64_t n, int splits) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    T acc = T(0);
    for (int s = 0; s < splits; ++s) acc += part[s * n + i];
    out[i] = acc;
  }
}

// gb[k] = sum over images and positions of gy[img, k, :]; one block per channel, accumulated in
// double, tree-reduced in shared memory.
template <typename T>
__global__ void bias_grad_kernel(const T* __restrict__ gy, T* __restrict__ gb, int N, int K, int PQ) {
  DK_SHARED(double, red, [kThreads]);
  const int k = blockIdx.x;
  double acc = 0;
  const int64_t total = (int64_t)N * PQ;
  for (int64_t i = threadIdx.x; i < total; i += blockDim.x) {
    const int64_t img = i / PQ, pq = i - img * PQ;
    acc += double(gy[(img * K + k) * PQ + pq]);
  }
  red[threadIdx.x] = acc;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) red[threadIdx.x] += red[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) gb[k] = T(red[0]);
}

// y[n, c, :] += b[c] for y (N, C, HW), grid-stride over all elements.
template <typename T>
__global__ void add_channel_bias_kernel(T* __restrict__ y, const T* __restrict__ b, int64_t n, int64_t C, int64_t HW) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    y[i] += b[(i / HW) % C];
}

template <typename T>
__global__ void fill_kernel(T* __restrict__ p, int64_t n, T v) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    p[i] = v;
}

template <typename T>
void fill(T* p, int64_t n, T v, cudaStream_t stream) {
  if (n == 0) return;
  DK_LAUNCH(fill_kernel<T>, grid_for(n, kThreads), kThreads, 0, stream)(p, n, v);
  DK_CUDA_CHECK_LAUNCH();
}

}  // namespace

int64_t conv2d_workspace_size(const Conv2dGeom& g, ConvPass pass) {
  if (pass != ConvPass::backward_weight) return 0;
  const int s = weight_splits(g);
  return s > 1 ? int64_t(s) * g.K * g.CRSg() : 0;
}

template <typename T>
void conv2d_forward(const Conv2dGeom& g, const T* x, const T* w, const T* b, T* y, T*, int64_t, cudaStream_t stream) {
  if (g.N * g.K * g.PQ() == 0) return;
  const Geom32 d = to32(g);
  launch_igemm<T>(ForwardOp<T>{d, x, w, b, y}, d.Kg, d.N * d.PQ, d.CRSg, d.groups, 1, stream);
}

template <typename T>
void conv2d_backward_data(const Conv2dGeom& g, const T* gy, const T* w, T* gx, T*, int64_t, cudaStream_t stream) {
  if (g.N * g.C * g.HW() == 0) return;
  const Geom32 d = to32(g);
  launch_igemm<T>(BackwardDataOp<T>{d, gy, w, gx}, d.Cg, d.N * d.HW, d.Kg * d.RS, d.groups, 1, stream);
}

template <typename T>
void conv2d_backward_weight(const Conv2dGeom& g, const T* gy, const T* x, T* gw, T* gb, T* ws, int64_t ws_size,
                            cudaStream_t stream) {
  const Geom32 d = to32(g);
  if (gb && g.K > 0) {
    DK_LAUNCH(bias_grad_kernel<T>, static_cast<unsigned>(g.K), kThreads, 0, stream)(gy, gb, d.N, d.K, d.PQ);
    DK_CUDA_CHECK_LAUNCH();
  }
  const int64_t wsize = g.K * g.CRSg();
  if (wsize == 0) return;
  if (g.N * g.PQ() == 0) {
    fill(gw, wsize, T(0), stream);
    return;
  }
  const int splits = weight_splits(g);
  DK_CHECK(splits == 1 || ws_size >= splits * wsize, "conv2d_backward_weight (CUDA): workspace too small");
  BackwardWeightOp<T> op{d, gy, x, splits > 1 ? ws : gw, wsize};
  launch_igemm<T>(op, d.Kg, d.CRSg, d.N * d.PQ, d.groups, splits, stream);
  if (splits > 1) {
    DK_LAUNCH(sum_splits_kernel<T>, grid_for(wsize, kThreads), kThreads, 0, stream)(ws, gw, wsize, splits);
    DK_CUDA_CHECK_LAUNCH();
  }
}

int64_t conv_transpose2d_workspace_size(const Conv2dGeom& g, ConvPass pass) {
  return conv2d_workspace_size(g, conv_transpose_pass(pass));
}

template <typename T>
void conv_transpose2d_forward(const Conv2dGeom& g, const T* x, const T* w, const T* b, T* y, T* ws,
                              int64_t ws_size, cudaStream_t stream) {
  conv2d_backward_data<T>(g, x, w, y, ws, ws_size, stream);
  const int64_t n = g.N * g.C * g.HW();
  if (!b || n == 0) return;
  DK_LAUNCH(add_channel_bias_kernel<T>, grid_for(n, kThreads), kThreads, 0, stream)(y, b, n, g.C, g.HW());
  DK_CUDA_CHECK_LAUNCH();
}

template <typename T>
void conv_transpose2d_backward_data(const Conv2dGeom& g, const T* gy, const T* w, T* gx, T* ws, int64_t ws_size,
                                    cudaStream_t stream) {
  conv2d_forward<T>(g, gy, w, nullptr, gx, ws, ws_size, stream);
}

template <typename T>
void conv_transpose2d_backward_weight(const Conv2dGeom& g, const T* gy, const T* x, T* gw, T* gb, T* ws,
                                      int64_t ws_size, cudaStream_t stream) {
  conv2d_backward_weight<T>(g, x, gy, gw, nullptr, ws, ws_size, stream);
  if (!gb || g.C == 0) return;  // (conv2d_backward_weight checked that gy's sizes fit in int)
  DK_LAUNCH(bias_grad_kernel<T>, static_cast<unsigned>(g.C), kThreads, 0, stream)(gy, gb, int(g.N), int(g.C),
                                                                                 int(g.HW()));
  DK_CUDA_CHECK_LAUNCH();
}

#define DK_CONV_INSTANTIATE(T)                                                                                \
  template void conv2d_forward<T>(const Conv2dGeom&, const T*, const T*, const T*, T*, T*, int64_t,           \
                                  cudaStream_t);                                                              \
  template void conv2d_backward_data<T>(const Conv2dGeom&, const T*, const T*, T*, T*, int64_t, cudaStream_t); \
  template void conv2d_backward_weight<T>(const Conv2dGeom&, const T*, const T*, T*, T*, T*, int64_t,         \
                                          cudaStream_t);                                                      \
  template void conv_transpose2d_forward<T>(const Conv2dGeom&, const T*, const T*, const T*, T*, T*, int64_t, \
                                            cudaStream_t);                                                    \
  template void conv_transpose2d_backward_data<T>(const Conv2dGeom&, const T*, const T*, T*, T*, int64_t,     \
                                                  cudaStream_t);                                              \
  template void conv_transpose2d_backward_weight<T>(const Conv2dGeom&, const T*, const T*, T*, T*, T*, int64_t, \
                                                    cudaStream_t);
DK_CONV_INSTANTIATE(float)
DK_CONV_INSTANTIATE(double)
#undef DK_CONV_INSTANTIATE

}  // namespace dk::cuda
