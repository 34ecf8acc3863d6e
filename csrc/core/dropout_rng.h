// The dropout mask as a pure function of (seed, element index), shared by the CPU and CUDA
// kernels so one seed gives one mask on either device and for any thread or block count.
// Counter-based (core/counter_rng.h): the top 32 bits of draw i are compared with p * 2^32,
// so P(drop) = p to within 2^-32 and p = 1 drops all.
#pragma once
#include <cstdint>

#include "core/counter_rng.h"

namespace dk {

// p in [0, 1] -> threshold in [0, 2^32]; element i is kept when its 32-bit draw >= threshold.
DK_HOST_DEVICE uint64_t dropout_threshold(double p) { return static_cast<uint64_t>(p * 4294967296.0); }

DK_HOST_DEVICE uint8_t dropout_keep(uint64_t seed, uint64_t i, uint64_t threshold) {
  return (counter_draw(seed, i) >> 32) >= threshold ? 1 : 0;
}

// Inverted dropout's scale for kept values: 1 / (1 - p), and 0 when everything is dropped.
DK_HOST_DEVICE double dropout_scale(double p) { return p < 1.0 ? 1.0 / (1.0 - p) : 0.0; }

}  // namespace dk
