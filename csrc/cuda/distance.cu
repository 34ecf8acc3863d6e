// Distances on the GPU: cdist (Euclidean through cuda/gemm plus norms, other p directly) and
// pairwise_distance, forward and backward. Formulas, the rule for pairs summed directly (near
// pairs, s < (n1 + n2) / 4, and pairs with a non-finite norm: core/distance_kind.h) and the
// subgradient conventions are those of csrc/cpu/distance.cpp.
//
// Euclidean forward: squared norms (a warp per row, shuffle sum) into work = [n1 (B*P) | n2
// (B*R)], one batched GEMM out = -2 x1 x2^T, then an epilogue thread per output adds the norms,
// recomputes near pairs directly (M FMAs, only for those threads), clamps and takes the root.
// Euclidean backward: work = [C (B*P*R) | n1 | n2 | unused (B*P)]; a thread per pair writes the far pairs'
// coefficients c_ij into C (0 for near pairs), two batched GEMMs give -C @ x2 and -C^T @ x1,
// and one fix-up kernel per side adds rowsum(C) x1 (colsum(C) x2) and the near pairs' direct
// terms: a block per output row, threads over the M features, each walking the R (P) pairs
// of its row — the pair values are the same address for every thread (broadcast loads) and the
// feature reads are coalesced. No atomics: deterministic.
// Other p: a thread per output pair sums over the features (direct loops, not tiled); the
// backward runs a thread per (row, feature) of gx1 walking the R pairs, and the same for gx2.
// pairwise_distance: a warp per row (shuffle reduction: sum, or max for p = inf), and an
// elementwise backward.
#include <cmath>
#include <type_traits>

#include "core/distance_kind.h"
#include "cuda/cuda_check.h"
#include "cuda/distance.h"
#include "cuda/gemm.h"
#include "cuda/launch.cuh"

namespace dk::cuda {
namespace {

constexpr unsigned kBlock = 256;
constexpr unsigned kRowThreads = 128;  // fix-up kernels: threads over the features of one row
constexpr unsigned kFull = 0xffffffffu;

template <typename T>
__device__ __forceinline__ T sign(T v) {
  return T((v > T(0)) - (v < T(0)));
}

// One coordinate difference's contribution, how contributions combine, and the final norm.
template <Lp K, typename T>
__device__ __forceinline__ T lp_term(T d, T p) {
  if constexpr (K == Lp::zero) return d != T(0) ? T(1) : T(0);
  else if constexpr (K == Lp::one || K == Lp::inf) return fabs(d);
  else if constexpr (K == Lp::two) return d * d;
  else return pow(fabs(d), p);
}

template <Lp K, typename T>
__device__ __forceinline__ T lp_combine(T acc, T t) {
  if constexpr (K == Lp::inf) return (t > acc || t != t) ? t : acc;  // NaN sticks
  else return acc + t;
}

template <Lp K, typename T>
__device__ __forceinline__ T lp_finish(T acc, T p) {
  if constexpr (K == Lp::two) return sqrt(acc);
  else if constexpr (K == Lp::general) return pow(acc, T(1) / p);
  else return acc;
}

template <Lp K, typename T>
__device__ __forceinline__ T lp_grad(T d, T D, T p) {
  if constexpr (K == Lp::zero) return T(0);
  else if constexpr (K == Lp::one) return sign(d);
  else if constexpr (K == Lp::two) return D == T(0) ? T(0) : d / D;
  else if constexpr (K == Lp::inf) return fabs(d) == D ? sign(d) : T(0);
  else {
    if (D == T(0) || (p < T(1) && d == T(0))) return T(0);
    return sign(d) * pow(fabs(d), p - T(1)) / pow(D, p - T(1));
  }
}

template <Lp K, typename T>
__device__ __forceinline__ T lp_distance(const T* a, const T* b, int64_t M, T p, T eps) {
  T acc = T(0);
  for (int64_t k = 0; k < M; ++k) acc = lp_combine<K>(acc, lp_term<K>(a[k] - b[k] + eps, p));
  return lp_finish<K>(acc, p);
}

template <typename T>
__device__ __forceinline__ T euclidean_coefficient(T g, T dist, bool squared) {
  if (squared) return T(2) * g;
  return dist == T(0) ? T(0) : g / dist;
}

// out[r] = sum_k x[r, k]^2, a warp per row.
template <typename T>
__global__ void squared_norms_kernel(const T* __restrict__ x, T* __restrict__ out, int64_t rows, int64_t M) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = ((int64_t)gridDim.x * blockDim.x) >> 5;
  for (int64_t r = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5; r < rows; r += warps) {
    T s = T(0);
    for (int64_t k = lane; k < M; k += 32) {
      const T v = x[r * M + k];
      s += v * v;
    }
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(kFull, s, o);
    if (lane == 0) out[r] = s;
  }
}

template <typename T>
void squared_norms(const T* x, T* out, int64_t rows, int64_t M, cudaStream_t stream) {
  if (rows == 0) return;
  DK_LAUNCH(squared_norms_kernel<T>, grid_for(rows * 32, kBlock), kBlock, 0, stream)(x, out, rows, M);
  DK_CUDA_CHECK_LAUNCH();
}

// out holds -2 x1_i . x2_j; adds the norms, recomputes near pairs, clamps, takes the root.
template <typename T>
__global__ void euclidean_epilogue_kernel(const T* __restrict__ x1, const T* __restrict__ x2,
                                          const T* __restrict__ n1, const T* __restrict__ n2, T* __restrict__ out,
                                          int64_t B, int64_t P, int64_t R, int64_t M, bool squared) {
  const int64_t total = B * P * R;
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < total; k += (int64_t)gridDim.x * blockDim.x) {
    const int64_t bi = k / R, j = k - bi * R, bj = (bi / P) * R + j;
    const T a = n1[bi], c = n2[bj];
    T s = out[k] + a + c;
    if (direct_pair(s, a, c)) {
      const T* u = x1 + bi * M;
      const T* v = x2 + bj * M;
      s = T(0);
      for (int64_t f = 0; f < M; ++f) {
        const T d = u[f] - v[f];
        s += d * d;
      }
    }
    s = s < T(0) ? T(0) : s;  // NaN stays NaN
    out[k] = squared ? s : sqrt(s);
  }
}

