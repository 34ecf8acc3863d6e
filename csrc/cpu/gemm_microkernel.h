// The register-blocked GEMM micro-kernel, written once over a SIMD traits type S and
// instantiated by each per-ISA file (gemm_avx512.cpp, gemm_avx2.cpp) under that file's own
// -m flags. Everything here has internal linkage (anonymous namespace), so an AVX-512 copy of
// it can never be picked by the linker for code that runs on an older CPU.
//
// S provides: T, V (a vector of W lanes of T), Mask, zero(), set1(x), load(p) (aligned),
// loadu(p), storeu(p, v), bcast(p), fma(a, b, c) = a*b + c, add(a, b), mask(n) (first n lanes, n may
// be <= 0 or >= W), loadm(mask, p) (masked lanes read as 0, others not touched), storem(p,
// mask, v), and kAccRegs (vector registers free for accumulators).
//
// Tile: M rows (M <= MR, the packed A stride) x NV*W columns. The M*NV accumulators, the NV
// B vectors of one k step and one broadcast A value must fit in the register file
// (AVX-512 fp32 14x32: 28 + 2 + 1 = 31 of 32 zmm; AVX2 fp32 6x16: 12 + 2 + 1 = 15 of 16 ymm).
// GCC unrolls the constant-trip loops and keeps acc[][] in registers; checked with
// `objdump -d --no-show-raw-insn` on the k loop of ukr<..., MR, ..., M> for M = 1, 3, 7,
// 14: B loads, A broadcasts and vfmadd231p{s,d} on registers only, no stack traffic (see
// gemm.cpp's header for the command).
#pragma once
#include <cstdint>

#include "cpu/gemm_kernels.h"

namespace {

using dk::cpu::gemm_detail::Epilogue;

template <class S, int NV, int M, bool kFull>
inline __attribute__((always_inline)) void store_tile(typename S::V (&acc)[M][NV], typename S::T* c, int64_t ldc,
                                                      int n, const Epilogue<typename S::T>& e) {
  using V = typename S::V;
  constexpr int W = S::W;
  typename S::Mask mask[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) mask[v] = S::mask(n - v * W);
  V bias[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v)
    bias[v] = e.bias == nullptr ? S::zero() : kFull ? S::loadu(e.bias + v * W) : S::loadm(mask[v], e.bias + v * W);
  const V alpha = S::set1(e.alpha);
  const V beta = S::set1(e.beta);
  const bool read_c = e.beta != typename S::T(0);
#pragma GCC unroll 16
  for (int i = 0; i < M; ++i) {
    typename S::T* ci = c + i * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      V r = S::fma(alpha, acc[i][v], bias[v]);
      if (kFull) {
        if (read_c) r = S::fma(beta, S::loadu(ci + v * W), r);
        S::storeu(ci + v * W, r);
      } else {
        if (read_c) r = S::fma(beta, S::loadm(mask[v], ci + v * W), r);
        S::storem(ci + v * W, mask[v], r);
      }
    }
  }
}

// Short tiles (small M) have registers to spare: they split k into C interleaved
// accumulator chains (k % C), added pairwise at the end. More independent FMA chains hide
// the FMA latency that bounds a 1- or 2-row tile, and the shorter sums are more accurate
// (closer to what a BLAS dot/gemv gives for vector-shaped products).
template <class S, int M, int NV>
constexpr int chains() {
  constexpr int c = S::kAccRegs / (M * NV);
  return c >= 4 ? 4 : c >= 2 ? 2 : 1;
}

template <class S, int MR, int NV, int M>
void ukr(int64_t kc, const typename S::T* __restrict__ a, const typename S::T* __restrict__ b, typename S::T* c,
         int64_t ldc, int n, const Epilogue<typename S::T>& e) {
  using V = typename S::V;
  constexpr int W = S::W;
  constexpr int C = chains<S, M, NV>();
  V acc[C][M][NV];
#pragma GCC unroll 4
  for (int h = 0; h < C; ++h)
#pragma GCC unroll 16
    for (int i = 0; i < M; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[h][i][v] = S::zero();
  // The C tile is needed only after the k loop: start fetching it now.
#pragma GCC unroll 16
  for (int i = 0; i < M; ++i) {
    __builtin_prefetch(c + i * ldc, 1);
    __builtin_prefetch(c + i * ldc + NV * W - 1, 1);
  }
  auto step = [&](V(&dst)[M][NV]) __attribute__((always_inline)) {
    V bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = S::load(b + v * W);
#pragma GCC unroll 16
    for (int i = 0; i < M; ++i) {
      const V ai = S::bcast(a + i);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) dst[i][v] = S::fma(ai, bv[v], dst[i][v]);
    }
    a += MR;
    b += NV * W;
  };
  int64_t k = 0;
  if (C == 1) {
#pragma GCC unroll 2
    for (; k < kc; ++k) step(acc[0]);
  } else {
    for (; k + C <= kc; k += C) {
#pragma GCC unroll 4
      for (int h = 0; h < C; ++h) step(acc[h]);
    }
#pragma GCC unroll 4
    for (int h = 0; h + 1 < C; ++h)  // the last kc % C steps (constant indices keep acc in registers)
      if (k < kc) {
        step(acc[h]);
        ++k;
      }
#pragma GCC unroll 16
    for (int i = 0; i < M; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        if (C == 4) {
          acc[0][i][v] = S::add(S::add(acc[0][i][v], acc[1][i][v]), S::add(acc[2][i][v], acc[3][i][v]));
        } else {
          acc[0][i][v] = S::add(acc[0][i][v], acc[C - 1][i][v]);
        }
      }
  }
  if (n == NV * W)
    store_tile<S, NV, M, true>(acc[0], c, ldc, n, e);
  else
    store_tile<S, NV, M, false>(acc[0], c, ldc, n, e);
}

