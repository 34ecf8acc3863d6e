// Distances between points: cdist (every row of x1 against every row of x2, batched) and
// pairwise_distance (row i against row i), forward and backward, float32 and float64.
//
// Euclidean cdist, x1 (B, P, M), x2 (B, R, M), out (B, P, R), computed as PyTorch's "mm" path:
//   s_ij = ||x1_i||^2 + ||x2_j||^2 - 2 x1_i . x2_j
// the dot products by one GEMM per batch (cpu/gemm, alpha = -2) and the norms by one pass
// over each row, so the O(P R M) work runs at GEMM speed. The price is cancellation: s_ij
// carries an absolute error of about eps * (n1_i + n2_j), which for near points is large next
// to s_ij itself (at coincident points it leaves a distance of ~sqrt(eps) * |x| where the
// answer is 0, and a gradient (x1 - x2) / d of noise over noise). So every pair with
//   s_ij < (n1_i + n2_j) / 4         (closer than half the points' norm scale)
// is recomputed directly as sum_k (x1_ik - x2_jk)^2. Elsewhere the GEMM form's relative error
// is within a small factor (8 eps in s) of the direct sum's; and coincident points give exactly
// 0. Pairs with a non-finite norm (an inf or NaN coordinate) are summed directly too, so an
// infinite coordinate gives inf (the GEMM form: inf - inf = NaN) and NaN stays NaN; the rule is
// core/distance_kind.h's direct_pair, shared with the CUDA kernels. Negative s (rounding) is
// clamped at 0. On clustered data (embeddings of
// one identity) the near pairs cost M FMAs each outside the GEMM; on spread data there are none.
//
// The backward of sum(g * out): with c_ij = 2 g_ij (squared) or g_ij / d_ij (0 at d_ij = 0,
// the minimum-norm subgradient; PyTorch's mm path instead divides by sqrt(1e-30) there),
//   gx1_i = sum_j c_ij (x1_i - x2_j) = rowsum(C)_i x1_i - (C @ x2)_i
//   gx2_j = -sum_i c_ij (x1_i - x2_j) = colsum(C)_j x2_j - (C^T @ x1)_j
// again by two GEMMs over the far pairs (C with near entries zeroed, held in `work`), and the
// near pairs' terms added directly (the GEMM form would cancel the same way the forward does).
// Rows are split over threads for the row passes, blocks of 16 columns for the column pass
// (each row of C read a cache line at a time): no atomics, deterministic for any thread count.
// The elementwise passes (norms added, clamp and root, the coefficients) are branch-free loops
// cloned per instruction set (DK_CLONES) that also flag the rows holding a near pair; only
// those rows are searched for near pairs. Measured against torch.cdist (1 thread, float32):
// forward 2048x2048x128 0.9x its time, forward+backward 1024x1024x128 0.73x.
//
// Other p (0, 1, inf, any p > 0) are summed directly per pair (no GEMM form exists), threads
// over rows of the output; the backward recomputes each difference (once per output row for
// gx1, once per column for gx2) instead of storing a (P, R, M) tensor.
#include "cpu/distance.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "core/distance_kind.h"
#include "core/parallel.h"
#include "cpu/gemm.h"
#include "cpu/simd.h"
#include "cpu/vec_math.h"

namespace dk::cpu {
namespace {

template <typename T>
DK_INLINE T sign(T v) {
  return T((v > T(0)) - (v < T(0)));
}

// ||a - b + eps||_p over M coordinates.
template <Lp K, typename T>
DK_INLINE T lp_distance(const T* a, const T* b, int64_t M, T p, T eps) {
  if constexpr (K == Lp::inf) {
    T m = T(0);
    for (int64_t k = 0; k < M; ++k) {
      const T d = std::abs(a[k] - b[k] + eps);
      m = (d > m || d != d) ? d : m;  // NaN sticks
    }
    return m;
  } else {
    const T s = lane_sum<T>(M, [&](int64_t k) {
      const T d = a[k] - b[k] + eps;
      if constexpr (K == Lp::zero) return T(d != T(0));
      if constexpr (K == Lp::one) return std::abs(d);
      if constexpr (K == Lp::two) return d * d;
      if constexpr (K == Lp::general) return std::pow(std::abs(d), p);
    });
    if constexpr (K == Lp::two) return std::sqrt(s);
    if constexpr (K == Lp::general) return std::pow(s, T(1) / p);
    return s;
  }
}

// d(dist)/d(diff) for one coordinate difference `d` of a pair at distance D.
template <Lp K, typename T>
DK_INLINE T lp_grad(T d, T D, T p) {
  if constexpr (K == Lp::zero) return T(0);
  if constexpr (K == Lp::one) return sign(d);
  if constexpr (K == Lp::two) return D == T(0) ? T(0) : d / D;
  if constexpr (K == Lp::inf) return std::abs(d) == D ? sign(d) : T(0);
  if constexpr (K == Lp::general) {
    if (D == T(0) || (p < T(1) && d == T(0))) return T(0);
    return sign(d) * std::pow(std::abs(d), p - T(1)) / std::pow(D, p - T(1));
  }
}

// Rows per thread worth splitting for rows costing `cost` flops each.
int64_t grain_for(int64_t cost) { return std::max<int64_t>(1, (int64_t(1) << 15) / std::max<int64_t>(cost, 1)); }

template <typename T>
void squared_norms(const T* x, int64_t rows, int64_t M, T* out) {
  parallel_for(0, rows, grain_for(M), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const T* r = x + i * M;
      out[i] = lane_sum<T>(M, [&](int64_t k) { return r[k] * r[k]; });
    }
  });
}

