#pragma once
#include <cstdint>

#include "core/activation_kind.h"

namespace dk::cpu {

// y = act(x) elementwise over n values. slope is leaky_relu's negative slope (else unused).
template <typename T>
void activation_forward(Activation act, const T* x, T* y, int64_t n, T slope);

// gx = gy * act'(.) elementwise. `saved` is the forward input x for relu / leaky_relu and
// the forward output y for sigmoid / tanh (their derivatives are cheapest from y).
template <typename T>
void activation_backward(Activation act, const T* saved, const T* gy, T* gx, int64_t n, T slope);

// Inverted dropout over n values: mask[i] = dk::dropout_keep(seed, i, .) (core/dropout_rng.h:
// 1 with probability 1 - p), y = x * mask / (1 - p) (all zeros when p == 1).
template <typename T>
void dropout_forward(const T* x, T* y, uint8_t* mask, int64_t n, double p, uint64_t seed);

// gx = gy * mask / (1 - p): the forward's mask, so backward drops the same elements.
template <typename T>
void dropout_backward(const T* gy, const uint8_t* mask, T* gx, int64_t n, double p);

}  // namespace dk::cpu
