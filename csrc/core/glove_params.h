// The GloVe training call shared by the CPU and CUDA kernels (csrc/{cpu,cuda}/glove.*): one
// pass over a list of co-occurrence pairs, updating the model in place.
#pragma once
#include <cstdint>

namespace dk {

template <typename T>
struct GloveArgs {
  // The model, V words, D dimensions: word vectors W, context vectors Wc, their biases, and the
  // AdaGrad accumulators of each (start at 1, as in glove.c).
  T *W, *Wc, *b, *bc;            // (V, D), (V, D), (V,), (V,)
  T *gW, *gWc, *gb, *gbc;        // same shapes
  int64_t vocab_size, dim;
  // The pairs, in training order: word rows[k], context cols[k], log X[k] and the weight
  // f(X[k]) = min(1, (X / x_max)^alpha).
  const int32_t* rows;
  const int32_t* cols;
  const T* log_x;
  const T* weight;
  int64_t num_pairs;
  double learning_rate;
  // CPU: threads (Hogwild over contiguous ranges of the pairs, as glove.c). CUDA: pairs whose
  // updates are computed from the same model before any is applied. 1: the pairs in order.
  int workers;
  uint8_t* workspace;  // CUDA: glove_workspace_size() bytes; CPU: unused
  double* stats;       // (2,) out: [sum of 0.5 f(X) (w.wc + b + bc - log X)^2, pairs skipped as non-finite]
};

}  // namespace dk
