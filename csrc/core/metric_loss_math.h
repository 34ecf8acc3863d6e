// The contrastive loss of one pair and its gradient's scale, shared by the CPU and CUDA kernels
// (csrc/*/metric_loss.*) so that both treat infinite and NaN distances alike.
#pragma once

#if defined(__CUDACC__)
#define DK_METRIC_INLINE __host__ __device__ __forceinline__
#else
#define DK_METRIC_INLINE inline
#endif

namespace dk {

// (t s + (1 - t) max(0, margin - d)^2) / 2 for a pair at distance d (s = d^2), target t (1 =
// same). A term its target switches off is 0, not 0 * inf: a different pair at infinite distance
// costs 0 (as max(margin - d, 0) = 0 says), a same pair inf. A NaN distance gives NaN.
template <typename T>
DK_METRIC_INLINE T contrastive_row(T d, T s, T t, T margin) {
  if (d != d) return d;
  const T h = margin - d > T(0) ? margin - d : T(0);
  const T same = t != T(0) ? t * s : T(0);
  const T different = t != T(1) ? (T(1) - t) * h * h : T(0);
  return T(0.5) * (same + different);
}

// c with d(loss)/d(x1) = c (x1 - x2): g (t - (1 - t) [0 < d < margin] (margin - d) / d), the hinge
// term 0 at d = 0. A NaN distance gives NaN; a zero c means a zero gradient even where x1 - x2
// is infinite (the kernels write 0 rather than 0 * inf).
template <typename T>
DK_METRIC_INLINE T contrastive_coefficient(T g, T d, T t, T margin) {
  if (d != d) return d;
  const T hinge = (d < margin && d > T(0)) ? (T(1) - t) * (margin - d) / d : T(0);
  return g * (t - hinge);
}

}  // namespace dk
