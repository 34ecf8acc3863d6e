// Fused scaled dot-product attention on the CPU, forward and backward, float32 and float64.
//
// Layouts: q (batch, L, D), k (batch, S, D), v (batch, S, Dv), out (batch, L, Dv), lse (batch, L),
// mask (M, L, S) picked per batch item through mask_index (see core/attention_params.h).
//
// Forward (FlashAttention's algorithm on CPU tiles): a work item is one batch item and a block of
// kBlockQ query rows. It walks the keys in tiles of kBlockK: S = scale·(Q Kᵀ) for the tile, the
// mask / causal rule applied, then the online softmax — per row a running max m and sum l; when
// the max grows the accumulated output row and l are rescaled by exp(m_old − m_new) — and
// O += P V. Only a kBlockQ × kBlockK score tile ever exists, never L × S. With causal masking
// (top-left: query i sees keys j <= i) tiles wholly above the diagonal are never computed, so a
// causal call costs about half a full one. Items are scheduled dynamically over the threads
// (causal items differ in cost). The output row is O/l and lse = m + log l, kept in float64 for
// every input type: a float32 lse carries an absolute error of ulp(|lse|), which exp(s − lse)
// in the backward turns into a relative error of every probability (measurable at |s| ~ 10);
// the backward splits it into two floats and subtracts both. A row whose keys are all forbidden
// keeps l = 0 and gets zeros and lse = −inf instead of NaN (as PyTorch). A NaN score (a NaN in
// q, k or the additive mask) makes its row's max NaN (the max propagates NaN, unlike
// std::max) and with it the whole row's output and lse, as softmax does in PyTorch: a NaN is
// never hidden behind the "no allowed key" zeros.
//
// Backward (FlashAttention-2's): per batch item, delta_i = <dO_i, O_i> (into the caller's
// (batch, L) workspace); then for each key tile
// (owning its dK, dV accumulators) and each query tile that can see it, recompute
// P = exp(S − lse) (0 where forbidden or where lse = −inf), dP = dO Vᵀ, dS = P ∘ (dP − delta),
// dV += Pᵀ dO, dK += dSᵀ Q (times scale once at the end), dQ += scale · dS K. Threads split the batch items, so dQ
// needs no synchronisation; a problem with fewer batch items than threads uses fewer threads.
//
// The products run through one register-blocked micro-kernel (6 rows × 2 vectors, GCC vector
// extensions; A read by element, so Aᵀ operands need no transposed copy) over tiles packed
// with their column count rounded up to the vector width. The kernels are compiled three times
// (AVX-512, AVX2+FMA, baseline SSE2) and picked at run time from dk::cpu_isa(): this CPU
// family runs 512-bit FMAs at twice the 256-bit rate. float32 exp is a vectorized Cephes
// polynomial (about 1 ulp); float64 uses std::exp (its path serves gradient checks).
#include "cpu/attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "core/cpu_features.h"
#include "core/parallel.h"
#include "cpu/simd.h"

#pragma GCC diagnostic ignored "-Wpsabi"