template <typename T>
DK_INLINE T squared_difference(const T* a, const T* b, int64_t M) {
  return lane_sum<T>(M, [&](int64_t k) {
    const T d = a[k] - b[k];
    return d * d;
  });
}

// c_ij of the backward (see the top of the file) from the stored output value.
template <typename T>
DK_INLINE T euclidean_coefficient(T g, T dist, bool squared) {
  if (squared) return T(2) * g;
  return dist == T(0) ? T(0) : g / dist;
}

// One row of the backward's far-pair coefficients (see far_coefficients below); branch-free so
// that it vectorizes: the division runs on every lane and the select drops what is not wanted.
template <bool kSquared, typename T>
DK_INLINE bool far_coefficients_row(const T* __restrict g, const T* __restrict d, T n1i, const T* __restrict n2,
                                    T* __restrict C, int64_t R) {
  int near = 0;
  for (int64_t j = 0; j < R; ++j) {
    const T dj = d[j];
    const int nj = direct_pair(kSquared ? dj : dj * dj, n1i, n2[j]);
    const T c = kSquared ? T(2) * g[j] : g[j] / dj;
    const int drop = kSquared ? nj : (nj | (dj == T(0)));
    C[j] = drop ? T(0) : c;
    near |= nj;
  }
  return near;
}

// Row passes of the Euclidean epilogues, written as plain loops the compiler vectorizes and
// cloned per instruction set (DK_CLONES needs non-template functions: one overload per type).
//   add_norms:        row[j] += n1i + n2[j]; returns whether some pair of the row is summed directly
//   clamp_root:       row[j] = sqrt(max(row[j], 0)) (no root when squared); NaN stays NaN
//   far_coefficients: C[j] = c_ij for GEMM pairs, 0 for direct ones; returns whether some is direct
#define DK_ROW_PASSES(T)                                                                               \
  DK_CLONES bool add_norms(T* __restrict row, T n1i, const T* __restrict n2, int64_t R) {             \
    int near = 0;                                                                                      \
    for (int64_t j = 0; j < R; ++j) {                                                                  \
      const T s = row[j] + n1i + n2[j];                                                                \
      near |= direct_pair(s, n1i, n2[j]);                                                              \
      row[j] = s;                                                                                      \
    }                                                                                                  \
    return near;                                                                                       \
  }                                                                                                    \
  DK_CLONES void clamp_root(T* __restrict row, int64_t R, bool squared) {                              \
    if (squared) {                                                                                     \
      for (int64_t j = 0; j < R; ++j) row[j] = row[j] < T(0) ? T(0) : row[j];                          \
    } else {                                                                                           \
      for (int64_t j = 0; j < R; ++j) row[j] = std::sqrt(row[j] < T(0) ? T(0) : row[j]);               \
    }                                                                                                  \
  }                                                                                                    \
  DK_CLONES bool far_coefficients(const T* __restrict g, const T* __restrict d, T n1i,                 \
                                  const T* __restrict n2, T* __restrict C, int64_t R, bool squared) {  \
    return squared ? far_coefficients_row<true>(g, d, n1i, n2, C, R)                                   \
                   : far_coefficients_row<false>(g, d, n1i, n2, C, R);                                 \
  }
DK_ROW_PASSES(float)
DK_ROW_PASSES(double)
#undef DK_ROW_PASSES

}  // namespace

