// GEMM on the CPU: C = alpha * op(A) @ op(B) + beta * C (+ bias), float32 and float64.
//
// Algorithm: GotoBLAS/BLIS blocking, written for row-major C (the vector dimension is N):
//
//   for i3 in M by mb:                       mb x kc block of op(A) packed -> L3
//     for p in K by kc:                      (first p block applies beta and bias)
//       pack op(A)[i3:+mb, p:+kc] into MR-row panels  (a[k*MR + r], zero-padded rows)
//       for j2 in N by nb:
//         pack op(B)[p:+kc, j2:+nb] into NR-column panels (b[k*NR + c], zero-padded) -> L2
//         for ir in mb by MR:                MR x kc A panel stays in L1
//           for jr in nb by NR:              kc x NR B panel streams from L2
//             micro_kernel(...)              MR x NR accumulators in registers
//
// Transposes are absorbed by the packing (op(A) rows or columns are read as the layout
// has them; the two transposing cases, row-major A and B^T, use an AVX-512 16x16
// register transpose where available), alpha/beta/bias are applied in the micro-kernel's
// epilogue, and beta == 0 never reads C. Edge tiles: a micro-kernel is instantiated for
// every row count 1..MR (no wasted FMAs on a short M edge) and edge columns are masked.
//
// Micro-kernels (gemm_avx512.cpp, gemm_avx2.cpp, and the portable set below) are chosen at
// run time from dk::cpu_isa(); the AVX files are the only ones compiled with -m flags
// (cmake/compiler_flags.cmake). Register allocation checked with
//   objdump -d --no-show-raw-insn build/dev/_cpu*.so | less   (search the ukr<...14> symbol)
// the k loop of the AVX-512 fp32 14x32 kernel (unrolled by 2) is, per k: 2 vmovaps loads of
// B, 14 vbroadcastss of A into one scratch zmm, 28 vfmadd231ps into zmm accumulators, and
// no rsp-relative access: no spills (the epilogue spills one zmm, outside the loop).
//
// One row (M == 1: batch-1 inference) skips the packing, whose cost would equal the product's:
// B is read in place (the kernel set's dot_rows for B^T, column strips for B).
//
// Threads: the output is split into a tm x tn grid of independent sub-problems (M split at
// MR, N at NR, tm * tn = threads, the split that packs the least redundant data), each
// run by one thread with its own packing buffers: no barriers, no shared writes. Instead
// of one packed B shared by all threads, each thread packs what it reads: with N split,
// B is packed exactly once and A once per thread (1/(N/tn) of the FMAs); with M split, the
// reverse. That redundancy is cheaper than the barriers a shared B needs, which on a busy
// machine wait for a descheduled thread's whole time slice. Inside a parallel region
// (dk::threads_for returns 1) everything runs on the calling thread, so other op families
// may call gemm from their own parallel loops.
#include "cpu/gemm.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>

#include "core/checks.h"
#include "core/cpu_features.h"
#include "core/parallel.h"
#include "cpu/gemm_kernels.h"
#include "cpu/gemm_microkernel.h"
#include "cpu/simd.h"

namespace {

// Portable micro-kernel (4x8): plain per-lane loops the compiler may vectorize with SSE2.
template <typename TT>
struct Portable {
  using T = TT;
  static constexpr int W = 4;
  static constexpr int kAccRegs = 8;
  struct V {
    T x[W];
  };
  using Mask = int;  // number of valid lanes
  static V zero() { return V{}; }
  static V set1(T v) { return V{{v, v, v, v}}; }
  static V load(const T* p) { return loadu(p); }
  static V loadu(const T* p) { return V{{p[0], p[1], p[2], p[3]}}; }
  static void storeu(T* p, V v) {
    for (int l = 0; l < W; ++l) p[l] = v.x[l];
  }
  static V bcast(const T* p) { return set1(*p); }
  static V fma(V a, V b, V c) {
    for (int l = 0; l < W; ++l) c.x[l] += a.x[l] * b.x[l];
    return c;
  }
  static V add(V a, V b) {
    for (int l = 0; l < W; ++l) a.x[l] += b.x[l];
    return a;
  }
  static Mask mask(int n) { return n < 0 ? 0 : n > W ? W : n; }
  static V loadm(Mask m, const T* p) {
    V v{};
    for (int l = 0; l < m; ++l) v.x[l] = p[l];
    return v;
  }
  static void storem(T* p, Mask m, V v) {
    for (int l = 0; l < m; ++l) p[l] = v.x[l];
  }
};

constexpr auto kPortableF32 = make_set<Portable<float>, 4, 2, 1, 2, 3, 4>("portable-fp32-4x8", 256, 256, 1024);
constexpr auto kPortableF64 = make_set<Portable<double>, 4, 2, 1, 2, 3, 4>("portable-fp64-4x8", 256, 256, 1024);

}  // namespace

