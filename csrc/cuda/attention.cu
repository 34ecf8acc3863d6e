// Fused scaled dot-product attention on the GPU, forward and backward, float32 and float64.
//
// Layouts as on the CPU (csrc/cpu/attention.cpp): q (batch, L, D), k (batch, S, D),
// v (batch, S, Dv), out (batch, L, Dv), lse (batch, L) float64, mask (M, L, S) via mask_index.
//
// Forward (FlashAttention's tiling, one warp per query row): a block of kWarps warps owns
// kRowsPerBlock query rows of one batch item (grid: batch × query tiles, flattened in x). Key
// and value tiles of kTile (= warp size) rows go through shared memory; lane j scores key j of
// the tile against the row (K rows padded to D+1 so the 32 lanes hit 32 banks), a warp
// reduction gives the tile max and sum, and the online softmax (running max m, sum l in
// registers; the output accumulator in shared memory, lanes owning columns) rescales by
// exp(m_old − m_new). Scores exist only as one value per lane: never L × S. Causal tiles above
// the diagonal are skipped (the loop stops at the block's last row). Rows with no allowed key
// write zeros and lse = −inf; a NaN score makes its row NaN (the max propagates NaN, unlike
// fmax), as on the CPU and in PyTorch.
//
// Backward (recomputing P = exp(s − lse) from the saved lse, never storing it):
//   delta_kernel: delta_i = <dO_i, O_i>, one thread per row (dP's summation order);
//   dkv_kernel:   one warp per key tile, lane j owns key j's dK and dV rows (shared memory) and
//                 walks the query rows that can see the tile, so dK and dV need no atomics;
//   dq_kernel:    the forward's layout with dS_ij = P_ij (dP_ij − delta_i) in place of P.
// No tensor cores: these kernels serve float32/float64 (training and gradient checks); a
// float16/bfloat16 MMA path is not written.
#include <climits>
#include <cmath>
#include <stdexcept>
#include <string>

#include "cuda/attention.h"
#include "cuda/cuda_check.h"
#include "cuda/launch.cuh"

