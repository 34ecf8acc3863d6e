// Entry-point checks shared by the CPU and CUDA loss bindings.
#pragma once
#include <initializer_list>
#include <optional>
#include <vector>

#include "bindings/axis_split.h"
#include "bindings/common.h"

namespace dk::bind {

using OptView = std::optional<TensorView>;

template <typename T>
T* opt_ptr(const OptView& v) {
  return v ? v->ptr<T>() : nullptr;
}

inline void expect_on(Device dev, const TensorView& v, const char* name, const char* op) {
  expect(v, name, op).device(dev).contiguous();
}

// logits (N, C, d...) split as (outer=N, C, inner); target int64 and every per-row array
// (N, d...); weight (C,). Per-row outputs must be writable.
inline AxisSplit check_cross_entropy(Device dev, const char* op, const TensorView& logits, const TensorView& target,
                                     const OptView& weight, std::initializer_list<const TensorView*> rows,
                                     std::initializer_list<const char*> row_names, bool rows_written) {
  expect_on(dev, logits, "logits", op);
  DK_CHECK(logits.ndim() >= 2, op, ": logits must be (N, C) or (N, C, d1, ...), got shape ",
           shape_str(logits.shape));
  std::vector<int64_t> row_shape(logits.shape);
  row_shape.erase(row_shape.begin() + 1);
  expect_on(dev, target, "target", op);
  expect(target, "target", op).dtype(DType::i64).shape(row_shape);
  const AxisSplit s = split_axis(logits, 1, op);
  if (weight) {
    expect_on(dev, *weight, "weight", op);
    expect(*weight, "weight", op).dtype(logits.dtype).shape({s.dim});
  }
  auto name = row_names.begin();
  for (const TensorView* r : rows) {
    expect_on(dev, *r, *name, op);
    expect(*r, *name, op).dtype(logits.dtype).shape(row_shape);
    if (rows_written) expect(*r, *name, op).writable();
    ++name;
  }
  return s;
}

// The upstream gradient: one element (broadcast) or `shape`; returns whether it is per element.
inline bool check_grad(Device dev, const char* op, const TensorView& g, const TensorView& like,
                       const std::vector<int64_t>& shape, const char* of) {
  expect_on(dev, g, "g", op);
  expect(g, "g", op).dtype(like.dtype);
  const bool per = g.shape == shape;
  DK_CHECK(per || g.numel() == 1, op, ": g must have one element or the shape of ", of, " ", shape_str(shape),
           ", got ", shape_str(g.shape));
  return per;
}

// Elementwise losses: input, target, weight and pos_weight all of one shape.
inline void check_pointwise(Device dev, const char* op, const TensorView& a, const TensorView& b,
                            const OptView& weight, const OptView& pos_weight) {
  expect_on(dev, a, "input", op);
  expect_on(dev, b, "target", op);
  expect(b, "target", op).dtype(a.dtype).shape(a.shape);
  for (const auto& [v, name] : {std::pair{&weight, "weight"}, std::pair{&pos_weight, "pos_weight"}}) {
    if (!*v) continue;
    expect_on(dev, **v, name, op);
    expect(**v, name, op).dtype(a.dtype).shape(a.shape);
  }
}

}  // namespace dk::bind