namespace dk::cpu {
namespace {

using gemm_detail::Epilogue;
using gemm_detail::KernelSet;

std::atomic<int> g_isa{-1};  // forced ISA (set_gemm_isa), -1: the CPU's best

Isa active_isa() {
  const int forced = g_isa.load();
  return forced < 0 ? cpu_isa() : static_cast<Isa>(forced);
}

template <typename T> const KernelSet<T>& kernels_for(Isa isa);
template <>
const KernelSet<float>& kernels_for<float>(Isa isa) {
  switch (isa) {
    case Isa::avx512: return gemm_detail::avx512_f32();
    case Isa::avx2: return gemm_detail::avx2_f32();
    case Isa::baseline: break;
  }
  return kPortableF32;
}
template <>
const KernelSet<double>& kernels_for<double>(Isa isa) {
  switch (isa) {
    case Isa::avx512: return gemm_detail::avx512_f64();
    case Isa::avx2: return gemm_detail::avx2_f64();
    case Isa::baseline: break;
  }
  return kPortableF64;
}

// Per-thread packing buffers, 64-byte aligned, grown on demand and kept for the thread's
// life (OpenMP threads persist, so repeated calls do not allocate).
struct Buffer {
  void* p = nullptr;
  size_t bytes = 0;
  ~Buffer() { std::free(p); }
  template <typename T> T* get(int64_t n) {
    const size_t need = static_cast<size_t>(n) * sizeof(T);
    if (need > bytes) {
      std::free(p);
      bytes = (need + 63) / 64 * 64;
      p = std::aligned_alloc(64, bytes);
      if (p == nullptr) {
        bytes = 0;
        throw std::bad_alloc();
      }
    }
    return static_cast<T*>(p);
  }
};
thread_local Buffer t_pack_a, t_pack_b, t_packed_b;
thread_local bool t_packed_b_live = false;

// op(A)[i0:+mb, p0:+kc] -> MR-row panels: panel q holds a[k*MR + r] = op(A)[i0+q*MR+r, p0+k].
template <typename T>
void pack_a(bool trans, const T* A, int64_t lda, int64_t i0, int64_t p0, int64_t mb, int64_t kc, int mr,
            gemm_detail::PackTransposed<T> simd_plain, T* dst) {
  for (int64_t ir = 0; ir < mb; ir += mr) {
    const int m = static_cast<int>(std::min<int64_t>(mr, mb - ir));
    T* d = dst + ir * kc;
    if (!trans && simd_plain != nullptr) {
      simd_plain(A + (i0 + ir) * lda + p0, lda, kc, m, d);
    } else if (trans) {  // op(A)[i, k] = A[k, i]: rows of A are contiguous in i
      for (int64_t k = 0; k < kc; ++k) {
        const T* s = A + (p0 + k) * lda + i0 + ir;
        T* dk = d + k * mr;
        for (int r = 0; r < m; ++r) dk[r] = s[r];
        for (int r = m; r < mr; ++r) dk[r] = T(0);
      }
    } else {  // op(A)[i, k] = A[i, k]: read each row along k, write with stride MR
      for (int r = 0; r < m; ++r) {
        const T* s = A + (i0 + ir + r) * lda + p0;
        for (int64_t k = 0; k < kc; ++k) d[k * mr + r] = s[k];
      }
      for (int r = m; r < mr; ++r)
        for (int64_t k = 0; k < kc; ++k) d[k * mr + r] = T(0);
    }
  }
}

// op(B)[p0:+kc, j0:+nb] -> NR-column panels: panel q holds b[k*NR + c] = op(B)[p0+k, j0+q*NR+c].
// Plain B is copied a panel at a time (kc rows of NR values, a strided stream the prefetcher
// follows); B^T is read along its rows (strips of 16 along k), which keeps the hardware
// prefetcher and the TLB happy when B is much larger than the caches.
template <typename T>
void pack_b(bool trans, const T* B, int64_t ldb, int64_t p0, int64_t j0, int64_t kc, int64_t nb, int nr,
            gemm_detail::PackTransposed<T> simd_trans, gemm_detail::PackRows<T> rows, T* dst) {
  if (trans && simd_trans != nullptr) {
    for (int64_t jr = 0; jr < nb; jr += nr)
      simd_trans(B + (j0 + jr) * ldb + p0, ldb, kc, static_cast<int>(std::min<int64_t>(nr, nb - jr)), dst + jr * kc);
    return;
  }
  if (!trans) {  // op(B)[k, j] = B[k, j]
    for (int64_t jr = 0; jr < nb; jr += nr)
      rows(B + p0 * ldb + j0 + jr, ldb, kc, static_cast<int>(std::min<int64_t>(nr, nb - jr)), dst + jr * kc);
    return;
  }
  constexpr int64_t kStrip = 16;  // op(B)[k, j] = B[j, k]: rows of B read along k, a strip at a time
  for (int64_t jr = 0; jr < nb; jr += nr) {
    const int n = static_cast<int>(std::min<int64_t>(nr, nb - jr));
    T* d = dst + jr * kc;
    for (int64_t k0 = 0; k0 < kc; k0 += kStrip) {
      const int64_t k1 = std::min(kc, k0 + kStrip);
      for (int c = 0; c < n; ++c) {
        const T* s = B + (j0 + jr + c) * ldb + p0;
        for (int64_t k = k0; k < k1; ++k) d[k * nr + c] = s[k];
      }
      for (int c = n; c < nr; ++c)
        for (int64_t k = k0; k < k1; ++k) d[k * nr + c] = T(0);
    }
  }
}

template <typename T>
struct Problem {
  bool trans_a, trans_b;
  int64_t M, N, K;
  T alpha;
  const T* A;
  int64_t lda;
  const T* B;
  int64_t ldb;
  T beta;
  const T* bias;  // N entries or null
  T* C;
  int64_t ldc;
};

// C[i0:i1, j0:j1] on the calling thread.
template <typename T>
void gemm_block(const Problem<T>& P, const KernelSet<T>& ks, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  const int mr = ks.mr, nr = ks.nr;
  const int64_t M = i1 - i0, N = j1 - j0;
  if (M <= 0 || N <= 0) return;
  const int64_t kc_max = std::min<int64_t>(ks.kc, P.K);
  const int64_t mb_max = std::min<int64_t>(ks.mb, M);
  const int64_t nb_max = std::min<int64_t>(ks.nb, N);
  T* pa = t_pack_a.get<T>((mb_max + mr - 1) / mr * mr * kc_max);
  T* pb = t_pack_b.get<T>((nb_max + nr - 1) / nr * nr * kc_max);
  for (int64_t i3 = 0; i3 < M; i3 += ks.mb) {
    const int64_t mb = std::min<int64_t>(ks.mb, M - i3);
    for (int64_t p = 0; p < P.K; p += ks.kc) {
      const int64_t kc = std::min<int64_t>(ks.kc, P.K - p);
      pack_a(P.trans_a, P.A, P.lda, i0 + i3, p, mb, kc, mr, ks.pack_a, pa);
      const bool first = p == 0;
      for (int64_t j2 = 0; j2 < N; j2 += ks.nb) {
        const int64_t nb = std::min<int64_t>(ks.nb, N - j2);
        pack_b(P.trans_b, P.B, P.ldb, p, j0 + j2, kc, nb, nr, ks.pack_b_trans, ks.pack_b, pb);
        for (int64_t ir = 0; ir < mb; ir += mr) {
          const int m = static_cast<int>(std::min<int64_t>(mr, mb - ir));
          const auto kernel = ks.rows[m];
          T* c_row = P.C + (i0 + i3 + ir) * P.ldc + j0 + j2;
          for (int64_t jr = 0; jr < nb; jr += nr) {
            const int n = static_cast<int>(std::min<int64_t>(nr, nb - jr));
            const T* bias = first && P.bias != nullptr ? P.bias + j0 + j2 + jr : nullptr;
            const Epilogue<T> epi{P.alpha, first ? P.beta : T(1), bias};
            kernel(kc, pa + ir * kc, pb + jr * kc, c_row + jr, P.ldc, n, epi);
          }
        }
      }
    }
  }
}

// K == 0: op(A) @ op(B) is zero, C = beta * C + bias (beta == 0 does not read C).
template <typename T>
void scale_c(const Problem<T>& P) {
  for (int64_t i = 0; i < P.M; ++i) {
    T* c = P.C + i * P.ldc;
    for (int64_t j = 0; j < P.N; ++j) {
      const T b = P.bias != nullptr ? P.bias[j] : T(0);
      c[j] = P.beta == T(0) ? b : P.beta * c[j] + b;
    }
  }
}

// Split nth threads into tm x tn (rows x columns) to minimize redundant packing
// (tn * M * K of A plus tm * K * N of B) with every thread getting at least one tile.
void thread_grid(int nth, int64_t M, int64_t N, int mr, int nr, int& tm, int& tn) {
  const int64_t pm = (M + mr - 1) / mr, pn = (N + nr - 1) / nr;
  tm = 1;
  tn = nth;
  double best = -1;
  for (int a = 1; a <= nth; ++a) {
    if (nth % a != 0) continue;
    const int b = nth / a;
    if (a > pm || b > pn) continue;
    const double cost = static_cast<double>(b) * M + static_cast<double>(a) * N;
    if (best < 0 || cost < best) {
      best = cost;
      tm = a;
      tn = b;
    }
  }
}

// One row (M == 1, batch-1 inference through a linear layer): every B value is used once,
// so packing B would cost as much as the product itself. B is read in place instead:
//   trans_b (B is (N, K)): C[n] = a . B[n, :], the kernel set's dot_rows (SIMD, four rows at a time);
//   plain   (B is (K, N)): C[:] = sum over k of a[k] * B[k, :], a strip of columns at a time
//                          (independent per column, so the loop vectorizes as written);
// then C = alpha * sum + beta * C + bias, as the micro-kernel's epilogue.
template <typename T>
DK_INLINE void gemv_cols_body(const T* a, const T* B, int64_t ldb, int64_t n0, int64_t n1, int64_t K, T* out) {
  constexpr int64_t kStrip = 256;  // columns whose sums stay in L1 while B streams by
  for (int64_t j0 = n0; j0 < n1; j0 += kStrip) {
    const int64_t w = std::min(kStrip, n1 - j0);
    T acc[kStrip];
    for (int64_t j = 0; j < w; ++j) acc[j] = T(0);
    for (int64_t k = 0; k < K; ++k) {
      const T ak = a[k];
      const T* b = B + k * ldb + j0;
      for (int64_t j = 0; j < w; ++j) acc[j] += ak * b[j];
    }
    for (int64_t j = 0; j < w; ++j) out[j0 + j] = acc[j];
  }
}
DK_CLONES void gemv_cols(const float* a, const float* B, int64_t ldb, int64_t n0, int64_t n1, int64_t K, float* out) {
  gemv_cols_body(a, B, ldb, n0, n1, K, out);
}
DK_CLONES void gemv_cols(const double* a, const double* B, int64_t ldb, int64_t n0, int64_t n1, int64_t K,
                         double* out) {
  gemv_cols_body(a, B, ldb, n0, n1, K, out);
}

template <typename T>
void gemv(const Problem<T>& P) {
  // op(A) is one row: contiguous unless A is (K, 1) with a row stride
  const T* a = P.A;
  if (P.trans_a && P.lda != 1) {
    T* row = t_pack_a.get<T>(P.K);
    for (int64_t k = 0; k < P.K; ++k) row[k] = P.A[k * P.lda];
    a = row;
  }
  T* sums = t_pack_b.get<T>(P.N);
  const KernelSet<T>& ks = kernels_for<T>(active_isa());
  auto part = [&](int64_t n0, int64_t n1) {
    if (P.trans_b)
      ks.dot_rows(a, P.B, P.ldb, n0, n1, P.K, sums);
    else
      gemv_cols(a, P.B, P.ldb, n0, n1, P.K, sums);
    for (int64_t n = n0; n < n1; ++n) {
      const T b = P.bias != nullptr ? P.bias[n] : T(0);
      P.C[n] = P.beta == T(0) ? P.alpha * sums[n] + b : P.alpha * sums[n] + P.beta * P.C[n] + b;
    }
  };
  const int nt = static_cast<int>(std::min<int64_t>(threads_for(P.N * P.K, int64_t(1) << 16), (P.N + 15) / 16));
  if (nt <= 1) {
    part(0, P.N);
    return;
  }
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num(), nth = omp_get_num_threads();
    const int64_t per = (P.N + nth - 1) / nth;
    const int64_t n0 = std::min(P.N, t * per), n1 = std::min(P.N, n0 + per);
    if (n0 < n1) part(n0, n1);
  }
}

template <typename T>
void run(const Problem<T>& P) {
  if (P.M == 0 || P.N == 0) return;
  if (P.K == 0) {
    scale_c(P);
    return;
  }
  if (P.M == 1) {
    gemv(P);
    return;
  }
  const KernelSet<T>& ks = kernels_for<T>(active_isa());
  const int nt = threads_for(P.M * P.N * P.K, int64_t(1) << 18);
  if (nt <= 1) {
    gemm_block(P, ks, 0, P.M, 0, P.N);
    return;
  }
  std::exception_ptr error;  // a bad_alloc for packing buffers must not escape the region
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num(), nth = omp_get_num_threads();
    int tm, tn;
    thread_grid(nth, P.M, P.N, ks.mr, ks.nr, tm, tn);
    const int ti = t / tn, tj = t % tn;
    if (ti < tm) {
      const int64_t pm = (P.M + ks.mr - 1) / ks.mr, pn = (P.N + ks.nr - 1) / ks.nr;
      const int64_t i0 = std::min(P.M, pm * ti / tm * ks.mr), i1 = std::min(P.M, pm * (ti + 1) / tm * ks.mr);
      const int64_t j0 = std::min(P.N, pn * tj / tn * ks.nr), j1 = std::min(P.N, pn * (tj + 1) / tn * ks.nr);
      try {
        gemm_block(P, ks, i0, i1, j0, j1);
      } catch (...) {
#pragma omp critical(dk_gemm_error)
        error = std::current_exception();
      }
    }
  }
  if (error) std::rethrow_exception(error);
}