// C[k] = c_ij for far pairs, 0 for near ones.
template <typename T>
__global__ void euclidean_coefficients_kernel(const T* __restrict__ g, const T* __restrict__ dist,
                                              const T* __restrict__ n1, const T* __restrict__ n2, T* __restrict__ C,
                                              int64_t B, int64_t P, int64_t R, bool squared) {
  const int64_t total = B * P * R;
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < total; k += (int64_t)gridDim.x * blockDim.x) {
    const int64_t bi = k / R, j = k - bi * R, bj = (bi / P) * R + j;
    const T d = dist[k];
    C[k] = direct_pair(squared ? d : d * d, n1[bi], n2[bj]) ? T(0) : euclidean_coefficient(g[k], d, squared);
  }
}

// gx1[i] += rowsum(C)_i x1_i + sum over near j of c_ij (x1_i - x2_j): a block per row i.
// With kRows = false the same for gx2[j] (colsum, minus the near terms), a block per row j.
template <typename T, bool kRows>
__global__ void euclidean_fixup_kernel(const T* __restrict__ g, const T* __restrict__ dist, const T* __restrict__ x1,
                                       const T* __restrict__ x2, const T* __restrict__ n1, const T* __restrict__ n2,
                                       const T* __restrict__ C, T* __restrict__ gx, int64_t B, int64_t P, int64_t R,
                                       int64_t M, bool squared) {
  const int64_t own = kRows ? P : R, other = kRows ? R : P;
  for (int64_t row = blockIdx.x; row < B * own; row += gridDim.x) {
    const int64_t b = row / own, r = row - b * own;
    const T* self = (kRows ? x1 : x2) + row * M;
    for (int64_t f = threadIdx.x; f < M; f += blockDim.x) {
      const T xf = self[f];
      T sum = T(0), near = T(0);
      for (int64_t o = 0; o < other; ++o) {
        const int64_t i = kRows ? r : o, j = kRows ? o : r;
        const int64_t ij = (b * P + i) * R + j;
        sum += C[ij];
        const T d = dist[ij];
        if (direct_pair(squared ? d : d * d, n1[b * P + i], n2[b * R + j])) {
          const T diff = x1[(b * P + i) * M + f] - x2[(b * R + j) * M + f];
          near += euclidean_coefficient(g[ij], d, squared) * diff;
        }
      }
      gx[row * M + f] += sum * xf + (kRows ? near : -near);
    }
  }
}

template <Lp K, typename T>
__global__ void cdist_lp_kernel(const T* __restrict__ x1, const T* __restrict__ x2, T* __restrict__ out, int64_t B,
                                int64_t P, int64_t R, int64_t M, T p) {
  const int64_t total = B * P * R;
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < total; k += (int64_t)gridDim.x * blockDim.x) {
    const int64_t bi = k / R, j = k - bi * R, bj = (bi / P) * R + j;
    out[k] = lp_distance<K>(x1 + bi * M, x2 + bj * M, M, p, T(0));
  }
}

