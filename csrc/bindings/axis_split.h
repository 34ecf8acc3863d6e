// (outer, dim, inner) view of a C-contiguous array around one axis, for the kernels that
// reduce along an axis in place (softmax, cross-entropy, batch norm).
#pragma once
#include "core/tensor_view.h"

namespace dk::bind {

struct AxisSplit {
  int64_t outer = 1, dim = 1, inner = 1;
};

// axis may be negative (counted from the end); it must name a dimension of v.
inline AxisSplit split_axis(const TensorView& v, int64_t axis, const char* op) {
  const int64_t nd = v.ndim();
  DK_CHECK(axis >= -nd && axis < nd, op, ": axis ", axis, " is out of range for an array of shape ",
           shape_str(v.shape));
  if (axis < 0) axis += nd;
  AxisSplit s;
  for (int64_t d = 0; d < axis; ++d) s.outer *= v.shape[d];
  s.dim = v.shape[axis];
  for (int64_t d = axis + 1; d < nd; ++d) s.inner *= v.shape[d];
  return s;
}

}  // namespace dk::bind