// Column sums with Kahan compensation: acc[j] + (-comp[j]) carries the running sum of
// column j to about one rounding, however many rows, so the bias gradient of a large batch
// is as accurate as NumPy's pairwise sum. Columns are independent, so the loop still
// vectorizes across j (no reassociation is needed, and none is allowed: no -ffast-math).
template <typename T>
DK_INLINE void kahan_rows_body(T* acc, T* comp, const T* x, int64_t rows, int64_t ldx, int64_t n) {
  for (int64_t i = 0; i < rows; ++i) {
    const T* xi = x + i * ldx;
    for (int64_t j = 0; j < n; ++j) {
      const T y = xi[j] - comp[j];
      const T t = acc[j] + y;
      comp[j] = (t - acc[j]) - y;
      acc[j] = t;
    }
  }
}
DK_CLONES void kahan_rows(float* acc, float* comp, const float* x, int64_t rows, int64_t ldx, int64_t n) {
  kahan_rows_body(acc, comp, x, rows, ldx, n);
}
DK_CLONES void kahan_rows(double* acc, double* comp, const double* x, int64_t rows, int64_t ldx, int64_t n) {
  kahan_rows_body(acc, comp, x, rows, ldx, n);
}

}  // namespace

template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  run(Problem<T>{trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, nullptr, C, ldc});
}

