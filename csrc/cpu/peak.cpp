// The machine's floating-point peak, measured rather than estimated from a clock that turbo
// makes wrong (an estimate from /proc/cpuinfo gave "115% of peak").
//
// Each thread runs a loop of independent fused multiply-adds on registers only: kAcc
// accumulator vectors of the widest width the CPU runs (zmm with AVX-512, ymm with AVX2+FMA,
// xmm with SSE2, where a multiply and an add stand in for the FMA), enough independent chains
// to cover the FMA latency on every current core, and few enough to stay in registers (12 +
// 2 operands: 14 of the 16 ymm / xmm or 32 zmm). The flops are counted as 2 per lane per FMA.
// `threads` threads run it together under OpenMP for about `seconds`; the best of three runs
// is the peak (bench's "% of peak" column divides by it).
#include "cpu/peak.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "core/cpu_features.h"

namespace dk::cpu {
namespace {

constexpr int kAcc = 12;

template <typename V, typename T>
__attribute__((always_inline)) inline T fma_chains(int64_t iters, T seed) {
  V acc[kAcc];
  for (int k = 0; k < kAcc; ++k) acc[k] = V{} + (seed + T(k) * T(1e-3));
  const V a = V{} + T(0.999999), b = V{} + T(1e-7);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int k = 0; k < kAcc; ++k) acc[k] = acc[k] * a + b;  // contracted to one FMA where the ISA has it
  }
  V s = acc[0];
  for (int k = 1; k < kAcc; ++k) s += acc[k];
  T r = 0;
  for (unsigned l = 0; l < sizeof(V) / sizeof(T); ++l) r += s[l];
  return r;  // returned, so the loop is not optimized away
}

// GCC vector types of `Bytes` bytes (an alias template would drop the attribute).
template <typename T, int Bytes>
struct Vec;
template <int Bytes>
struct Vec<float, Bytes> {
  typedef float type __attribute__((vector_size(Bytes)));
};
template <int Bytes>
struct Vec<double, Bytes> {
  typedef double type __attribute__((vector_size(Bytes)));
};

template <typename T>
__attribute__((target("avx512f,fma"))) T run_avx512(int64_t iters, T seed) {
  return fma_chains<typename Vec<T, 64>::type, T>(iters, seed);
}
template <typename T>
__attribute__((target("avx2,fma"))) T run_avx2(int64_t iters, T seed) {
  return fma_chains<typename Vec<T, 32>::type, T>(iters, seed);
}
template <typename T>
T run_baseline(int64_t iters, T seed) {
  return fma_chains<typename Vec<T, 16>::type, T>(iters, seed);
}

template <typename T>
double run(int threads, double seconds) {
  const Isa isa = cpu_isa();
  const int lanes = (isa == Isa::avx512 ? 64 : isa == Isa::avx2 ? 32 : 16) / int(sizeof(T));
  auto once = [&](int64_t iters) {
    volatile T sink = 0;
    const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads)
    {
      const T seed = T(omp_get_thread_num()) * T(1e-6);
      const T r = isa == Isa::avx512 ? run_avx512<T>(iters, seed)
                  : isa == Isa::avx2 ? run_avx2<T>(iters, seed)
                                     : run_baseline<T>(iters, seed);
#pragma omp atomic
      sink += r;
    }
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return double(iters) * kAcc * lanes * 2.0 * threads / dt / 1e9;
  };
  // Calibrate the iteration count to about `seconds`, then take the best of three runs.
  int64_t iters = 1 << 16;
  for (;;) {
    const auto t0 = std::chrono::steady_clock::now();
    once(iters);
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (dt > seconds / 8 || iters > (int64_t(1) << 40)) {
      iters = std::max<int64_t>(iters, int64_t(double(iters) * seconds / std::max(dt, 1e-9) / 3));
      break;
    }
    iters *= 4;
  }
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) best = std::max(best, once(iters));
  return best;
}

}  // namespace

double measure_peak_gflops(int threads, bool double_precision, double seconds) {
  threads = std::max(1, threads);
  return double_precision ? run<double>(threads, seconds) : run<float>(threads, seconds);
}

}  // namespace dk::cpu
