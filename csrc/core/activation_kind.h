#pragma once

namespace dk {
// Elementwise activations shared by the CPU and CUDA kernels.
enum class Activation { relu, leaky_relu, sigmoid, tanh };
}  // namespace dk