namespace dk::cpu {
namespace {

constexpr int64_t kBlockQ = 128;  // query rows per tile
constexpr int64_t kBlockK = 64;  // keys per tile
constexpr int kMR = 6;           // micro-kernel rows
constexpr int kMaxVecBytes = 64;

inline int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

template <typename T>
constexpr T kNegInf = -std::numeric_limits<T>::infinity();

template <typename T, int Bytes>
struct VecT;
template <int Bytes>
struct VecT<float, Bytes> {
  typedef float type __attribute__((vector_size(Bytes)));
  typedef int32_t itype __attribute__((vector_size(Bytes)));
};
template <int Bytes>
struct VecT<double, Bytes> {
  typedef double type __attribute__((vector_size(Bytes)));
};

template <typename V, typename T>
DK_INLINE V vload(const T* p) {
  V v;
  std::memcpy(&v, p, sizeof(V));
  return v;
}
template <typename V, typename T>
DK_INLINE void vstore(T* p, V v) {
  std::memcpy(p, &v, sizeof(V));
}
template <typename V, typename S>
DK_INLINE V vsplat(S x) {
  return V{} + x;
}

// C[M x NR] (+)= op(A)[M x K] @ B[K x NR], NR = two vectors. op(A)(i, k) is A[i*lda + k], or
// A[k*lda + i] when TA. Accumulators stay in registers (M*2 vectors).
template <typename T, int Bytes, int M, bool TA>
DK_INLINE void micro(int64_t K, const T* A, int64_t lda, const T* B, int64_t ldb, T* C, int64_t ldc, bool acc) {
  using V = typename VecT<T, Bytes>::type;
  constexpr int W = Bytes / sizeof(T);
  V c0[M], c1[M];
  for (int i = 0; i < M; ++i) {
    c0[i] = acc ? vload<V>(C + i * ldc) : V{};
    c1[i] = acc ? vload<V>(C + i * ldc + W) : V{};
  }
  for (int64_t kk = 0; kk < K; ++kk) {
    const V b0 = vload<V>(B + kk * ldb);
    const V b1 = vload<V>(B + kk * ldb + W);
    for (int i = 0; i < M; ++i) {
      const T a = TA ? A[kk * lda + i] : A[i * lda + kk];
      c0[i] += a * b0;
      c1[i] += a * b1;
    }
  }
  for (int i = 0; i < M; ++i) {
    vstore(C + i * ldc, c0[i]);
    vstore(C + i * ldc + W, c1[i]);
  }
}

// C[M x N] (+)= op(A)[M x K] @ B[K x N] with N a multiple of the micro-kernel's NR.
template <typename T, int Bytes, bool TA>
DK_INLINE void block_mm(int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const T* B, int64_t ldb, T* C,
                        int64_t ldc, bool acc) {
  constexpr int64_t NR = 2 * Bytes / sizeof(T);
  for (int64_t j = 0; j < N; j += NR) {
    int64_t i = 0;
    for (; i + kMR <= M; i += kMR)
      micro<T, Bytes, kMR, TA>(K, A + (TA ? i : i * lda), lda, B + j, ldb, C + i * ldc + j, ldc, acc);
    const T* a = A + (TA ? i : i * lda);
    T* c = C + i * ldc + j;
    switch (M - i) {
      case 1: micro<T, Bytes, 1, TA>(K, a, lda, B + j, ldb, c, ldc, acc); break;
      case 2: micro<T, Bytes, 2, TA>(K, a, lda, B + j, ldb, c, ldc, acc); break;
      case 3: micro<T, Bytes, 3, TA>(K, a, lda, B + j, ldb, c, ldc, acc); break;
      case 4: micro<T, Bytes, 4, TA>(K, a, lda, B + j, ldb, c, ldc, acc); break;
      case 5: micro<T, Bytes, 5, TA>(K, a, lda, B + j, ldb, c, ldc, acc); break;
      default: break;
    }
  }
}

// exp of float lanes, Cephes' expf polynomial with round-to-nearest range reduction;
// arguments below -87.33 (including -inf) give 0.
template <int Bytes>
DK_INLINE typename VecT<float, Bytes>::type vexp(typename VecT<float, Bytes>::type x) {
  using V = typename VecT<float, Bytes>::type;
  using I = typename VecT<float, Bytes>::itype;
  const V lo = vsplat<V>(-87.33654f), hi = vsplat<V>(88.37626f), magic = vsplat<V>(12582912.0f);
  const I under = x < lo;
  x = under ? lo : x;
  x = x > hi ? hi : x;
  const V t = x * 1.44269504088896341f + magic;
  const V n = t - magic;
  const I ni = (I)t - (I)magic;
  V r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  V p = vsplat<V>(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  V y = p * r * r + r + 1.0f;
  y = y * (V)((ni + 127) << 23);
  return under ? V{} : y;
}

// s[j] = exp((s[j] - m) - lo) for j < n (n a multiple of the vector width); returns the sum.
// (m, lo) is a value split in two, so that a float64 shift loses nothing against float32 s.
template <typename T, int Bytes>
DK_INLINE T exp_shifted(T* s, int64_t n, T m, T lo) {
  if constexpr (std::is_same_v<T, float>) {
    using V = typename VecT<float, Bytes>::type;
    constexpr int W = Bytes / sizeof(float);
    V acc{};
    for (int64_t j = 0; j < n; j += W) {
      const V e = vexp<Bytes>((vload<V>(s + j) - m) - lo);
      vstore(s + j, e);
      acc += e;
    }
    T sum = 0;
    for (int w = 0; w < W; ++w) sum += acc[w];
    return sum;
  } else {
    T sum = 0;
    for (int64_t j = 0; j < n; ++j) {
      s[j] = std::exp((s[j] - m) - lo);
      sum += s[j];
    }
    return sum;
  }
}

// max(a, b) that is NaN when either is (std::max returns a when b is NaN).
template <typename T>
DK_INLINE T max_nan(T a, T b) {
  return a > b || a != a ? a : b;
}

template <typename T, int Bytes>
DK_INLINE T row_max(const T* s, int64_t n) {
  using V = typename VecT<T, Bytes>::type;
  constexpr int W = Bytes / sizeof(T);
  V acc = vsplat<V>(kNegInf<T>);
  for (int64_t j = 0; j < n; j += W) {
    const V x = vload<V>(s + j);
    acc = (x > acc) | (x != x) ? x : acc;  // a NaN, once in a lane, stays
  }
  T mx = kNegInf<T>;
  for (int w = 0; w < W; ++w) mx = max_nan(mx, acc[w]);
  return mx;
}

template <typename T>
struct Args {
  AttnDims d;
  const T *q, *k, *v, *out;
  const double* lse;
  const T* grad_out;
  AttnMask mask_kind;
  const void* mask;
  const int64_t* mask_index;
  bool causal;
  T scale;
  T* out_w;
  double* lse_w;
  T *delta, *dq, *dk, *dv;
};

// Products q·k of query rows [q0, q0+rows) and keys [k0, k0+cols) in s (row stride ld, cols
// rounded up to the vector width) become scores: times scale (after the product, as the textbook
// formula rounds), plus / under the mask and the causal rule; padding columns become -inf.
template <typename T>
DK_INLINE void mask_scores(const Args<T>& a, int64_t b, int64_t q0, int64_t rows, int64_t k0, int64_t cols,
                           int64_t colsp, T* s, int64_t ld) {
  const int64_t L = a.d.L, S = a.d.S;
  for (int64_t i = 0; i < rows; ++i) {
    T* si = s + i * ld;
    const int64_t qi = q0 + i;
    const int64_t moff = (a.mask_index ? a.mask_index[b] * L + qi : 0) * S + k0;
    for (int64_t j = 0; j < cols; ++j) si[j] *= a.scale;
    if (a.mask_kind == AttnMask::boolean) {
      const uint8_t* mr = static_cast<const uint8_t*>(a.mask) + moff;
      for (int64_t j = 0; j < cols; ++j)
        if (!mr[j]) si[j] = kNegInf<T>;
    } else if (a.mask_kind == AttnMask::additive) {
      const T* mr = static_cast<const T*>(a.mask) + moff;
      for (int64_t j = 0; j < cols; ++j) si[j] += mr[j];
    }
    if (a.causal)
      for (int64_t j = std::max<int64_t>(0, qi + 1 - k0); j < cols; ++j) si[j] = kNegInf<T>;
    for (int64_t j = cols; j < colsp; ++j) si[j] = kNegInf<T>;
  }
}

// Workspace elements of one forward / backward work item (upper bound over instruction sets).
template <typename T>
int64_t fwd_workspace(const AttnDims& d) {
  const int64_t nr = 2 * kMaxVecBytes / sizeof(T), Dvp = round_up(d.Dv, nr), BKp = round_up(kBlockK, nr);
  return d.D * BKp + kBlockK * Dvp + kBlockQ * BKp + kBlockQ * Dvp + 2 * kBlockQ;
}
template <typename T>
int64_t bwd_workspace(const AttnDims& d) {
  const int64_t nr = 2 * kMaxVecBytes / sizeof(T), Dp = round_up(d.D, nr), Dvp = round_up(d.Dv, nr),
                BKp = round_up(kBlockK, nr);
  return d.D * BKp + d.Dv * BKp + kBlockK * Dp + kBlockK * Dp + kBlockK * Dvp + kBlockQ * Dp +
         kBlockQ * Dvp + 2 * kBlockQ * BKp + kBlockQ * Dp;
}

// One forward work item: batch item b, query rows [q0, q0 + kBlockQ) ∩ [0, L).
template <typename T, int Bytes>
DK_INLINE void fwd_item(const Args<T>& a, int64_t b, int64_t q0, T* ws) {
  constexpr int64_t NR = 2 * Bytes / sizeof(T);
  const int64_t L = a.d.L, S = a.d.S, D = a.d.D, Dv = a.d.Dv;
  const int64_t rows = std::min(kBlockQ, L - q0), Dvp = round_up(Dv, NR), BKp = round_up(kBlockK, NR);
  T* Kt = ws;                     // (D, colsp)
  T* Vs = Kt + D * BKp;           // (cols, Dvp)
  T* Sb = Vs + kBlockK * Dvp;     // (rows, colsp) scores, then probabilities
  T* O = Sb + kBlockQ * BKp;      // (rows, Dvp) unnormalized output
  T* m = O + kBlockQ * Dvp;       // (rows,) running max
  T* l = m + kBlockQ;             // (rows,) running sum
  const T* qb = a.q + (b * L + q0) * D;
  std::fill(O, O + rows * Dvp, T(0));
  std::fill(m, m + rows, kNegInf<T>);
  std::fill(l, l + rows, T(0));
  const T* kb = a.k + b * S * D;
  const T* vb = a.v + b * S * Dv;
  const int64_t kend = a.causal ? std::min(S, q0 + rows) : S;
  for (int64_t k0 = 0; k0 < kend; k0 += kBlockK) {
    const int64_t cols = std::min(kBlockK, kend - k0), colsp = round_up(cols, NR);
    for (int64_t dd = 0; dd < D; ++dd) {
      T* kt = Kt + dd * colsp;
      for (int64_t j = 0; j < cols; ++j) kt[j] = kb[(k0 + j) * D + dd];
      for (int64_t j = cols; j < colsp; ++j) kt[j] = T(0);
    }
    for (int64_t j = 0; j < cols; ++j) {
      std::copy(vb + (k0 + j) * Dv, vb + (k0 + j + 1) * Dv, Vs + j * Dvp);
      std::fill(Vs + j * Dvp + Dv, Vs + (j + 1) * Dvp, T(0));
    }
    block_mm<T, Bytes, false>(rows, colsp, D, qb, D, Kt, colsp, Sb, colsp, false);
    mask_scores(a, b, q0, rows, k0, cols, colsp, Sb, colsp);
    for (int64_t i = 0; i < rows; ++i) {
      T* s = Sb + i * colsp;
      const T mnew = max_nan(m[i], row_max<T, Bytes>(s, colsp));
      if (mnew == kNegInf<T>) {  // every key so far forbidden: contributes nothing
        std::fill(s, s + colsp, T(0));
        continue;
      }
      const T alpha = std::exp(m[i] - mnew);
      const T sum = exp_shifted<T, Bytes>(s, colsp, mnew, T(0));
      l[i] = l[i] * alpha + sum;
      if (alpha != T(1))
        for (int64_t c = 0; c < Dvp; ++c) O[i * Dvp + c] *= alpha;
      m[i] = mnew;
    }
    block_mm<T, Bytes, false>(rows, Dvp, cols, Sb, colsp, Vs, Dvp, O, Dvp, true);
  }
  T* ob = a.out_w + (b * L + q0) * Dv;
  double* lb = a.lse_w + b * L + q0;
  for (int64_t i = 0; i < rows; ++i) {
    // l = 0: no allowed key (zeros, lse = -inf); l NaN: a NaN score (NaN out and lse)
    const T inv = l[i] == T(0) ? T(0) : T(1) / l[i];
    for (int64_t c = 0; c < Dv; ++c) ob[i * Dv + c] = O[i * Dvp + c] * inv;
    lb[i] = l[i] == T(0) ? kNegInf<double> : double(m[i]) + std::log(double(l[i]));
  }
}

// One backward work item: every gradient of batch item b.
template <typename T, int Bytes>
DK_INLINE void bwd_item(const Args<T>& a, int64_t b, T* ws) {
  constexpr int64_t NR = 2 * Bytes / sizeof(T);
  const int64_t L = a.d.L, S = a.d.S, D = a.d.D, Dv = a.d.Dv;
  const int64_t Dp = round_up(D, NR), Dvp = round_up(Dv, NR), BKp = round_up(kBlockK, NR);
  T* delta = a.delta + b * L;     // (L,)
  T* Kt = ws;                     // (D, colsp)
  T* Vt = Kt + D * BKp;           // (Dv, colsp)
  T* Kp = Vt + Dv * BKp;          // (cols, Dp)
  T* dKa = Kp + kBlockK * Dp;     // (cols, Dp)
  T* dVa = dKa + kBlockK * Dp;    // (cols, Dvp)
  T* Qs = dVa + kBlockK * Dvp;    // (rows, Dp)
  T* dOs = Qs + kBlockQ * Dp;     // (rows, Dvp)
  T* P = dOs + kBlockQ * Dvp;     // (rows, colsp)
  T* dP = P + kBlockQ * BKp;      // (rows, colsp), then dS
  T* dQb = dP + kBlockQ * BKp;    // (rows, Dp)
  const T *qb = a.q + b * L * D, *kb = a.k + b * S * D, *vb = a.v + b * S * Dv;
  const T *ob = a.out + b * L * Dv, *gb = a.grad_out + b * L * Dv;
  const double* lb = a.lse + b * L;
  T *dqb = a.dq + b * L * D, *dkb = a.dk + b * S * D, *dvb = a.dv + b * S * Dv;
  // delta in the micro-kernel's own order (sequential fused multiply-adds), so that
  // dP - delta cancels exactly where the softmax is one-hot (O_i = V_j).
  for (int64_t i = 0; i < L; ++i) {
    T acc = 0;
    for (int64_t c = 0; c < Dv; ++c) acc = std::fma(gb[i * Dv + c], ob[i * Dv + c], acc);
    delta[i] = acc;
  }
  std::fill(dqb, dqb + L * D, T(0));
  for (int64_t k0 = 0; k0 < S; k0 += kBlockK) {
    const int64_t cols = std::min(kBlockK, S - k0), colsp = round_up(cols, NR);
    for (int64_t dd = 0; dd < D; ++dd) {
      T* kt = Kt + dd * colsp;
      for (int64_t j = 0; j < cols; ++j) kt[j] = kb[(k0 + j) * D + dd];
      for (int64_t j = cols; j < colsp; ++j) kt[j] = T(0);
    }
    for (int64_t c = 0; c < Dv; ++c) {
      T* vt = Vt + c * colsp;
      for (int64_t j = 0; j < cols; ++j) vt[j] = vb[(k0 + j) * Dv + c];
      for (int64_t j = cols; j < colsp; ++j) vt[j] = T(0);
    }
    for (int64_t j = 0; j < cols; ++j) {
      std::copy(kb + (k0 + j) * D, kb + (k0 + j + 1) * D, Kp + j * Dp);
      std::fill(Kp + j * Dp + D, Kp + (j + 1) * Dp, T(0));
    }
    std::fill(dKa, dKa + cols * Dp, T(0));
    std::fill(dVa, dVa + cols * Dvp, T(0));
    // Causal: queries before k0 see none of these keys.
    for (int64_t q0 = a.causal ? k0 / kBlockQ * kBlockQ : 0; q0 < L; q0 += kBlockQ) {
      const int64_t rows = std::min(kBlockQ, L - q0);
      for (int64_t i = 0; i < rows; ++i) {
        std::copy(qb + (q0 + i) * D, qb + (q0 + i + 1) * D, Qs + i * Dp);
        std::fill(Qs + i * Dp + D, Qs + (i + 1) * Dp, T(0));
        std::copy(gb + (q0 + i) * Dv, gb + (q0 + i + 1) * Dv, dOs + i * Dvp);
        std::fill(dOs + i * Dvp + Dv, dOs + (i + 1) * Dvp, T(0));
      }
      block_mm<T, Bytes, false>(rows, colsp, D, Qs, Dp, Kt, colsp, P, colsp, false);
      mask_scores(a, b, q0, rows, k0, cols, colsp, P, colsp);
      for (int64_t i = 0; i < rows; ++i) {
        T* p = P + i * colsp;
        const double lse = lb[q0 + i];
        const T hi = T(lse);
        if (lse == kNegInf<double>)
          std::fill(p, p + colsp, T(0));
        else
          exp_shifted<T, Bytes>(p, colsp, hi, T(lse - double(hi)));
      }
      block_mm<T, Bytes, false>(rows, colsp, Dv, dOs, Dvp, Vt, colsp, dP, colsp, false);
      block_mm<T, Bytes, true>(cols, Dvp, rows, P, colsp, dOs, Dvp, dVa, Dvp, true);
      for (int64_t i = 0; i < rows; ++i) {
        const T di = delta[q0 + i];
        for (int64_t j = 0; j < colsp; ++j) dP[i * colsp + j] = P[i * colsp + j] * (dP[i * colsp + j] - di);
      }
      block_mm<T, Bytes, true>(cols, Dp, rows, dP, colsp, Qs, Dp, dKa, Dp, true);
      block_mm<T, Bytes, false>(rows, Dp, cols, dP, colsp, Kp, Dp, dQb, Dp, false);
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t dd = 0; dd < D; ++dd) dqb[(q0 + i) * D + dd] += a.scale * dQb[i * Dp + dd];
    }
    for (int64_t j = 0; j < cols; ++j) {
      for (int64_t dd = 0; dd < D; ++dd) dkb[(k0 + j) * D + dd] = a.scale * dKa[j * Dp + dd];
      std::copy(dVa + j * Dvp, dVa + j * Dvp + Dv, dvb + (k0 + j) * Dv);
    }
  }
}

// Per-instruction-set copies of the work items.
#define DK_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))
#define DK_AVX2 __attribute__((target("avx2,fma")))
template <typename T>
DK_AVX512 void fwd_avx512(const Args<T>& a, int64_t b, int64_t q0, T* ws) { fwd_item<T, 64>(a, b, q0, ws); }
template <typename T>
DK_AVX2 void fwd_avx2(const Args<T>& a, int64_t b, int64_t q0, T* ws) { fwd_item<T, 32>(a, b, q0, ws); }
template <typename T>
void fwd_base(const Args<T>& a, int64_t b, int64_t q0, T* ws) { fwd_item<T, 16>(a, b, q0, ws); }
template <typename T>
DK_AVX512 void bwd_avx512(const Args<T>& a, int64_t b, T* ws) { bwd_item<T, 64>(a, b, ws); }
template <typename T>
DK_AVX2 void bwd_avx2(const Args<T>& a, int64_t b, T* ws) { bwd_item<T, 32>(a, b, ws); }
template <typename T>
void bwd_base(const Args<T>& a, int64_t b, T* ws) { bwd_item<T, 16>(a, b, ws); }
#undef DK_AVX512
#undef DK_AVX2

// Runs item(i, workspace) for i in [0, n) over the threads, dynamically scheduled; each thread
// owns one workspace of ws_elems. `cost` is the flop count of one item (sets the thread count).
template <typename T, typename F>
void run_items(int64_t n, int64_t cost, int64_t ws_elems, F&& item) {
  if (n <= 0) return;
  const int nt = threads_for(n, std::max<int64_t>(1, (int64_t(1) << 17) / std::max<int64_t>(1, cost)));
#pragma omp parallel num_threads(nt)
  {
    std::vector<T> ws(static_cast<size_t>(ws_elems));
#pragma omp for schedule(dynamic, 1)
    for (int64_t i = 0; i < n; ++i) item(i, ws.data());
  }
}

}  // namespace

template <typename T>
void attention_forward(const AttnDims& d, const T* q, const T* k, const T* v, AttnMask mask_kind, const void* mask,
                       const int64_t* mask_index, bool causal, T scale, T* out, double* lse) {
  Args<T> a{d, q, k, v, nullptr, nullptr, nullptr, mask_kind, mask, mask_index, causal, scale,
            out, lse, nullptr, nullptr, nullptr, nullptr};
  const Isa isa = cpu_isa();
  auto fn = isa == Isa::avx512 ? &fwd_avx512<T> : isa == Isa::avx2 ? &fwd_avx2<T> : &fwd_base<T>;
  const int64_t nq = (d.L + kBlockQ - 1) / kBlockQ;
  run_items<T>(d.batch * nq, 2 * kBlockQ * d.S * (d.D + d.Dv), fwd_workspace<T>(d),
               [&](int64_t i, T* ws) { fn(a, i / nq, i % nq * kBlockQ, ws); });
}

template <typename T>
void attention_backward(const AttnDims& d, const T* q, const T* k, const T* v, const T* out, const double* lse,
                        const T* grad_out, AttnMask mask_kind, const void* mask, const int64_t* mask_index,
                        bool causal, T scale, T* delta, T* dq, T* dk, T* dv) {
  Args<T> a{d, q, k, v, out, lse, grad_out, mask_kind, mask, mask_index, causal, scale,
            nullptr, nullptr, delta, dq, dk, dv};
  const Isa isa = cpu_isa();
  auto fn = isa == Isa::avx512 ? &bwd_avx512<T> : isa == Isa::avx2 ? &bwd_avx2<T> : &bwd_base<T>;
  run_items<T>(d.batch, 4 * d.L * d.S * (d.D + d.Dv), bwd_workspace<T>(d),
               [&](int64_t b, T* ws) { fn(a, b, ws); });
}

template void attention_forward<float>(const AttnDims&, const float*, const float*, const float*, AttnMask,
                                       const void*, const int64_t*, bool, float, float*, double*);
template void attention_forward<double>(const AttnDims&, const double*, const double*, const double*, AttnMask,
                                        const void*, const int64_t*, bool, double, double*, double*);
template void attention_backward<float>(const AttnDims&, const float*, const float*, const float*, const float*,
                                        const double*, const float*, AttnMask, const void*, const int64_t*, bool,
                                        float, float*, float*, float*, float*);
template void attention_backward<double>(const AttnDims&, const double*, const double*, const double*,
                                         const double*, const double*, const double*, AttnMask, const void*,
                                         const int64_t*, bool, double, double*, double*, double*, double*);

}  // namespace dk::cpu
