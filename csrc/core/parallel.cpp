#include "core/parallel.h"

#include <atomic>

#include "core/checks.h"

namespace dk {

namespace {
std::atomic<int> g_num_threads{0};  // 0: not set yet, use OpenMP's default (OMP_NUM_THREADS)
}

void set_num_threads(int n) {
  DK_CHECK(n >= 1, "set_num_threads: n must be >= 1, got ", n);
  g_num_threads = n;
}

int get_num_threads() {
  int n = g_num_threads.load();
  return n > 0 ? n : omp_get_max_threads();
}

}  // namespace dk
