// GEMM on the GPU: C = alpha * op(A) @ op(B) + beta * C (+ bias), float32 and float64,
// batched, on the caller's stream.
//
// Algorithm: one thread block computes a BM x BN tile of C, 256 threads, each a TM x TN
// register tile (float 128x128 tile, 8x8 per thread; double 64x64, 4x4). K advances in
// steps of BK = 8 through double-buffered shared memory: while the block multiplies tile t
// out of buffer t&1, every thread already holds its share of tile t+1 in registers and
// writes it to the other buffer afterwards; one __syncthreads per step separates
// "everyone finished reading buffer b" from "someone overwrites buffer b".
//
// Layouts: shared As[k][m] and Bs[k][n] (k-major, so a thread's TM / TN operands are
// contiguous), rows padded by 4 elements so the transposing stores of a row-major A hit
// 32 distinct banks. Global loads go along whichever dimension is contiguous in memory
// (k for A, n for B, or m / k when transposed), 16 bytes at a time (float4 / double2) when
// the base pointer is 16-byte aligned and the row stride a multiple of the vector width,
// element by element with bounds checks otherwise and at the edges of M, N and K (out-of-
// range elements load as 0, so edge tiles need no special compute path). The epilogue
// writes only in-range elements, reads C only when beta != 0, and adds the bias.
//
// Grid: x over N tiles, y over M tiles, z over the batch; M and batch are launched in
// chunks when they exceed the grid's y / z limits (65535).
#include <cstring>

#include "cuda/cuda_check.h"
#include "cuda/gemm.h"
#include "cuda/launch.cuh"