// gx1 (kRows) or gx2: a thread per (row, feature), walking the pairs of its row.
template <Lp K, typename T, bool kRows>
__global__ void cdist_lp_backward_kernel(const T* __restrict__ g, const T* __restrict__ x1, const T* __restrict__ x2,
                                         const T* __restrict__ dist, T* __restrict__ gx, int64_t B, int64_t P,
                                         int64_t R, int64_t M, T p) {
  const int64_t own = kRows ? P : R, other = kRows ? R : P, total = B * own * M;
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < total; k += (int64_t)gridDim.x * blockDim.x) {
    const int64_t row = k / M, f = k - row * M, b = row / own, r = row - b * own;
    T acc = T(0);
    for (int64_t o = 0; o < other; ++o) {
      const int64_t i = kRows ? r : o, j = kRows ? o : r;
      const int64_t ij = (b * P + i) * R + j;
      const T diff = x1[(b * P + i) * M + f] - x2[(b * R + j) * M + f];
      acc += g[ij] * lp_grad<K>(diff, dist[ij], p);
    }
    gx[k] = kRows ? acc : -acc;
  }
}

template <Lp K, typename T>
__global__ void pairwise_forward_kernel(const T* __restrict__ x1, const T* __restrict__ x2, T* __restrict__ out,
                                        int64_t N, int64_t M, T p, T eps) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = ((int64_t)gridDim.x * blockDim.x) >> 5;
  for (int64_t r = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5; r < N; r += warps) {
    T acc = T(0);
    for (int64_t f = lane; f < M; f += 32) acc = lp_combine<K>(acc, lp_term<K>(x1[r * M + f] - x2[r * M + f] + eps, p));
    for (int o = 16; o > 0; o >>= 1) acc = lp_combine<K>(acc, __shfl_xor_sync(kFull, acc, o));
    if (lane == 0) out[r] = lp_finish<K>(acc, p);
  }
}

template <Lp K, typename T>
__global__ void pairwise_backward_kernel(const T* __restrict__ g, const T* __restrict__ x1, const T* __restrict__ x2,
                                         const T* __restrict__ dist, T* __restrict__ gx1, int64_t N, int64_t M, T p,
                                         T eps) {
  const int64_t total = N * M;
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < total; k += (int64_t)gridDim.x * blockDim.x) {
    const int64_t r = k / M;
    gx1[k] = g[r] * lp_grad<K>(x1[k] - x2[k] + eps, dist[r], p);
  }
}

}  // namespace

template <typename T>
void cdist_euclidean_forward(const T* x1, const T* x2, T* out, T* work, int64_t B, int64_t P, int64_t R, int64_t M,
                             bool squared, cudaStream_t stream) {
  T* n1 = work;
  T* n2 = work + B * P;
  squared_norms(x1, n1, B * P, M, stream);
  squared_norms(x2, n2, B * R, M, stream);
  const int64_t total = B * P * R;
  if (total == 0) return;
  if (M == 0) {
    DK_CUDA_CHECK(cudaMemsetAsync(out, 0, total * sizeof(T), stream));
    return;
  }
  gemm_batched<T>(B, false, true, P, R, M, T(-2), x1, M, P * M, x2, M, R * M, T(0), nullptr, out, R, P * R, stream);
  DK_LAUNCH(euclidean_epilogue_kernel<T>, grid_for(total, kBlock), kBlock, 0, stream)(x1, x2, n1, n2, out, B, P, R, M,
                                                                                        squared);
  DK_CUDA_CHECK_LAUNCH();
}

template <typename T>
void cdist_euclidean_backward(const T* g, const T* x1, const T* x2, const T* dist, T* gx1, T* gx2, T* work, int64_t B,
                              int64_t P, int64_t R, int64_t M, bool squared, cudaStream_t stream) {
  if (B * (P + R) * M == 0) return;
  if (P == 0 || R == 0) {  // no pairs: zero gradients
    DK_CUDA_CHECK(cudaMemsetAsync(gx1, 0, B * P * M * sizeof(T), stream));
    DK_CUDA_CHECK(cudaMemsetAsync(gx2, 0, B * R * M * sizeof(T), stream));
    return;
  }
  T* C = work;
  T* n1 = work + B * P * R;
  T* n2 = n1 + B * P;
  squared_norms(x1, n1, B * P, M, stream);
  squared_norms(x2, n2, B * R, M, stream);
  DK_LAUNCH(euclidean_coefficients_kernel<T>, grid_for(B * P * R, kBlock), kBlock, 0, stream)(g, dist, n1, n2, C, B, P,
                                                                                               R, squared);
  DK_CUDA_CHECK_LAUNCH();
  gemm_batched<T>(B, false, false, P, M, R, T(-1), C, R, P * R, x2, M, R * M, T(0), nullptr, gx1, M, P * M, stream);
  gemm_batched<T>(B, true, false, R, M, P, T(-1), C, R, P * R, x1, M, P * M, T(0), nullptr, gx2, M, R * M, stream);
  DK_LAUNCH((euclidean_fixup_kernel<T, true>), grid_for(B * P * kRowThreads, kRowThreads), kRowThreads, 0, stream)(
      g, dist, x1, x2, n1, n2, C, gx1, B, P, R, M, squared);
  DK_CUDA_CHECK_LAUNCH();
  DK_LAUNCH((euclidean_fixup_kernel<T, false>), grid_for(B * R * kRowThreads, kRowThreads), kRowThreads, 0, stream)(
      g, dist, x1, x2, n1, n2, C, gx2, B, P, R, M, squared);
  DK_CUDA_CHECK_LAUNCH();
}