template <typename T>
void gemm_batched(int64_t batch, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                  int64_t lda, int64_t stride_a, const T* B, int64_t ldb, int64_t stride_b, T beta, const T* bias,
                  T* C, int64_t ldc, int64_t stride_c) {
  if (batch <= 0 || M == 0 || N == 0) return;
  auto one = [&](int64_t i) {
    run(Problem<T>{trans_a, trans_b, M, N, K, alpha, A + i * stride_a, lda, B + i * stride_b, ldb, beta, bias,
                   C + i * stride_c, ldc});
  };
  // Whole matrices per thread when the batch divides evenly or is large; otherwise each
  // matrix uses all threads in turn.
  const int nt = threads_for(batch * M * N * std::max<int64_t>(K, 1), int64_t(1) << 18);
  if (nt > 1 && batch > 1 && (batch % nt == 0 || batch >= 4 * nt)) {
    std::exception_ptr error;  // a bad_alloc for packing buffers must not escape the region
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t i = 0; i < batch; ++i) {
      try {
        one(i);
      } catch (...) {
#pragma omp critical(dk_gemm_error)
        error = std::current_exception();
      }
    }
    if (error) std::rethrow_exception(error);
  } else {
    for (int64_t i = 0; i < batch; ++i) one(i);
  }
}