namespace dk::cuda {
namespace {

template <typename T> struct Vec16;
template <> struct Vec16<float> { using type = float4; };
template <> struct Vec16<double> { using type = double2; };

template <typename T> struct Tile;
// MIN_BLOCKS: blocks per SM asked of ptxas (__launch_bounds__). float at 2 blocks would cap
// registers at 128 and spill (ptxas -v); double fits in 128 without spills.
template <> struct Tile<float> { static constexpr int BM = 128, BN = 128, BK = 8, TM = 8, TN = 8, MIN_BLOCKS = 1; };
template <> struct Tile<double> { static constexpr int BM = 64, BN = 64, BK = 8, TM = 4, TN = 4, MIN_BLOCKS = 2; };

constexpr int kPad = 4;
constexpr unsigned kMaxGridYZ = 65535;

struct GemmArgs {
  int64_t M, N, K, lda, ldb, ldc, stride_a, stride_b, stride_c;
  bool vec_a, vec_b;  // 16-byte global loads allowed (aligned base, stride a multiple of V)
};

// Loads V consecutive elements of a row (or column) that is contiguous in memory, starting
// at index `start` of `len`, from p (which points at element `start`). Out-of-range
// elements are 0.
template <typename T, int V>
__device__ __forceinline__ void load_vec(const T* __restrict__ p, int64_t start, int64_t len, bool vec, T (&r)[V]) {
  if (vec && start + V <= len) {
    const typename Vec16<T>::type v = *reinterpret_cast<const typename Vec16<T>::type*>(p);
    memcpy(r, &v, sizeof(v));
  } else {
#pragma unroll
    for (int e = 0; e < V; ++e) r[e] = start + e < len ? p[e] : T(0);
  }
}

template <typename T, bool TA, bool TB>
__global__ void __launch_bounds__((Tile<T>::BM / Tile<T>::TM) * (Tile<T>::BN / Tile<T>::TN), Tile<T>::MIN_BLOCKS)
gemm_kernel(GemmArgs g, T alpha, const T* __restrict__ A, const T* __restrict__ B, T beta,
            const T* __restrict__ bias, T* __restrict__ C, int64_t z0) {
  constexpr int BM = Tile<T>::BM, BN = Tile<T>::BN, BK = Tile<T>::BK, TM = Tile<T>::TM, TN = Tile<T>::TN;
  constexpr int THREADS = (BM / TM) * (BN / TN);
  constexpr int V = 16 / sizeof(T);
  constexpr int VA = BM * BK / V / THREADS;  // vectors of A per thread per tile
  constexpr int VB = BN * BK / V / THREADS;
  static_assert(VA * V * THREADS == BM * BK && VB * V * THREADS == BN * BK, "tile not divisible among threads");
  static_assert(BK % V == 0 && BM % V == 0 && BN % V == 0, "vector width must divide the tile");

  DK_SHARED(T, As, [2][BK][BM + kPad]);
  DK_SHARED(T, Bs, [2][BK][BN + kPad]);

  const int tid = threadIdx.x;
  const int tx = tid % (BN / TN), ty = tid / (BN / TN);
  const int64_t bm = static_cast<int64_t>(blockIdx.y) * BM, bn = static_cast<int64_t>(blockIdx.x) * BN;
  const int64_t z = z0 + blockIdx.z;
  A += z * g.stride_a;
  B += z * g.stride_b;
  C += z * g.stride_c;

  T ra[VA][V], rb[VB][V];
  // Global -> registers for the K tile starting at k0. Vector q of this thread covers
  // V elements contiguous in memory: along k (A row-major, B transposed) or along m / n.
  auto load_tile = [&](int64_t k0) {
#pragma unroll
    for (int q = 0; q < VA; ++q) {
      const int vi = tid + q * THREADS;
      if (!TA) {  // A[m][k]
        const int kk = (vi % (BK / V)) * V, mm = vi / (BK / V);
        const int64_t gm = bm + mm, gk = k0 + kk;
        if (gm < g.M) {
          load_vec<T, V>(A + gm * g.lda + gk, gk, g.K, g.vec_a, ra[q]);
        } else {
#pragma unroll
          for (int e = 0; e < V; ++e) ra[q][e] = T(0);
        }
      } else {  // A[k][m]
        const int mm = (vi % (BM / V)) * V, kk = vi / (BM / V);
        const int64_t gm = bm + mm, gk = k0 + kk;
        if (gk < g.K) {
          load_vec<T, V>(A + gk * g.lda + gm, gm, g.M, g.vec_a, ra[q]);
        } else {
#pragma unroll
          for (int e = 0; e < V; ++e) ra[q][e] = T(0);
        }
      }
    }
#pragma unroll
    for (int q = 0; q < VB; ++q) {
      const int vi = tid + q * THREADS;
      if (!TB) {  // B[k][n]
        const int nn = (vi % (BN / V)) * V, kk = vi / (BN / V);
        const int64_t gn = bn + nn, gk = k0 + kk;
        if (gk < g.K) {
          load_vec<T, V>(B + gk * g.ldb + gn, gn, g.N, g.vec_b, rb[q]);
        } else {
#pragma unroll
          for (int e = 0; e < V; ++e) rb[q][e] = T(0);
        }
      } else {  // B[n][k]
        const int kk = (vi % (BK / V)) * V, nn = vi / (BK / V);
        const int64_t gn = bn + nn, gk = k0 + kk;
        if (gn < g.N) {
          load_vec<T, V>(B + gn * g.ldb + gk, gk, g.K, g.vec_b, rb[q]);
        } else {
#pragma unroll
          for (int e = 0; e < V; ++e) rb[q][e] = T(0);
        }
      }
    }
  };
  // Registers -> shared buffer `buf`, k-major (the same vector indexing as load_tile).
  auto store_tile = [&](int buf) {
#pragma unroll
    for (int q = 0; q < VA; ++q) {
      const int vi = tid + q * THREADS;
#pragma unroll
      for (int e = 0; e < V; ++e) {
        if (!TA) As[buf][(vi % (BK / V)) * V + e][vi / (BK / V)] = ra[q][e];
        else As[buf][vi / (BM / V)][(vi % (BM / V)) * V + e] = ra[q][e];
      }
    }
#pragma unroll
    for (int q = 0; q < VB; ++q) {
      const int vi = tid + q * THREADS;
#pragma unroll
      for (int e = 0; e < V; ++e) {
        if (!TB) Bs[buf][vi / (BN / V)][(vi % (BN / V)) * V + e] = rb[q][e];
        else Bs[buf][(vi % (BK / V)) * V + e][vi / (BK / V)] = rb[q][e];
      }
    }
  };

  T acc[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; ++i)
#pragma unroll
    for (int j = 0; j < TN; ++j) acc[i][j] = T(0);

  const int64_t ktiles = (g.K + BK - 1) / BK;
  if (ktiles > 0) {
    load_tile(0);
    store_tile(0);
    __syncthreads();
    for (int64_t t = 0; t < ktiles; ++t) {
      const int cur = static_cast<int>(t & 1);
      const bool more = t + 1 < ktiles;  // the same for every thread of the block
      if (more) load_tile((t + 1) * BK);
#pragma unroll
      for (int kk = 0; kk < BK; ++kk) {
        T af[TM], bf[TN];
#pragma unroll
        for (int i = 0; i < TM; ++i) af[i] = As[cur][kk][ty * TM + i];
#pragma unroll
        for (int j = 0; j < TN; ++j) bf[j] = Bs[cur][kk][tx * TN + j];
#pragma unroll
        for (int i = 0; i < TM; ++i)
#pragma unroll
          for (int j = 0; j < TN; ++j) acc[i][j] = fma(af[i], bf[j], acc[i][j]);
      }
      if (more) store_tile(cur ^ 1);
      __syncthreads();
    }
  }

#pragma unroll
  for (int i = 0; i < TM; ++i) {
    const int64_t gm = bm + ty * TM + i;
    if (gm >= g.M) break;
    T* c = C + gm * g.ldc;
#pragma unroll
    for (int j = 0; j < TN; ++j) {
      const int64_t gn = bn + tx * TN + j;
      if (gn < g.N) {
        T v = alpha * acc[i][j];
        if (beta != T(0)) v = fma(beta, c[gn], v);
        if (bias != nullptr) v += bias[gn];
        c[gn] = v;
      }
    }
  }
}

template <typename T, bool TA, bool TB>
void launch(const GemmArgs& g0, int64_t batch, T alpha, const T* A, const T* B, T beta, const T* bias, T* C,
            cudaStream_t stream) {
  constexpr int BM = Tile<T>::BM, BN = Tile<T>::BN;
  constexpr int THREADS = (BM / Tile<T>::TM) * (BN / Tile<T>::TN);
  const int64_t rows_per_launch = static_cast<int64_t>(kMaxGridYZ) * BM;
  const unsigned gx = static_cast<unsigned>((g0.N + BN - 1) / BN);
  for (int64_t m0 = 0; m0 < g0.M; m0 += rows_per_launch) {
    GemmArgs g = g0;
    g.M = g0.M - m0 < rows_per_launch ? g0.M - m0 : rows_per_launch;
    // Row m0 of op(A) starts m0 rows down A (m0 columns across when transposed); m0 is a
    // multiple of BM, so 16-byte alignment is kept.
    const T* a = A + (TA ? m0 : m0 * g0.lda);
    T* c = C + m0 * g0.ldc;
    const unsigned gy = static_cast<unsigned>((g.M + BM - 1) / BM);
    for (int64_t z0 = 0; z0 < batch; z0 += kMaxGridYZ) {
      const unsigned gz = static_cast<unsigned>(batch - z0 < kMaxGridYZ ? batch - z0 : kMaxGridYZ);
      DK_LAUNCH((gemm_kernel<T, TA, TB>), dim3(gx, gy, gz), THREADS, 0, stream)(g, alpha, a, B, beta, bias, c, z0);
      DK_CUDA_CHECK_LAUNCH();
    }
  }
}

template <typename T>
bool aligned16(const T* p, int64_t ld, int64_t stride) {
  constexpr int64_t V = 16 / sizeof(T);
  return reinterpret_cast<uintptr_t>(p) % 16 == 0 && ld % V == 0 && stride % V == 0;
}

// out[j] = sum_i X[i, j]: a block sums 32 columns, its 8 warps' lanes striding over rows
// with Kahan compensation (so long columns stay accurate to about one rounding), then the 8
// corrected lane sums are combined through shared memory.
template <typename T>
__global__ void column_sum_kernel(int64_t M, int64_t N, const T* __restrict__ X, int64_t ldx, T* __restrict__ out) {
  DK_SHARED(T, part, [8][33]);
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t j = static_cast<int64_t>(blockIdx.x) * 32 + tx;
  T s = T(0), comp = T(0);
  if (j < N) {
    for (int64_t i = ty; i < M; i += 8) {
      const T y = X[i * ldx + j] - comp;
      const T t = s + y;
      comp = (t - s) - y;
      s = t;
    }
  }
  part[ty][tx] = s - comp;
  __syncthreads();
  if (ty == 0 && j < N) {
    T total = part[0][tx];
#pragma unroll
    for (int r = 1; r < 8; ++r) total += part[r][tx];
    out[j] = total;
  }
}

}  // namespace

template <typename T>
void gemm_batched(int64_t batch, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                  int64_t lda, int64_t stride_a, const T* B, int64_t ldb, int64_t stride_b, T beta, const T* bias,
                  T* C, int64_t ldc, int64_t stride_c, cudaStream_t stream) {
  if (batch <= 0 || M == 0 || N == 0) return;
  const GemmArgs g{M, N, K, lda, ldb, ldc, stride_a, stride_b, stride_c,
                   aligned16(A, lda, stride_a), aligned16(B, ldb, stride_b)};
  if (!trans_a && !trans_b) launch<T, false, false>(g, batch, alpha, A, B, beta, bias, C, stream);
  else if (!trans_a && trans_b) launch<T, false, true>(g, batch, alpha, A, B, beta, bias, C, stream);
  else if (trans_a && !trans_b) launch<T, true, false>(g, batch, alpha, A, B, beta, bias, C, stream);
  else launch<T, true, true>(g, batch, alpha, A, B, beta, bias, C, stream);
}

template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc, cudaStream_t stream) {
  gemm_batched<T>(1, trans_a, trans_b, M, N, K, alpha, A, lda, 0, B, ldb, 0, beta, nullptr, C, ldc, 0, stream);
}

template <typename T>
void column_sum(int64_t M, int64_t N, const T* X, int64_t ldx, T* out, cudaStream_t stream) {
  if (N == 0) return;
  const unsigned blocks = static_cast<unsigned>((N + 31) / 32);
  DK_LAUNCH(column_sum_kernel<T>, blocks, dim3(32, 8), 0, stream)(M, N, X, ldx, out);
  DK_CUDA_CHECK_LAUNCH();
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*,
                          int64_t, float, float*, int64_t, cudaStream_t);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t, const double*,
                           int64_t, double, double*, int64_t, cudaStream_t);
template void gemm_batched<float>(int64_t, bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t,
                                  int64_t, const float*, int64_t, int64_t, float, const float*, float*, int64_t,
                                  int64_t, cudaStream_t);
template void gemm_batched<double>(int64_t, bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t,
                                   int64_t, const double*, int64_t, int64_t, double, const double*, double*,
                                   int64_t, int64_t, cudaStream_t);
template void column_sum<float>(int64_t, int64_t, const float*, int64_t, float*, cudaStream_t);
template void column_sum<double>(int64_t, int64_t, const double*, int64_t, double*, cudaStream_t);

}  // namespace dk::cuda
