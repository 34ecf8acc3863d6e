// The op families bound in every extension module. Each has one binding source,
// csrc/bindings/<family>.cpp, defining dk::bind::bind_<family>(m) (see backend.h); adding a
// family is adding that file and a line here.
#pragma once
#include "bindings/common.h"

#define DK_OP_FAMILIES(X) \
  X(activation)            \
  X(attention)             \
  X(boxes)                 \
  X(conv)                  \
  X(conv_transpose)        \
  X(distance)              \
  X(embedding)             \
  X(gemm)                  \
  X(glove)                 \
  X(gram)                  \
  X(loss)                  \
  X(metric_loss)           \
  X(norm)                  \
  X(optim)                 \
  X(pool)                  \
  X(rnn)                   \
  X(softmax)               \
  X(word2vec)

namespace dk::bind {
#define DK_DECLARE_FAMILY(family) void bind_##family(py::module_& m);
DK_OP_FAMILIES(DK_DECLARE_FAMILY)
#undef DK_DECLARE_FAMILY

// Registers every family's entry points in m.
inline void bind_families(py::module_& m) {
#define DK_BIND_FAMILY(family) bind_##family(m);
  DK_OP_FAMILIES(DK_BIND_FAMILY)
#undef DK_BIND_FAMILY
}
}  // namespace dk::bind
