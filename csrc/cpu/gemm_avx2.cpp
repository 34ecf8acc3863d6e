// AVX2+FMA GEMM micro-kernels (this file alone is compiled with -mavx2 -mfma; gemm.cpp calls
// it only when dk::cpu_isa() is avx2 or better). fp32 6x16: 12 ymm accumulators, 2 B vectors,
// 1 broadcast = 15 of 16 registers; fp64 6x8 the same with 4 lanes. Edge columns use
// vmaskmov (masked lanes are neither read nor written, and do not fault).
#include <immintrin.h>

#include "cpu/gemm_microkernel.h"

namespace {

struct Avx2F32 {
  using T = float;
  using V = __m256;
  using Mask = __m256i;
  static constexpr int W = 8;
  static constexpr int kAccRegs = 12;  // 16 ymm - 2 B vectors - 1 broadcast - 1 spare
  static V zero() { return _mm256_setzero_ps(); }
  static V set1(T x) { return _mm256_set1_ps(x); }
  static V load(const T* p) { return _mm256_load_ps(p); }
  static V loadu(const T* p) { return _mm256_loadu_ps(p); }
  static void storeu(T* p, V v) { _mm256_storeu_ps(p, v); }
  static V bcast(const T* p) { return _mm256_broadcast_ss(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static Mask mask(int n) { return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)); }
  static V loadm(Mask m, const T* p) { return _mm256_maskload_ps(p, m); }
  static void storem(T* p, Mask m, V v) { _mm256_maskstore_ps(p, m, v); }
};

struct Avx2F64 {
  using T = double;
  using V = __m256d;
  using Mask = __m256i;
  static constexpr int W = 4;
  static constexpr int kAccRegs = 12;
  static V zero() { return _mm256_setzero_pd(); }
  static V set1(T x) { return _mm256_set1_pd(x); }
  static V load(const T* p) { return _mm256_load_pd(p); }
  static V loadu(const T* p) { return _mm256_loadu_pd(p); }
  static void storeu(T* p, V v) { _mm256_storeu_pd(p, v); }
  static V bcast(const T* p) { return _mm256_broadcast_sd(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V add(V a, V b) { return _mm256_add_pd(a, b); }
  static Mask mask(int n) { return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3)); }
  static V loadm(Mask m, const T* p) { return _mm256_maskload_pd(p, m); }
  static void storem(T* p, Mask m, V v) { _mm256_maskstore_pd(p, m, v); }
};

constexpr auto kF32 = make_set<Avx2F32, 6, 2, 1, 2, 3, 4, 5, 6>("avx2-fp32-6x16", 384, 480, 6 * 512);
constexpr auto kF64 = make_set<Avx2F64, 6, 2, 1, 2, 3, 4, 5, 6>("avx2-fp64-6x8", 256, 480, 6 * 512);

}  // namespace

namespace dk::cpu::gemm_detail {
const KernelSet<float>& avx2_f32() { return kF32; }
const KernelSet<double>& avx2_f64() { return kF64; }
}  // namespace dk::cpu::gemm_detail
