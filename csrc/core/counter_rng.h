// Counter-based random numbers: a draw is a pure function of (seed, counter), so a kernel's
// random choices do not depend on how its work is split between threads, blocks or calls, and
// the CPU, CUDA and NumPy reference versions of a kernel draw exactly the same numbers.
// The function is SplitMix64's output mix applied to seed + (i + 1) * golden-ratio increment
// (the stateless form of the SplitMix64 generator, which passes BigCrush).
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define DK_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define DK_HOST_DEVICE inline
#endif

namespace dk {

// The i-th 64-bit draw of the stream `seed`.
DK_HOST_DEVICE uint64_t counter_draw(uint64_t seed, uint64_t i) {
  uint64_t z = seed + (i + 1) * 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace dk
