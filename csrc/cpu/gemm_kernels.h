// Internal interface between the GEMM driver (gemm.cpp) and its per-ISA micro-kernel files
// (gemm_avx512.cpp, gemm_avx2.cpp, compiled with their own -m flags, and the portable set in
// gemm.cpp). Only plain structs and function pointers cross this boundary, so no inline or
// template function compiled with AVX flags can be merged into code that runs elsewhere.
#pragma once
#include <cstdint>

namespace dk::cpu::gemm_detail {

// What a micro-kernel does after its k loop, for one MR x NR tile of C:
//   C = alpha * acc + beta * C + bias      (beta == 0: C is not read)
// bias points at the tile's first column (NR entries used) or is null.
template <typename T>
struct Epilogue {
  T alpha;
  T beta;
  const T* bias;
};

// micro_kernel(kc, a, b, c, ldc, n, epi): acc = sum over k < kc of a[k*MR + i] * b[k*NR + j]
// for i < m (the kernel's row count), j < NR; then the epilogue on C rows 0..m-1, columns
// 0..n-1 (n in 1..NR). a is an MR-row packed panel, b an NR-column packed panel (64-byte aligned).
template <typename T>
using MicroKernel = void (*)(int64_t kc, const T* a, const T* b, T* c, int64_t ldc, int n, const Epilogue<T>& epi);

constexpr int kMaxMr = 16;
constexpr int kMaxNr = 32;  // the widest NR of any KernelSet

// A transposing packer for one panel of width P (MR for A, NR for B):
// dst[k*P + c] = src[c*ld + k] for k < kc, c < n, and 0 for n <= c < P. It packs the
// MR-row panels of a row-major A (op(A) = A) and the NR-column panels of op(B) = B^T.
template <typename T>
using PackTransposed = void (*)(const T* src, int64_t ld, int64_t kc, int n, T* dst);

// A row-copying packer for one NR-column panel of op(B) = B: dst[k*NR + c] = src[k*ld + c]
// for k < kc, c < n, and 0 for n <= c < NR (whole vectors, masked at the edge: a memcpy of
// NR values per k row cost more in call overhead than the copy itself).
template <typename T>
using PackRows = void (*)(const T* src, int64_t ld, int64_t kc, int n, T* dst);

// out[n] = sum over k < K of a[k] * B[n * ldb + k] for n0 <= n < n1: a one-row product with
// B^T read in place (gemm.cpp's M == 1 path).
template <typename T>
using DotRows = void (*)(const T* a, const T* B, int64_t ldb, int64_t n0, int64_t n1, int64_t K, T* out);

// One register-blocked kernel family: rows[m] handles a tile with m valid rows (1..mr), so
// edge tiles in M run no wasted FMAs; edge columns are masked. Cache blocking per family:
// kc (K block: an MR x kc A panel stays in L1), nb (N block: the kc x nb packed B in L2),
// mb (M block: the mb x kc packed A in L3). pack_a / pack_b_trans are SIMD transposing
// packers for A (not transposed) and B (transposed), or null for the driver's scalar ones;
// pack_b packs B (not transposed).
template <typename T>
struct KernelSet {
  const char* name;
  int mr, nr, kc, nb, mb;
  MicroKernel<T> rows[kMaxMr + 1];
  PackTransposed<T> pack_a;
  PackTransposed<T> pack_b_trans;
  PackRows<T> pack_b;
  DotRows<T> dot_rows;
};

// Per-ISA sets; the AVX ones may only be used where dk::cpu_isa() allows.
const KernelSet<float>& avx512_f32();
const KernelSet<double>& avx512_f64();
const KernelSet<float>& avx2_f32();
const KernelSet<double>& avx2_f64();

}  // namespace dk::cpu::gemm_detail
