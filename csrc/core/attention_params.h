// Problem description shared by the CPU and CUDA attention kernels (csrc/{cpu,cuda}/attention.*).
#pragma once
#include <cstdint>

namespace dk {

// How the optional mask enters the scores: none; boolean (uint8/bool, nonzero = may attend);
// additive (same float type as q, added to the scaled scores; -inf forbids).
enum class AttnMask { none, boolean, additive };

// q is (batch, L, D), k is (batch, S, D), v is (batch, S, Dv), out is (batch, L, Dv),
// lse is (batch, L), all C-contiguous. A mask is (M, L, S) and batch item b uses the matrix
// mask_index[b] in [0, M), so a mask broadcast over batch or heads is stored once (M = 0: no
// mask).
struct AttnDims {
  int64_t batch, L, S, D, Dv;
  int64_t M = 0;
};

}  // namespace dk
