// What the CPU and CUDA distance kernels (csrc/cpu/distance.cpp, csrc/cuda/distance.cu) share:
// which p-norm a call computes, and which Euclidean pairs leave the GEMM form
// s = ||a||^2 + ||b||^2 - 2 a.b for the direct sum of squared differences.
#pragma once
#include <cmath>
#include <limits>
#include <type_traits>

#if defined(__CUDACC__)
#define DK_DISTANCE_INLINE __host__ __device__ __forceinline__
#else
#define DK_DISTANCE_INLINE inline __attribute__((always_inline))
#endif

namespace dk {

enum class Lp { zero, one, two, inf, general };

inline Lp lp_kind(double p) {
  if (p == 0) return Lp::zero;
  if (p == 1) return Lp::one;
  if (p == 2) return Lp::two;
  if (std::isinf(p)) return Lp::inf;
  return Lp::general;
}

// Calls f(std::integral_constant<Lp, kind>{}) for p's kind, so kernels specialize per norm.
template <typename F>
void dispatch_lp(double p, F&& f) {
  switch (lp_kind(p)) {
    case Lp::zero: return f(std::integral_constant<Lp, Lp::zero>{});
    case Lp::one: return f(std::integral_constant<Lp, Lp::one>{});
    case Lp::two: return f(std::integral_constant<Lp, Lp::two>{});
    case Lp::inf: return f(std::integral_constant<Lp, Lp::inf>{});
    case Lp::general: return f(std::integral_constant<Lp, Lp::general>{});
  }
}

// Pairs closer than this fraction of n1 + n2 (in squared distance) are summed directly.
constexpr double kNearFraction = 0.25;

// Whether a pair with squared norms n1, n2 and squared distance s (by the GEMM form, or the
// stored output) is summed directly:
//   near pairs, s < kNearFraction (n1 + n2): the GEMM form's absolute error ~eps (n1 + n2)
//     swamps s (at coincident points it leaves sqrt(eps) |a| where the answer is 0);
//   pairs with a non-finite norm (an inf or NaN coordinate, or squares that overflow): the GEMM
//     form computes inf - inf = NaN where the difference form gives inf (NaN stays NaN).
// A GEMM output depends only on its own row and column, so the other pairs are unaffected.
template <typename T>
DK_DISTANCE_INLINE bool direct_pair(T s, T n1, T n2) {
  const T scale = n1 + n2;
  return s < T(kNearFraction) * scale || !(scale <= std::numeric_limits<T>::max());
}

}  // namespace dk