template <typename T>
void column_sum(int64_t M, int64_t N, const T* X, int64_t ldx, T* out) {
  if (N == 0) return;
  const int nt = static_cast<int>(std::min<int64_t>(threads_for(M * N, int64_t(1) << 16), std::max<int64_t>(M, 1)));
  // Per thread: a block of rows summed into its own (acc, comp) pair of N-vectors; the
  // corrected partials acc - comp are then added in thread order (deterministic).
  T* buf = t_pack_b.get<T>(2 * static_cast<int64_t>(nt) * N);
  std::fill(buf, buf + 2 * nt * N, T(0));
  if (nt <= 1) {
    kahan_rows(buf, buf + N, X, M, ldx, N);
  } else {
#pragma omp parallel num_threads(nt)
    {
      const int t = omp_get_thread_num(), nth = omp_get_num_threads();
      const int64_t r0 = M * t / nth, r1 = M * (t + 1) / nth;
      kahan_rows(buf + 2 * t * N, buf + (2 * t + 1) * N, X + r0 * ldx, r1 - r0, ldx, N);
    }
  }
  for (int64_t j = 0; j < N; ++j) {
    T s = T(0);
    for (int t = 0; t < nt; ++t) s += buf[2 * t * N + j] - buf[(2 * t + 1) * N + j];
    out[j] = s;
  }
}