// The NR = NV*W column panel of a row-major B (see PackRows): NV vectors per k row, the
// last ones masked (masked lanes read as 0, so the panel's padding comes out zero).
template <class S, int NV>
void pack_rows(const typename S::T* src, int64_t ld, int64_t kc, int n, typename S::T* dst) {
  constexpr int W = S::W;
  typename S::Mask mask[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) mask[v] = S::mask(n - v * W);
  if (n == NV * W) {
    for (int64_t k = 0; k < kc; ++k)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) S::storeu(dst + k * NV * W + v * W, S::loadu(src + k * ld + v * W));
  } else {
    for (int64_t k = 0; k < kc; ++k)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) S::storeu(dst + k * NV * W + v * W, S::loadm(mask[v], src + k * ld + v * W));
  }
}

// DotRows: four rows of B against a at a time, two vectors of k per row in flight (eight
// independent FMA chains), the k tail masked; each row's lanes added pairwise at the end.
template <class S>
typename S::T sum_lanes(typename S::V v) {
  using T = typename S::T;
  T lanes[S::W];
  S::storeu(lanes, v);
  for (int n = S::W; n > 1; n /= 2)
    for (int l = 0; l < n / 2; ++l) lanes[l] += lanes[l + n / 2];
  return lanes[0];
}

template <class S>
void dot_rows(const typename S::T* a, const typename S::T* B, int64_t ldb, int64_t n0, int64_t n1, int64_t K,
              typename S::T* out) {
  using V = typename S::V;
  constexpr int W = S::W;
  int64_t n = n0;
  for (; n < n1; n += 4) {
    const int rows = n1 - n < 4 ? static_cast<int>(n1 - n) : 4;
    const typename S::T* b[4];
    for (int r = 0; r < 4; ++r) b[r] = B + (n + (r < rows ? r : 0)) * ldb;  // short block: repeat row 0
    V acc[4][2];
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r) acc[r][0] = acc[r][1] = S::zero();
    int64_t k = 0;
    for (; k + 2 * W <= K; k += 2 * W) {
      const V a0 = S::loadu(a + k), a1 = S::loadu(a + k + W);
#pragma GCC unroll 4
      for (int r = 0; r < 4; ++r) {
        acc[r][0] = S::fma(a0, S::loadu(b[r] + k), acc[r][0]);
        acc[r][1] = S::fma(a1, S::loadu(b[r] + k + W), acc[r][1]);
      }
    }
    for (; k < K; k += W) {
      const auto m = S::mask(static_cast<int>(K - k < W ? K - k : W));
      const V a0 = S::loadm(m, a + k);
#pragma GCC unroll 4
      for (int r = 0; r < 4; ++r) acc[r][0] = S::fma(a0, S::loadm(m, b[r] + k), acc[r][0]);
    }
    for (int r = 0; r < rows; ++r) out[n + r] = sum_lanes<S>(S::add(acc[r][0], acc[r][1]));
  }
}

// The KernelSet of one ISA and dtype: rows[m] = ukr<S, MR, NV, m> for m = 1..MR.
template <class S, int MR, int NV, int... Ms>
constexpr dk::cpu::gemm_detail::KernelSet<typename S::T> make_set(
    const char* name, int kc, int nb, int mb,
    dk::cpu::gemm_detail::PackTransposed<typename S::T> pack_a = nullptr,
    dk::cpu::gemm_detail::PackTransposed<typename S::T> pack_b_trans = nullptr) {
  return {name, MR, NV * S::W, kc, nb, mb, {nullptr, &ukr<S, MR, NV, Ms>...}, pack_a, pack_b_trans,
          &pack_rows<S, NV>, &dot_rows<S>};
}

}  // namespace
