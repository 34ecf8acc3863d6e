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
  static constexpr int kAccRegs = 28;  // 32 zmm - 2 B vectors - 1 broadcast - 1 spare
  static V zero() { return _mm512_setzero_ps(); }
  static V set1(T x) { return _mm512_set1_ps(x); }
  static V load(const T* p) { return _mm512_load_ps(p); }
  static V loadu(const T* p) { return _mm512_loadu_ps(p); }
  static void storeu(T* p, V v) { _mm512_storeu_ps(p, v); }
  static V bcast(const T* p) { return _mm512_set1_ps(*p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static Mask mask(int n) { return n <= 0 ? Mask(0) : n >= W ? Mask(0xFFFF) : Mask((1u << n) - 1); }
  static V loadm(Mask m, const T* p) { return _mm512_maskz_loadu_ps(m, p); }
  static void storem(T* p, Mask m, V v) { _mm512_mask_storeu_ps(p, m, v); }
};

struct Avx512F64 {
  using T = double;
  using V = __m512d;
  using Mask = __mmask8;
  static constexpr int W = 8;
  static constexpr int kAccRegs = 28;
  static V zero() { return _mm512_setzero_pd(); }
  static V set1(T x) { return _mm512_set1_pd(x); }
  static V load(const T* p) { return _mm512_load_pd(p); }
  static V loadu(const T* p) { return _mm512_loadu_pd(p); }
  static void storeu(T* p, V v) { _mm512_storeu_pd(p, v); }
  static V bcast(const T* p) { return _mm512_set1_pd(*p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V add(V a, V b) { return _mm512_add_pd(a, b); }
  static Mask mask(int n) { return n <= 0 ? Mask(0) : n >= W ? Mask(0xFF) : Mask((1u << n) - 1); }
  static V loadm(Mask m, const T* p) { return _mm512_maskz_loadu_pd(m, p); }
  static void storem(T* p, Mask m, V v) { _mm512_mask_storeu_pd(p, m, v); }
};

// r[i] = row i of a 16x16 block -> r[c] = column c. Unpack pairs of rows, shuffle within
// 128-bit lanes (r[4i+q] lane L = column 4L+q of rows 4i..4i+3), then two rounds of
// 128-bit lane shuffles gather each column's four row groups in order.
inline void transpose16(__m512 (&r)[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {
    r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int q = 0; q < 4; ++q) {
    t[q] = _mm512_shuffle_f32x4(r[q], r[4 + q], 0x88);
    t[4 + q] = _mm512_shuffle_f32x4(r[q], r[4 + q], 0xdd);
    t[8 + q] = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], 0x88);
    t[12 + q] = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], 0xdd);
  }
  for (int q = 0; q < 4; ++q) {
    r[q] = _mm512_shuffle_f32x4(t[q], t[8 + q], 0x88);
    r[8 + q] = _mm512_shuffle_f32x4(t[q], t[8 + q], 0xdd);
    r[4 + q] = _mm512_shuffle_f32x4(t[4 + q], t[12 + q], 0x88);
    r[12 + q] = _mm512_shuffle_f32x4(t[4 + q], t[12 + q], 0xdd);
  }
}

// Transposing packer for the fp32 32-column panel: 16x16 blocks read with (k-)masked
// loads, transposed in registers, written as 16-wide rows of the panel. Missing columns
// (c >= n) load as zero vectors, so the padding comes out of the same path.
void pack_b_trans_f32(const float* B, int64_t ldb, int64_t kc, int n, float* dst) {
  constexpr int NR = 32;
  for (int64_t k0 = 0; k0 < kc; k0 += 16) {
    const int kt = kc - k0 < 16 ? static_cast<int>(kc - k0) : 16;
    const __mmask16 kmask = Avx512F32::mask(kt);
    for (int c0 = 0; c0 < NR; c0 += 16) {
      __m512 r[16];
      for (int i = 0; i < 16; ++i)
        r[i] = c0 + i < n ? _mm512_maskz_loadu_ps(kmask, B + (c0 + i) * ldb + k0) : _mm512_setzero_ps();
      transpose16(r);
      for (int kk = 0; kk < kt; ++kk) _mm512_storeu_ps(dst + (k0 + kk) * NR + c0, r[kk]);
    }
  }
}

#define DK_ROWS_1_14 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14
constexpr auto kF32 = make_set<Avx512F32, 14, 2, DK_ROWS_1_14>("avx512-fp32-14x32", 256, 960, 14 * 220,
                                                                pack_b_trans_f32);
constexpr auto kF64 = make_set<Avx512F64, 14, 2, DK_ROWS_1_14>("avx512-fp64-14x16", 256, 480, 14 * 220);
#undef DK_ROWS_1_14

}  // namespace

namespace dk::cpu::gemm_detail {
const KernelSet<float>& avx512_f32() { return kF32; }
const KernelSet<double>& avx512_f64() { return kF64; }
}  // namespace dk::cpu::gemm_detail