template <typename T>
GemmPanels gemm_panels() {
  const KernelSet<T>& ks = kernels_for<T>(active_isa());
  return {ks.mr, ks.nr};
}

template <typename T>
void gemm_pack_a(int64_t M, int64_t K, const T* A, int64_t lda, T* a_packed) {
  const KernelSet<T>& ks = kernels_for<T>(active_isa());
  pack_a(false, A, lda, 0, 0, M, K, ks.mr, ks.pack_a, a_packed);
}

template <typename T>
void gemm_prepacked(int64_t M, int64_t N, int64_t K, const T* a_packed, const T* b_packed, T* C, int64_t ldc) {
  const KernelSet<T>& ks = kernels_for<T>(active_isa());
  const Epilogue<T> epi{T(1), T(0), nullptr};
  for (int64_t i = 0; i < M; i += ks.mr) {
    const auto kernel = ks.rows[std::min<int64_t>(ks.mr, M - i)];
    for (int64_t j = 0; j < N; j += ks.nr)
      kernel(K, a_packed + i * K, b_packed + j * K, C + i * ldc + j, ldc,
             static_cast<int>(std::min<int64_t>(ks.nr, N - j)), epi);
  }
}

template <typename T>
PackedB<T>::PackedB(bool trans_b, int64_t K, int64_t N, const T* B, int64_t ldb) : K_(K), N_(N) {
  DK_CHECK(!t_packed_b_live, "PackedB: this thread already holds one");
  const KernelSet<T>& ks = kernels_for<T>(active_isa());
  panels_ = t_packed_b.get<T>(std::max<int64_t>(1, (N + ks.nr - 1) / ks.nr * ks.nr * K));
  t_packed_b_live = true;
  if (K > 0 && N > 0) pack_b(trans_b, B, ldb, 0, 0, K, N, ks.nr, ks.pack_b_trans, ks.pack_b, panels_);
}

template <typename T>
PackedB<T>::~PackedB() {
  t_packed_b_live = false;
}