namespace dk::cuda {
namespace {

constexpr int kTile = 32;          // keys per shared-memory tile = lanes of a warp
constexpr int kWarps = 4;          // warps per block (forward, dq)
constexpr int kRowsPerWarp = 4;
constexpr int kRowsPerBlock = kWarps * kRowsPerWarp;
constexpr unsigned kFull = 0xffffffffu;

template <typename T>
__device__ __forceinline__ T neg_inf() {
  return -static_cast<T>(INFINITY);
}

// max(a, b) that is NaN when either is (fmax returns the other operand).
template <typename T>
__device__ __forceinline__ T max_nan(T a, T b) {
  return a > b || a != a ? a : b;
}

template <typename T>
__device__ __forceinline__ T warp_max(T x) {
  for (int o = 16; o > 0; o >>= 1) x = max_nan(x, __shfl_xor_sync(kFull, x, o));
  return x;
}

template <typename T>
__device__ __forceinline__ T warp_sum(T x) {
  for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(kFull, x, o);
  return x;
}

struct MaskRef {
  AttnMask kind;
  const void* data;
  const int64_t* index;
  int64_t count;
};

// Score of query row qi and key j of batch item b after mask and causal rule (-inf: forbidden).
template <typename T>
__device__ __forceinline__ T apply_mask(T s, const MaskRef& m, bool causal, int64_t b, int64_t qi, int64_t j,
                                        int64_t L, int64_t S) {
  if (causal && j > qi) return neg_inf<T>();
  if (m.kind == AttnMask::none) return s;
  const int64_t mi = m.index[b];
  if (mi < 0 || mi >= m.count) return neg_inf<T>();
  const int64_t off = (mi * L + qi) * S + j;
  if (m.kind == AttnMask::boolean) return static_cast<const uint8_t*>(m.data)[off] ? s : neg_inf<T>();
  return s + static_cast<const T*>(m.data)[off];
}

// exp(s - lse) with lse split into two T values so float32 loses nothing; 0 when lse = -inf.
template <typename T>
__device__ __forceinline__ T prob(T s, double lse) {
  if (lse == -INFINITY) return T(0);
  const T hi = static_cast<T>(lse);
  const T lo = static_cast<T>(lse - static_cast<double>(hi));
  return exp((s - hi) - lo);
}

template <typename T>
__global__ void fwd_kernel(AttnDims d, const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                           MaskRef mask, bool causal, T scale, T* __restrict__ out, double* __restrict__ lse) {
  DK_DYNAMIC_SHARED(unsigned char, smem);
  const int64_t L = d.L, S = d.S, D = d.D, Dv = d.Dv;
  T* Ks = reinterpret_cast<T*>(smem);        // (kTile, D + 1)
  T* Vs = Ks + kTile * (D + 1);              // (kTile, Dv)
  T* Qs = Vs + kTile * Dv;                   // (kRowsPerBlock, D)
  T* Os = Qs + kRowsPerBlock * D;            // (kRowsPerBlock, Dv)
  T* Ps = Os + kRowsPerBlock * Dv;           // (kWarps, kTile)
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t ntiles = (L + kRowsPerBlock - 1) / kRowsPerBlock;
  const int64_t b = blockIdx.x / ntiles, q0 = (blockIdx.x % ntiles) * kRowsPerBlock;
  const int64_t rows = min(static_cast<int64_t>(kRowsPerBlock), L - q0);
  for (int64_t i = threadIdx.x; i < rows * D; i += blockDim.x) Qs[i] = q[(b * L + q0) * D + i];
  for (int64_t i = threadIdx.x; i < kRowsPerBlock * Dv; i += blockDim.x) Os[i] = T(0);
  T m[kRowsPerWarp], l[kRowsPerWarp];
#pragma unroll
  for (int rr = 0; rr < kRowsPerWarp; ++rr) {
    m[rr] = neg_inf<T>();
    l[rr] = T(0);
  }
  const int64_t kend = causal ? min(S, q0 + rows) : S;
  for (int64_t k0 = 0; k0 < kend; k0 += kTile) {
    const int64_t cols = min(static_cast<int64_t>(kTile), kend - k0);
    __syncthreads();  // the previous tile is consumed (first pass: Qs, Os initialized)
    for (int64_t i = threadIdx.x; i < cols * D; i += blockDim.x)
      Ks[(i / D) * (D + 1) + i % D] = k[(b * S + k0) * D + i];
    for (int64_t i = threadIdx.x; i < cols * Dv; i += blockDim.x) Vs[i] = v[(b * S + k0) * Dv + i];
    __syncthreads();
#pragma unroll
    for (int rr = 0; rr < kRowsPerWarp; ++rr) {
      const int r = warp + rr * kWarps;
      if (r >= rows) continue;  // warp-uniform
      const int64_t qi = q0 + r;
      T s = neg_inf<T>();
      if (lane < cols) {
        T acc = T(0);
        for (int64_t dd = 0; dd < D; ++dd) acc += Qs[r * D + dd] * Ks[lane * (D + 1) + dd];
        s = apply_mask(acc * scale, mask, causal, b, qi, k0 + lane, L, S);
      }
      const T mnew = max_nan(m[rr], warp_max(s));
      if (mnew == neg_inf<T>()) continue;  // warp-uniform: nothing allowed yet in this row
      const T alpha = exp(m[rr] - mnew);
      const T p = exp(s - mnew);
      l[rr] = l[rr] * alpha + warp_sum(p);
      m[rr] = mnew;
      Ps[warp * kTile + lane] = p;
      __syncwarp();
      for (int64_t c = lane; c < Dv; c += 32) {
        T acc = Os[r * Dv + c] * alpha;
        for (int64_t j = 0; j < cols; ++j) acc += Ps[warp * kTile + j] * Vs[j * Dv + c];
        Os[r * Dv + c] = acc;
      }
      __syncwarp();  // Ps is rewritten by the next row
    }
  }
  __syncthreads();  // with no key tile at all (S == 0), Os was zeroed by other warps
#pragma unroll
  for (int rr = 0; rr < kRowsPerWarp; ++rr) {
    const int r = warp + rr * kWarps;
    if (r >= rows) continue;
    // l = 0: no allowed key (zeros, lse = -inf); l NaN: a NaN score (NaN out and lse)
    const T inv = l[rr] == T(0) ? T(0) : T(1) / l[rr];
    for (int64_t c = lane; c < Dv; c += 32)
      out[(b * L + q0 + r) * Dv + c] = l[rr] == T(0) ? T(0) : Os[r * Dv + c] * inv;
    if (lane == 0)
      lse[b * L + q0 + r] = l[rr] == T(0) ? -INFINITY : static_cast<double>(m[rr]) + log(static_cast<double>(l[rr]));
  }
}

// One thread per row, summing sequentially in the same order (and with the same explicit fused
// multiply-adds) as dp = <dO_i, V_j> in dkv_kernel / dq_kernel: where the softmax is one-hot
// (O_i = V_j exactly) dp - delta then cancels exactly, as on the CPU; a lane-strided warp sum
// left a few ulp of |dp| in dS and hence in dK, dQ (whose true value there is 0).
template <typename T>
__global__ void delta_kernel(int64_t rows, int64_t Dv, const T* __restrict__ grad_out, const T* __restrict__ out,
                             T* __restrict__ delta) {
  const int64_t row = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (row >= rows) return;
  T acc = T(0);
  for (int64_t c = 0; c < Dv; ++c) acc = fma(grad_out[row * Dv + c], out[row * Dv + c], acc);
  delta[row] = acc;
}

template <typename T>
__global__ void dkv_kernel(AttnDims d, const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                           const double* __restrict__ lse, const T* __restrict__ grad_out,
                           const T* __restrict__ delta, MaskRef mask, bool causal, T scale, T* __restrict__ dk,
                           T* __restrict__ dv) {
  DK_DYNAMIC_SHARED(unsigned char, smem);
  const int64_t L = d.L, S = d.S, D = d.D, Dv = d.Dv;
  T* Ks = reinterpret_cast<T*>(smem);  // (kTile, D + 1); lane j owns row j of all four
  T* Vs = Ks + kTile * (D + 1);        // (kTile, Dv + 1)
  T* dKs = Vs + kTile * (Dv + 1);      // (kTile, D + 1)
  T* dVs = dKs + kTile * (D + 1);      // (kTile, Dv + 1)
  const int lane = threadIdx.x;
  const int64_t ntiles = (S + kTile - 1) / kTile;
  const int64_t b = blockIdx.x / ntiles, k0 = (blockIdx.x % ntiles) * kTile;
  const int64_t cols = min(static_cast<int64_t>(kTile), S - k0);
  if (lane >= cols) return;  // no shuffles or block barriers below
  const int64_t j = k0 + lane;
  T* kr = Ks + lane * (D + 1);
  T* vr = Vs + lane * (Dv + 1);
  T* dkr = dKs + lane * (D + 1);
  T* dvr = dVs + lane * (Dv + 1);
  for (int64_t dd = 0; dd < D; ++dd) {
    kr[dd] = k[(b * S + j) * D + dd];
    dkr[dd] = T(0);
  }
  for (int64_t c = 0; c < Dv; ++c) {
    vr[c] = v[(b * S + j) * Dv + c];
    dvr[c] = T(0);
  }
  for (int64_t i = causal ? j : 0; i < L; ++i) {
    const T* qr = q + (b * L + i) * D;
    const T* gr = grad_out + (b * L + i) * Dv;
    T acc = T(0);
    for (int64_t dd = 0; dd < D; ++dd) acc += qr[dd] * kr[dd];
    const T s = apply_mask(acc * scale, mask, causal, b, i, j, L, S);
    const T p = s == neg_inf<T>() ? T(0) : prob(s, lse[b * L + i]);
    if (p == T(0)) continue;
    T dp = T(0);
    for (int64_t c = 0; c < Dv; ++c) {
      dp = fma(gr[c], vr[c], dp);  // delta_kernel's order and rounding
      dvr[c] += p * gr[c];
    }
    const T ds = p * (dp - delta[b * L + i]);
    for (int64_t dd = 0; dd < D; ++dd) dkr[dd] += ds * qr[dd];
  }
  for (int64_t dd = 0; dd < D; ++dd) dk[(b * S + j) * D + dd] = scale * dkr[dd];
  for (int64_t c = 0; c < Dv; ++c) dv[(b * S + j) * Dv + c] = dvr[c];
}

template <typename T>
__global__ void dq_kernel(AttnDims d, const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                          const double* __restrict__ lse, const T* __restrict__ grad_out,
                          const T* __restrict__ delta, MaskRef mask, bool causal, T scale, T* __restrict__ dq) {
  DK_DYNAMIC_SHARED(unsigned char, smem);
  const int64_t L = d.L, S = d.S, D = d.D, Dv = d.Dv;
  T* Ks = reinterpret_cast<T*>(smem);        // (kTile, D + 1)
  T* Vs = Ks + kTile * (D + 1);              // (kTile, Dv + 1)
  T* Qs = Vs + kTile * (Dv + 1);             // (kRowsPerBlock, D)
  T* Gs = Qs + kRowsPerBlock * D;            // (kRowsPerBlock, Dv)
  T* dQs = Gs + kRowsPerBlock * Dv;          // (kRowsPerBlock, D)
  T* Ps = dQs + kRowsPerBlock * D;           // (kWarps, kTile)
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t ntiles = (L + kRowsPerBlock - 1) / kRowsPerBlock;
  const int64_t b = blockIdx.x / ntiles, q0 = (blockIdx.x % ntiles) * kRowsPerBlock;
  const int64_t rows = min(static_cast<int64_t>(kRowsPerBlock), L - q0);
  for (int64_t i = threadIdx.x; i < rows * D; i += blockDim.x) {
    Qs[i] = q[(b * L + q0) * D + i];
    dQs[i] = T(0);
  }
  for (int64_t i = threadIdx.x; i < rows * Dv; i += blockDim.x) Gs[i] = grad_out[(b * L + q0) * Dv + i];
  const int64_t kend = causal ? min(S, q0 + rows) : S;
  for (int64_t k0 = 0; k0 < kend; k0 += kTile) {
    const int64_t cols = min(static_cast<int64_t>(kTile), kend - k0);
    __syncthreads();
    for (int64_t i = threadIdx.x; i < cols * D; i += blockDim.x)
      Ks[(i / D) * (D + 1) + i % D] = k[(b * S + k0) * D + i];
    for (int64_t i = threadIdx.x; i < cols * Dv; i += blockDim.x)
      Vs[(i / Dv) * (Dv + 1) + i % Dv] = v[(b * S + k0) * Dv + i];
    __syncthreads();
#pragma unroll
    for (int rr = 0; rr < kRowsPerWarp; ++rr) {
      const int r = warp + rr * kWarps;
      if (r >= rows) continue;  // warp-uniform
      const int64_t qi = q0 + r;
      T ds = T(0);
      if (lane < cols) {
        T acc = T(0);
        for (int64_t dd = 0; dd < D; ++dd) acc += Qs[r * D + dd] * Ks[lane * (D + 1) + dd];
        const T s = apply_mask(acc * scale, mask, causal, b, qi, k0 + lane, L, S);
        const T p = s == neg_inf<T>() ? T(0) : prob(s, lse[b * L + qi]);
        if (p != T(0)) {
          T dp = T(0);
          for (int64_t c = 0; c < Dv; ++c) dp = fma(Gs[r * Dv + c], Vs[lane * (Dv + 1) + c], dp);  // as delta
          ds = p * (dp - delta[b * L + qi]);
        }
      }
      Ps[warp * kTile + lane] = ds;
      __syncwarp();
      for (int64_t c = lane; c < D; c += 32) {
        T acc = dQs[r * D + c];
        for (int64_t jj = 0; jj < cols; ++jj) acc += Ps[warp * kTile + jj] * Ks[jj * (D + 1) + c];
        dQs[r * D + c] = acc;
      }
      __syncwarp();
    }
  }
  __syncthreads();
  for (int64_t i = threadIdx.x; i < rows * D; i += blockDim.x) dq[(b * L + q0) * D + i] = scale * dQs[i];
}

// Allows `bytes` of dynamic shared memory for `kernel` (opting in above 48 KiB), or throws.
template <typename K>
void allow_smem(K kernel, size_t bytes, const AttnDims& d) {
  if (bytes <= 48 * 1024) return;
  int dev = 0, optin = 0;
  DK_CUDA_CHECK(cudaGetDevice(&dev));
  DK_CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
  if (bytes > static_cast<size_t>(optin))
    throw std::invalid_argument("attention: D=" + std::to_string(d.D) + ", Dv=" + std::to_string(d.Dv) +
                                " need " + std::to_string(bytes) + " bytes of shared memory per block, the GPU allows " +
                                std::to_string(optin));
  DK_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
}

unsigned grid_of(int64_t blocks) {
  if (blocks > INT_MAX) throw std::invalid_argument("attention: too many (batch, tile) blocks for one launch");
  return static_cast<unsigned>(blocks);
}

}  // namespace

template <typename T>
void attention_forward(const AttnDims& d, const T* q, const T* k, const T* v, AttnMask mask_kind, const void* mask,
                       const int64_t* mask_index, bool causal, T scale, T* out, double* lse, cudaStream_t stream) {
  if (d.batch == 0 || d.L == 0) return;
  const size_t bytes = sizeof(T) * (kTile * (d.D + 1) + kTile * d.Dv + kRowsPerBlock * d.D +
                                    kRowsPerBlock * d.Dv + kWarps * kTile);
  allow_smem(fwd_kernel<T>, bytes, d);
  const int64_t blocks = d.batch * ((d.L + kRowsPerBlock - 1) / kRowsPerBlock);
  DK_LAUNCH(fwd_kernel<T>, grid_of(blocks), kWarps * 32, bytes, stream)(
      d, q, k, v, MaskRef{mask_kind, mask, mask_index, d.M}, causal, scale, out, lse);
  DK_CUDA_CHECK_LAUNCH();
}

template <typename T>
void attention_backward(const AttnDims& d, const T* q, const T* k, const T* v, const T* out, const double* lse,
                        const T* grad_out, AttnMask mask_kind, const void* mask, const int64_t* mask_index,
                        bool causal, T scale, T* delta, T* dq, T* dk, T* dv, cudaStream_t stream) {
  if (d.batch == 0) return;
  const MaskRef m{mask_kind, mask, mask_index, d.M};
  const int64_t rows = d.batch * d.L;
  if (rows > 0) {
    constexpr int kDeltaThreads = 256;
    DK_LAUNCH(delta_kernel<T>, grid_of((rows + kDeltaThreads - 1) / kDeltaThreads), kDeltaThreads, 0, stream)(
        rows, d.Dv, grad_out, out, delta);
    DK_CUDA_CHECK_LAUNCH();
    const size_t bytes = sizeof(T) * (kTile * (d.D + 1) + kTile * (d.Dv + 1) + 2 * kRowsPerBlock * d.D +
                                      kRowsPerBlock * d.Dv + kWarps * kTile);
    allow_smem(dq_kernel<T>, bytes, d);
    const int64_t blocks = d.batch * ((d.L + kRowsPerBlock - 1) / kRowsPerBlock);
    DK_LAUNCH(dq_kernel<T>, grid_of(blocks), kWarps * 32, bytes, stream)(d, q, k, v, lse, grad_out, delta, m, causal,
                                                                          scale, dq);
    DK_CUDA_CHECK_LAUNCH();
  }
  if (d.S > 0) {
    // With L == 0 the loop over query rows is empty and dK = dV = 0 are written.
    const size_t bytes = sizeof(T) * 2 * kTile * (d.D + 1 + d.Dv + 1);
    allow_smem(dkv_kernel<T>, bytes, d);
    const int64_t blocks = d.batch * ((d.S + kTile - 1) / kTile);
    DK_LAUNCH(dkv_kernel<T>, grid_of(blocks), kTile, bytes, stream)(d, q, k, v, lse, grad_out, delta, m, causal, scale,
                                                                    dk, dv);
    DK_CUDA_CHECK_LAUNCH();
  }
}

template void attention_forward<float>(const AttnDims&, const float*, const float*, const float*, AttnMask,
                                       const void*, const int64_t*, bool, float, float*, double*,
                                       cudaStream_t);
template void attention_forward<double>(const AttnDims&, const double*, const double*, const double*, AttnMask,
                                        const void*, const int64_t*, bool, double, double*, double*,
                                        cudaStream_t);
template void attention_backward<float>(const AttnDims&, const float*, const float*, const float*, const float*,
                                        const double*, const float*, AttnMask, const void*, const int64_t*,
                                        bool, float, float*, float*, float*, float*, cudaStream_t);
template void attention_backward<double>(const AttnDims&, const double*, const double*, const double*,
                                         const double*, const double*, const double*, AttnMask, const void*,
                                         const int64_t*, bool, double, double*, double*, double*,
                                         double*, cudaStream_t);

}  // namespace dk::cuda
