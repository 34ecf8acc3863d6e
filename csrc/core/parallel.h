// Threading for CPU kernels. One process-wide thread count (deepkern.set_num_threads) is
// passed explicitly to every parallel region, so it holds whichever Python thread calls.
// Kernels called from inside a parallel region (e.g. GEMM from a per-image conv loop)
// run on one thread instead of nesting.
#pragma once
#include <omp.h>

#include <cstdint>

namespace dk {

void set_num_threads(int n);
int get_num_threads();

// Threads worth using for `work` units of roughly `cost` flops each.
inline int threads_for(int64_t work, int64_t min_work_per_thread = 1 << 15) {
  if (omp_in_parallel()) return 1;
  int64_t by_work = work / (min_work_per_thread > 0 ? min_work_per_thread : 1);
  int n = get_num_threads();
  return static_cast<int>(by_work < 1 ? 1 : (by_work < n ? by_work : n));
}

// parallel_for(begin, end, grain, f): f(lo, hi) over contiguous chunks, statically scheduled.
template <typename F>
void parallel_for(int64_t begin, int64_t end, int64_t grain, F&& f) {
  const int64_t n = end - begin;
  if (n <= 0) return;
  const int nt = threads_for(n, grain);
  if (nt <= 1) {
    f(begin, end);
    return;
  }
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num();
    const int nth = omp_get_num_threads();
    const int64_t chunk = (n + nth - 1) / nth;
    const int64_t lo = begin + t * chunk;
    const int64_t hi = lo + chunk < end ? lo + chunk : end;
    if (lo < hi) f(lo, hi);
  }
}

}  // namespace dk