template <typename T>
void PackedB<T>::multiply(int64_t M, const T* A, int64_t lda, T beta, T* C, int64_t ldc) const {
  if (M == 0 || N_ == 0) return;
  if (K_ == 0) {
    scale_c(Problem<T>{false, false, M, N_, 0, T(1), A, lda, nullptr, 0, beta, nullptr, C, ldc});
    return;
  }
  const KernelSet<T>& ks = kernels_for<T>(active_isa());
  const int64_t panels = (N_ + ks.nr - 1) / ks.nr;
  // Columns [j0, j1) (whole panels) on the calling thread: A packed by kc blocks, B read in place.
  auto columns = [&](int64_t j0, int64_t j1) {
    const int64_t kc_max = std::min<int64_t>(ks.kc, K_), mb = std::min<int64_t>(ks.mb, M);
    T* pa = t_pack_a.get<T>((mb + ks.mr - 1) / ks.mr * ks.mr * kc_max);
    for (int64_t i3 = 0; i3 < M; i3 += ks.mb) {
      const int64_t m3 = std::min<int64_t>(ks.mb, M - i3);
      for (int64_t p = 0; p < K_; p += ks.kc) {
        const int64_t kc = std::min<int64_t>(ks.kc, K_ - p);
        pack_a(false, A, lda, i3, p, m3, kc, ks.mr, ks.pack_a, pa);
        const Epilogue<T> epi{T(1), p == 0 ? beta : T(1), nullptr};
        for (int64_t ir = 0; ir < m3; ir += ks.mr) {
          const auto kernel = ks.rows[std::min<int64_t>(ks.mr, m3 - ir)];
          for (int64_t j = j0; j < j1; j += ks.nr)
            kernel(kc, pa + ir * kc, panels_ + j * K_ + p * ks.nr, C + (i3 + ir) * ldc + j, ldc,
                   static_cast<int>(std::min<int64_t>(ks.nr, N_ - j)), epi);
        }
      }
    }
  };
  const int nt = static_cast<int>(std::min<int64_t>(threads_for(M * N_ * K_, int64_t(1) << 18), panels));
  if (nt <= 1) {
    columns(0, N_);
    return;
  }
  std::exception_ptr error;
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num(), nth = omp_get_num_threads();
    const int64_t j0 = std::min(N_, panels * t / nth * ks.nr), j1 = std::min(N_, panels * (t + 1) / nth * ks.nr);
    try {
      if (j0 < j1) columns(j0, j1);
    } catch (...) {
#pragma omp critical(dk_gemm_error)
      error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

template class PackedB<float>;
template class PackedB<double>;

void set_gemm_isa(Isa isa) {
  DK_CHECK(static_cast<int>(isa) <= static_cast<int>(cpu_isa()), "set_gemm_isa: this CPU does not support ",
           isa_name(isa), " (best: ", isa_name(cpu_isa()), ")");
  g_isa = static_cast<int>(isa);
}

void reset_gemm_isa() { g_isa = -1; }

const char* gemm_kernel_name() { return kernels_for<float>(active_isa()).name; }
const char* gemm_kernel_name_f64() { return kernels_for<double>(active_isa()).name; }

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*,
                          int64_t, float, float*, int64_t);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t, const double*,
                           int64_t, double, double*, int64_t);
template void gemm_batched<float>(int64_t, bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t,
                                  int64_t, const float*, int64_t, int64_t, float, const float*, float*, int64_t,
                                  int64_t);
template void gemm_batched<double>(int64_t, bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t,
                                   int64_t, const double*, int64_t, int64_t, double, const double*, double*,
                                   int64_t, int64_t);
template GemmPanels gemm_panels<float>();
template GemmPanels gemm_panels<double>();
template void gemm_pack_a<float>(int64_t, int64_t, const float*, int64_t, float*);
template void gemm_pack_a<double>(int64_t, int64_t, const double*, int64_t, double*);
template void gemm_prepacked<float>(int64_t, int64_t, int64_t, const float*, const float*, float*, int64_t);
template void gemm_prepacked<double>(int64_t, int64_t, int64_t, const double*, const double*, double*, int64_t);
template void column_sum<float>(int64_t, int64_t, const float*, int64_t, float*);
template void column_sum<double>(int64_t, int64_t, const double*, int64_t, double*);

}  // namespace dk::cpu
