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

}  // namespace dk::cpu
