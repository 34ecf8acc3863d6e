// AVX-512 GEMM micro-kernels (this file alone is compiled with -mavx512f -mavx512vl
// -mavx512bw -mavx512dq -mfma; gemm.cpp calls it only when dk::cpu_isa() is avx512).
// fp32 14x32: 28 zmm accumulators, 2 B vectors, A broadcast from memory
// (vfmadd231ps zmm, zmm, [a]{1to16}); fp64 14x16 the same with 8 lanes per vector.
// Edge columns use k-masks (masked lanes are neither read nor written, so no fault past
// the end of C or bias).
#include <immintrin.h>

#include "cpu/gemm_microkernel.h"

namespace {

struct Avx512F32 {
  using T = float;
  using V = __m512;
  using Mask = __mmask16;
  static constexpr int W = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V set1(T x) { return _mm512_set1_ps(x); }
  static V load(const T* p) { return _mm512_load_ps(p); }
  static V loadu(const T* p) { return _mm512_loadu_ps(p); }
  static void storeu(T* p, V v) { _mm512_storeu_ps(p, v); }
  static V bcast(const T* p) { return _mm512_set1_ps(*p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static Mask mask(int n) { return n <= 0 ? Mask(0) : n >= W ? Mask(0xFFFF) : Mask((1u << n) - 1); }
  static V loadm(Mask m, const T* p) { return _mm512_maskz_loadu_ps(m, p); }
  static void storem(T* p, Mask m, V v) { _mm512_mask_storeu_ps(p, m, v); }
};

struct Avx512F64 {
  using T = double;
  using V = __m512d;
  using Mask = __mmask8;
  static constexpr int W = 8;
  static V zero() { return _mm512_setzero_pd(); }
  static V set1(T x) { return _mm512_set1_pd(x); }
  static V load(const T* p) { return _mm512_load_pd(p); }
  static V loadu(const T* p) { return _mm512_loadu_pd(p); }
  static void storeu(T* p, V v) { _mm512_storeu_pd(p, v); }
  static V bcast(const T* p) { return _mm512_set1_pd(*p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static Mask mask(int n) { return n <= 0 ? Mask(0) : n >= W ? Mask(0xFF) : Mask((1u << n) - 1); }
  static V loadm(Mask m, const T* p) { return _mm512_maskz_loadu_pd(m, p); }
  static void storem(T* p, Mask m, V v) { _mm512_mask_storeu_pd(p, m, v); }
};

#define DK_ROWS_1_14 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14
constexpr auto kF32 = make_set<Avx512F32, 14, 2, DK_ROWS_1_14>("avx512-fp32-14x32", 256, 960, 14 * 220);
constexpr auto kF64 = make_set<Avx512F64, 14, 2, DK_ROWS_1_14>("avx512-fp64-14x16", 256, 480, 14 * 220);
#undef DK_ROWS_1_14

}  // namespace

namespace dk::cpu::gemm_detail {
const KernelSet<float>& avx512_f32() { return kF32; }
const KernelSet<double>& avx512_f64() { return kF64; }
}  // namespace dk::cpu::gemm_detail
