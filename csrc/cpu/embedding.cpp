// Embedding lookup (a row gather) and its backward (a row scatter-add), float32/float64.
//
// Layouts: weight (V, D) row-major, ids a flat (n,) int64 array (any id shape is flattened by
// the caller), out / grad_out (n, D).
// Forward: rows are independent; threads take contiguous ranges of ids and memcpy rows.
// Backward: ids repeat (frequent words), so threads cannot split the ids without racing on
// grad_weight rows. Instead each thread *owns* a contiguous range of vocabulary rows: it zeroes
// them, then scans all ids and accumulates the ones that fall in its range. No atomics, no
// locks, no private copies of grad_weight, and the summation order (increasing i) is fixed,
// so results are bit-for-bit deterministic for any thread count. Scanning the ids once per
// thread costs n reads each, negligible next to the n * D adds.
#include "cpu/embedding.h"

#include <cstring>

#include "core/parallel.h"
#include "cpu/simd.h"

namespace dk::cpu {
namespace {

DK_CLONES void add_row(float* dst, const float* src, int64_t d) {
  for (int64_t j = 0; j < d; ++j) dst[j] += src[j];
}
DK_CLONES void add_row(double* dst, const double* src, int64_t d) {
  for (int64_t j = 0; j < d; ++j) dst[j] += src[j];
}

}  // namespace

template <typename T>
void embedding_forward(const T* weight, const int64_t* ids, T* out, int64_t n, int64_t /*V*/, int64_t D) {
  if (n == 0 || D == 0) return;
  // At least ~256 KiB of rows per thread: below that a fork-join costs more than the copy.
  const int64_t grain = (int64_t(1) << 18) / (D * int64_t(sizeof(T))) + 1;
  parallel_for(0, n, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) std::memcpy(out + i * D, weight + ids[i] * D, sizeof(T) * D);
  });
}

template <typename T>
void embedding_backward(const T* grad_out, const int64_t* ids, T* grad_weight, int64_t n, int64_t V, int64_t D,
                        int64_t padding_idx) {
  if (V == 0 || D == 0) return;
  const int nt = V < 2 ? 1 : threads_for(n * D, 1 << 15);
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num();
    const int nth = omp_get_num_threads();
    const int64_t chunk = (V + nth - 1) / nth;
    const int64_t lo = t * chunk;
    const int64_t hi = lo + chunk < V ? lo + chunk : V;
    if (lo < hi) {
      std::memset(grad_weight + lo * D, 0, sizeof(T) * (hi - lo) * D);
      for (int64_t i = 0; i < n; ++i) {
        const int64_t v = ids[i];
        if (v >= lo && v < hi && v != padding_idx) add_row(grad_weight + v * D, grad_out + i * D, D);
      }
    }
  }
}

template void embedding_forward<float>(const float*, const int64_t*, float*, int64_t, int64_t, int64_t);
template void embedding_forward<double>(const double*, const int64_t*, double*, int64_t, int64_t, int64_t);
template void embedding_backward<float>(const float*, const int64_t*, float*, int64_t, int64_t, int64_t, int64_t);
template void embedding_backward<double>(const double*, const int64_t*, double*, int64_t, int64_t, int64_t,
                                         int64_t);

}  // namespace dk::cpu
