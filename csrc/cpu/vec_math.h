// Vectorizable math for the softmax and loss kernels.
//
// std::exp does not auto-vectorize without -ffast-math (glibc's vector variants are only
// declared under __FAST_MATH__), which this project does not use. vexp<float> is a
// branch-free Cephes-style expf written with selects and integer bit tricks, so a loop that
// calls it vectorizes inside DK_CLONES functions (AVX2 / AVX-512 clones):
//   n = round(x log2 e)                    (the 1.5*2^23 "magic number" rounding: no SSE4.1)
//   r = x - n ln2                           (ln2 split in two parts, |r| <= ln2/2)
//   e^r = 1 + r + r^2 p(r)                  (degree-5 p: Cephes expf, ~1 ulp)
//   e^x = e^r * 2^(n/2) * 2^(n - n/2)       (two factors: n spans [-150, 128], each factor's
//                                            exponent stays normal; results round into the
//                                            subnormal range correctly)
// x < -104 gives 0, x > 88.72 gives inf, NaN stays NaN. vexp<double> is std::exp: the float64
// kernels exist for gradient checks and references, not for speed.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "cpu/simd.h"

namespace dk::cpu {

// Independent partial results kept by the reduction loops (32 floats / 16 doubles: two
// AVX-512 registers), so GCC vectorizes max/sum reductions without -ffast-math.
template <typename T>
constexpr int kLanes = 128 / sizeof(T);

DK_INLINE float bits_to_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

DK_INLINE uint32_t float_to_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

template <typename T>
DK_INLINE T vexp(T x) {
  return std::exp(x);
}

template <>
DK_INLINE float vexp<float>(float x) {
  const float lo = -104.0f, hi = 88.7228394f;
  float xc = x < lo ? lo : x;
  xc = xc > hi ? hi : xc;
  const float magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer in the low bits
  const float t = xc * 1.44269504088896341f + magic;
  const float n = t - magic;
  const int32_t ni = static_cast<int32_t>(float_to_bits(t) - float_to_bits(magic));
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float er = p * (r * r) + r + 1.0f;
  const int32_t n1 = ni >> 1, n2 = ni - n1;
  const float s1 = bits_to_float(static_cast<uint32_t>(n1 + 127) << 23);
  const float s2 = bits_to_float(static_cast<uint32_t>(n2 + 127) << 23);
  float y = er * s1 * s2;
  y = x < lo ? 0.0f : y;
  y = x > hi ? std::numeric_limits<float>::infinity() : y;
  return y;
}

// max of a contiguous row of n values (-inf for n == 0; NaNs are skipped), with kLanes lanes.
template <typename T>
DK_INLINE T row_max(const T* x, int64_t n) {
  constexpr int L = kLanes<T>;
  T acc[L];
  for (int j = 0; j < L; ++j) acc[j] = -std::numeric_limits<T>::infinity();
  int64_t i = 0;
  for (; i + L <= n; i += L)
    for (int j = 0; j < L; ++j) acc[j] = x[i + j] > acc[j] ? x[i + j] : acc[j];
  for (int j = 0; i + j < n; ++j) acc[j] = x[i + j] > acc[j] ? x[i + j] : acc[j];
  T m = acc[0];
  for (int j = 1; j < L; ++j) m = acc[j] > m ? acc[j] : m;
  return m;
}

// sum_i f(i) accumulated in A with kLanes<A> partial sums.
template <typename A, typename F>
DK_INLINE A lane_sum(int64_t n, F&& f) {
  constexpr int L = kLanes<A>;
  A acc[L] = {};
  int64_t i = 0;
  for (; i + L <= n; i += L)
    for (int j = 0; j < L; ++j) acc[j] += A(f(i + j));
  for (int j = 0; i + j < n; ++j) acc[j] += A(f(i + j));
  A s = A(0);
  for (int j = 0; j < L; ++j) s += acc[j];
  return s;
}

}  // namespace dk::cpu