template <typename T>
void cdist_euclidean_forward(const T* x1, const T* x2, T* out, T* work, int64_t B, int64_t P, int64_t R, int64_t M,
                             bool squared) {
  for (int64_t b = 0; b < B; ++b) {
    const T* a = x1 + b * P * M;
    const T* c = x2 + b * R * M;
    T* o = out + b * P * R;
    T* n1 = work + b * (P + R);
    T* n2 = n1 + P;
    squared_norms(a, P, M, n1);
    squared_norms(c, R, M, n2);
    if (P == 0 || R == 0) continue;
    if (M == 0) {
      std::fill(o, o + P * R, T(0));
      continue;
    }
    gemm<T>(false, true, P, R, M, T(-2), a, M, c, M, T(0), o, R);  // o = -2 x1 x2^T
    parallel_for(0, P, grain_for(R * 4), [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        T* row = o + i * R;
        if (add_norms(row, n1[i], n2, R))
          for (int64_t j = 0; j < R; ++j)
            if (direct_pair(row[j], n1[i], n2[j])) row[j] = squared_difference(a + i * M, c + j * M, M);
        clamp_root(row, R, squared);
      }
    });
  }
}

template <typename T>
void cdist_euclidean_backward(const T* g, const T* x1, const T* x2, const T* dist, T* gx1, T* gx2, T* work, int64_t B,
                              int64_t P, int64_t R, int64_t M, bool squared) {
  if (M == 0) return;
  for (int64_t b = 0; b < B; ++b) {
    const T* a = x1 + b * P * M;
    const T* c = x2 + b * R * M;
    const T* gb = g + b * P * R;
    const T* db = dist + b * P * R;
    T* ga = gx1 + b * P * M;
    T* gc = gx2 + b * R * M;
    if (P == 0 || R == 0) {
      std::fill(ga, ga + P * M, T(0));
      std::fill(gc, gc + R * M, T(0));
      continue;
    }
    T* C = work;  // (P, R) coefficients of the far pairs
    T* n1 = work + P * R;
    T* n2 = n1 + P;
    T* row_near = n2 + R;  // (P,) whether row i has a near pair (0 or 1)
    squared_norms(a, P, M, n1);
    squared_norms(c, R, M, n2);
    auto near = [&](int64_t i, int64_t j) {
      const T d = db[i * R + j];
      return direct_pair(squared ? d : d * d, n1[i], n2[j]);
    };
    parallel_for(0, P, grain_for(R * 4), [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i)
        row_near[i] = far_coefficients(gb + i * R, db + i * R, n1[i], n2, C + i * R, R, squared);
    });
    gemm<T>(false, false, P, M, R, T(-1), C, R, c, M, T(0), ga, M);  // gx1 = -C @ x2
    gemm<T>(true, false, R, M, P, T(-1), C, R, a, M, T(0), gc, M);   // gx2 = -C^T @ x1
    parallel_for(0, P, grain_for(R * 2), [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        const T* Ci = C + i * R;
        const T rs = lane_sum<T>(R, [&](int64_t j) { return Ci[j]; });
        const T* ai = a + i * M;
        T* gi = ga + i * M;
        for (int64_t k = 0; k < M; ++k) gi[k] += rs * ai[k];
        for (int64_t j = 0; j < R && row_near[i]; ++j) {
          if (!near(i, j)) continue;
          const T cij = euclidean_coefficient(gb[i * R + j], db[i * R + j], squared);
          const T* cj = c + j * M;
          for (int64_t k = 0; k < M; ++k) gi[k] += cij * (ai[k] - cj[k]);
        }
      }
    });
    // Columns in blocks of kColumns, walking down the rows: each row of C and dist is read a
    // cache line at a time instead of one strided element per column.
    constexpr int64_t kColumns = 16;
    parallel_for(0, (R + kColumns - 1) / kColumns, grain_for(P * kColumns * 2), [&](int64_t lo, int64_t hi) {
      for (int64_t jb = lo; jb < hi; ++jb) {
        const int64_t j0 = jb * kColumns, j1 = std::min(R, j0 + kColumns);
        T cs[kColumns] = {};
        for (int64_t i = 0; i < P; ++i) {
          const T* Ci = C + i * R;
          for (int64_t j = j0; j < j1; ++j) cs[j - j0] += Ci[j];
          for (int64_t j = j0; j < j1 && row_near[i]; ++j) {
            if (!near(i, j)) continue;
            const T cij = euclidean_coefficient(gb[i * R + j], db[i * R + j], squared);
            const T* ai = a + i * M;
            const T* cj = c + j * M;
            T* gj = gc + j * M;
            for (int64_t k = 0; k < M; ++k) gj[k] -= cij * (ai[k] - cj[k]);
          }
        }
        for (int64_t j = j0; j < j1; ++j) {
          const T* cj = c + j * M;
          T* gj = gc + j * M;
          for (int64_t k = 0; k < M; ++k) gj[k] += cs[j - j0] * cj[k];
        }
      }
    });
  }
}