template <typename T>
void cdist_lp_forward(const T* x1, const T* x2, T* out, int64_t B, int64_t P, int64_t R, int64_t M, double p,
                      cudaStream_t stream) {
  const int64_t total = B * P * R;
  if (total == 0) return;
  dispatch_lp(p, [&](auto kind) {
    constexpr Lp K = decltype(kind)::value;
    DK_LAUNCH((cdist_lp_kernel<K, T>), grid_for(total, kBlock), kBlock, 0, stream)(x1, x2, out, B, P, R, M, T(p));
    DK_CUDA_CHECK_LAUNCH();
  });
}

template <typename T>
void cdist_lp_backward(const T* g, const T* x1, const T* x2, const T* dist, T* gx1, T* gx2, int64_t B, int64_t P,
                       int64_t R, int64_t M, double p, cudaStream_t stream) {
  dispatch_lp(p, [&](auto kind) {
    constexpr Lp K = decltype(kind)::value;
    if (B * P * M > 0) {
      DK_LAUNCH((cdist_lp_backward_kernel<K, T, true>), grid_for(B * P * M, kBlock), kBlock, 0, stream)(
          g, x1, x2, dist, gx1, B, P, R, M, T(p));
      DK_CUDA_CHECK_LAUNCH();
    }
    if (B * R * M > 0) {
      DK_LAUNCH((cdist_lp_backward_kernel<K, T, false>), grid_for(B * R * M, kBlock), kBlock, 0, stream)(
          g, x1, x2, dist, gx2, B, P, R, M, T(p));
      DK_CUDA_CHECK_LAUNCH();
    }
  });
}

template <typename T>
void pairwise_distance_forward(const T* x1, const T* x2, T* out, int64_t N, int64_t M, double p, double eps,
                               cudaStream_t stream) {
  if (N == 0) return;
  dispatch_lp(p, [&](auto kind) {
    constexpr Lp K = decltype(kind)::value;
    DK_LAUNCH((pairwise_forward_kernel<K, T>), grid_for(N * 32, kBlock), kBlock, 0, stream)(x1, x2, out, N, M, T(p),
                                                                                            T(eps));
    DK_CUDA_CHECK_LAUNCH();
  });
}

template <typename T>
void pairwise_distance_backward(const T* g, const T* x1, const T* x2, const T* dist, T* gx1, int64_t N, int64_t M,
                                double p, double eps, cudaStream_t stream) {
  if (N * M == 0) return;
  dispatch_lp(p, [&](auto kind) {
    constexpr Lp K = decltype(kind)::value;
    DK_LAUNCH((pairwise_backward_kernel<K, T>), grid_for(N * M, kBlock), kBlock, 0, stream)(g, x1, x2, dist, gx1, N, M,
                                                                                            T(p), T(eps));
    DK_CUDA_CHECK_LAUNCH();
  });
}

#define DK_INSTANTIATE(T)                                                                                         \
  template void cdist_euclidean_forward<T>(const T*, const T*, T*, T*, int64_t, int64_t, int64_t, int64_t, bool,  \
                                           cudaStream_t);                                                         \
  template void cdist_euclidean_backward<T>(const T*, const T*, const T*, const T*, T*, T*, T*, int64_t, int64_t,  \
                                            int64_t, int64_t, bool, cudaStream_t);                                \
  template void cdist_lp_forward<T>(const T*, const T*, T*, int64_t, int64_t, int64_t, int64_t, double,           \
                                    cudaStream_t);                                                                \
  template void cdist_lp_backward<T>(const T*, const T*, const T*, const T*, T*, T*, int64_t, int64_t, int64_t,   \
                                     int64_t, double, cudaStream_t);                                              \
  template void pairwise_distance_forward<T>(const T*, const T*, T*, int64_t, int64_t, double, double,            \
                                             cudaStream_t);                                                       \
  template void pairwise_distance_backward<T>(const T*, const T*, const T*, const T*, T*, int64_t, int64_t, double, \
                                              double, cudaStream_t);
DK_INSTANTIATE(float)
DK_INSTANTIATE(double)
#undef DK_INSTANTIATE

}  // namespace dk::cuda
