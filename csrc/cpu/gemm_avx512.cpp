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

// Transposing packer for fp32 panels of width W (32 for B^T panels, 14 for A row panels):
// dst[k*W + c] = src[c*ld + k]. 16x16 blocks are read with (k-)masked loads, transposed in
// registers and written as (masked) W-wide rows of the panel. Missing rows of src
// (c >= n) load as zero vectors, so the padding comes out of the same path.
template <int W>
void pack_transposed_f32(const float* src, int64_t ld, int64_t kc, int n, float* dst) {
  for (int64_t k0 = 0; k0 < kc; k0 += 16) {
    const int kt = kc - k0 < 16 ? static_cast<int>(kc - k0) : 16;
    const __mmask16 kmask = Avx512F32::mask(kt);
    for (int c0 = 0; c0 < W; c0 += 16) {
      const int cw = W - c0 < 16 ? W - c0 : 16;
      const __mmask16 cmask = Avx512F32::mask(cw);
      __m512 r[16];
      for (int i = 0; i < 16; ++i)
        r[i] = i < cw && c0 + i < n ? _mm512_maskz_loadu_ps(kmask, src + (c0 + i) * ld + k0) : _mm512_setzero_ps();
      transpose16(r);
      for (int kk = 0; kk < kt; ++kk) _mm512_mask_storeu_ps(dst + (k0 + kk) * W + c0, cmask, r[kk]);
    }
  }
}

// Blocking for a 48 KiB L1d / 2 MiB L2 per core (lscpu here): kc = 256 keeps the
// 14 x 256 fp32 A panel (14 KiB) in L1 beside the streaming B rows, nb = 960 keeps the
// 256 x 960 packed B block (960 KiB) in L2, mb = 3080 rows of A (3 MiB) go to L3.
// Measured single-core (thread CPU time) against kc 384/512 and nb 240/480/1920: within
// noise on 1024^3, best on 2048^3 and 64x4096x4096. fp64 halves nb for the same bytes.
#define DK_ROWS_1_14 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14
constexpr auto kF32 = make_set<Avx512F32, 14, 2, DK_ROWS_1_14>("avx512-fp32-14x32", 256, 960, 14 * 220,
                                                                pack_transposed_f32<14>, pack_transposed_f32<32>);
constexpr auto kF64 = make_set<Avx512F64, 14, 2, DK_ROWS_1_14>("avx512-fp64-14x16", 256, 480, 14 * 220);
#undef DK_ROWS_1_14

}  // namespace

namespace dk::cpu::gemm_detail {
const KernelSet<float>& avx512_f32() { return kF32; }
const KernelSet<double>& avx512_f64() { return kF64; }
}  // namespace dk::cpu::gemm_detail