template <typename T>
void cdist_lp_forward(const T* x1, const T* x2, T* out, int64_t B, int64_t P, int64_t R, int64_t M, double p) {
  dispatch_lp(p, [&](auto kind) {
    constexpr Lp K = decltype(kind)::value;
    parallel_for(0, B * P, grain_for(R * M), [&](int64_t lo, int64_t hi) {
      for (int64_t bi = lo; bi < hi; ++bi) {
        const int64_t b = bi / P;
        const T* a = x1 + bi * M;
        const T* c = x2 + b * R * M;
        T* o = out + bi * R;
        for (int64_t j = 0; j < R; ++j) o[j] = lp_distance<K, T>(a, c + j * M, M, T(p), T(0));
      }
    });
  });
}

template <typename T>
void cdist_lp_backward(const T* g, const T* x1, const T* x2, const T* dist, T* gx1, T* gx2, int64_t B, int64_t P,
                       int64_t R, int64_t M, double p) {
  dispatch_lp(p, [&](auto kind) {
    constexpr Lp K = decltype(kind)::value;
    const T pp = T(p);
    parallel_for(0, B * P, grain_for(R * M), [&](int64_t lo, int64_t hi) {  // gx1: one row i each
      for (int64_t bi = lo; bi < hi; ++bi) {
        const int64_t b = bi / P;
        const T* a = x1 + bi * M;
        T* ga = gx1 + bi * M;
        std::fill(ga, ga + M, T(0));
        for (int64_t j = 0; j < R; ++j) {
          const T gij = g[bi * R + j], D = dist[bi * R + j];
          const T* c = x2 + (b * R + j) * M;
          for (int64_t k = 0; k < M; ++k) ga[k] += gij * lp_grad<K, T>(a[k] - c[k], D, pp);
        }
      }
    });
    parallel_for(0, B * R, grain_for(P * M), [&](int64_t lo, int64_t hi) {  // gx2: one row j each
      for (int64_t bj = lo; bj < hi; ++bj) {
        const int64_t b = bj / R, j = bj - b * R;
        const T* c = x2 + bj * M;
        T* gc = gx2 + bj * M;
        std::fill(gc, gc + M, T(0));
        for (int64_t i = 0; i < P; ++i) {
          const int64_t ij = (b * P + i) * R + j;
          const T gij = g[ij], D = dist[ij];
          const T* a = x1 + (b * P + i) * M;
          for (int64_t k = 0; k < M; ++k) gc[k] -= gij * lp_grad<K, T>(a[k] - c[k], D, pp);
        }
      }
    });
  });
}

template <typename T>
void pairwise_distance_forward(const T* x1, const T* x2, T* out, int64_t N, int64_t M, double p, double eps) {
  dispatch_lp(p, [&](auto kind) {
    constexpr Lp K = decltype(kind)::value;
    parallel_for(0, N, grain_for(M), [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) out[i] = lp_distance<K, T>(x1 + i * M, x2 + i * M, M, T(p), T(eps));
    });
  });
}

template <typename T>
void pairwise_distance_backward(const T* g, const T* x1, const T* x2, const T* dist, T* gx1, int64_t N, int64_t M,
                                double p, double eps) {
  dispatch_lp(p, [&](auto kind) {
    constexpr Lp K = decltype(kind)::value;
    parallel_for(0, N, grain_for(M), [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        const T* a = x1 + i * M;
        const T* c = x2 + i * M;
        for (int64_t k = 0; k < M; ++k)
          gx1[i * M + k] = g[i] * lp_grad<K, T>(a[k] - c[k] + T(eps), dist[i], T(p));
      }
    });
  });
}

#define DK_INSTANTIATE(T)                                                                                         \
  template void cdist_euclidean_forward<T>(const T*, const T*, T*, T*, int64_t, int64_t, int64_t, int64_t, bool); \
  template void cdist_euclidean_backward<T>(const T*, const T*, const T*, const T*, T*, T*, T*, int64_t, int64_t,  \
                                            int64_t, int64_t, bool);                                              \
  template void cdist_lp_forward<T>(const T*, const T*, T*, int64_t, int64_t, int64_t, int64_t, double);          \
  template void cdist_lp_backward<T>(const T*, const T*, const T*, const T*, T*, T*, int64_t, int64_t, int64_t,   \
                                     int64_t, double);                                                            \
  template void pairwise_distance_forward<T>(const T*, const T*, T*, int64_t, int64_t, double, double);           \
  template void pairwise_distance_backward<T>(const T*, const T*, const T*, const T*, T*, int64_t, int64_t, double, \
                                              double);
DK_INSTANTIATE(float)
DK_INSTANTIATE(double)
#undef DK_INSTANTIATE

}  // namespace dk::cpu
