// Losses: cross-entropy over a class axis and the pointwise losses (loss_kind.h): forward and backward.
// The pointwise entries take ``param``, the smooth L1 / Huber threshold (beta / delta; unused by
// the other kinds, which pass 0).
//
// Labels are range-checked here when they are on the host, so a direct call never indexes out of
// bounds. On the GPU (labels in device memory) deepkern.ops checks their range (one device
// reduction) before the launch, and the kernels give a row with a bad label NaN instead of
// reading out of bounds.
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "bindings/axis_split.h"
#include "bindings/backend.h"
#include DK_KERNELS(loss.h)

namespace dk::bind {
namespace {

// logits (N, C, d...) split as (outer=N, C, inner); target int64 and every per-row array
// (N, d...); weight (C,). Per-row outputs must be writable.
AxisSplit check_cross_entropy(const char* op, const TensorView& logits, const TensorView& target,
                              const OptView& weight, std::initializer_list<const TensorView*> rows,
                              std::initializer_list<const char*> row_names, bool rows_written) {
  expect_device(logits, "logits", op);
  DK_CHECK(logits.ndim() >= 2, op, ": logits must be (N, C) or (N, C, d1, ...), got shape ",
           shape_str(logits.shape));
  std::vector<int64_t> row_shape(logits.shape);
  row_shape.erase(row_shape.begin() + 1);
  expect_device(target, "target", op).dtype(DType::i64).shape(row_shape);
  const AxisSplit s = split_axis(logits, 1, op);
  if (weight) expect_device(*weight, "weight", op).dtype(logits.dtype).shape({s.dim});
  auto name = row_names.begin();
  for (const TensorView* r : rows) {
    expect_device(*r, *name, op).dtype(logits.dtype).shape(row_shape);
    if (rows_written) expect(*r, *name, op).writable();
    ++name;
  }
  return s;
}

// Host labels only (see the top of this file).
void check_labels(const char* op, const TensorView& target, int64_t C, int64_t ignore_index) {
  if constexpr (!Backend::is_cuda) {
    const int64_t* t = target.ptr<int64_t>();
    for (int64_t i = 0; i < target.numel(); ++i)
      DK_CHECK(t[i] == ignore_index || (t[i] >= 0 && t[i] < C), op, ": target contains label ", t[i],
               " outside [0, ", C, ") (C=", C, ", ignore_index=", ignore_index, ")");
  }
}

// The upstream gradient: one element (broadcast) or `shape`; returns whether it is per element.
bool check_grad(const char* op, const TensorView& g, const TensorView& like, const std::vector<int64_t>& shape,
                const char* of) {
  expect_device(g, "g", op).dtype(like.dtype);
  const bool per = g.shape == shape;
  DK_CHECK(per || g.numel() == 1, op, ": g must have one element or the shape of ", of, " ", shape_str(shape),
           ", got ", shape_str(g.shape));
  return per;
}

// Elementwise losses: input, target, weight and pos_weight all of one shape.
void check_pointwise(const char* op, const TensorView& a, const TensorView& b, const OptView& weight,
                     const OptView& pos_weight) {
  expect_device(a, "input", op);
  expect_device(b, "target", op).dtype(a.dtype).shape(a.shape);
  for (const auto& [v, name] : {std::pair{&weight, "weight"}, std::pair{&pos_weight, "pos_weight"}})
    if (*v) expect_device(**v, name, op).dtype(a.dtype).shape(a.shape);
}

}  // namespace

void bind_loss(py::module_& m) {
  def(
      m, "cross_entropy_forward",
      [](Launch launch, const TensorView& logits, const TensorView& target, const OptView& weight,
         const TensorView& loss, const TensorView& row_max, const TensorView& row_logsum, int64_t ignore_index) {
        const char* op = "cross_entropy_forward";
        const auto s = check_cross_entropy(op, logits, target, weight, {&loss, &row_max, &row_logsum},
                                           {"loss", "row_max", "row_logsum"}, true);
        check_labels(op, target, s.dim, ignore_index);
        dispatch_float(logits.dtype, op, [&](auto tag) {
          using T = decltype(tag);
          if (logits.numel() == 0) return;
          launch(kernels::cross_entropy_forward<T>, logits.ptr<T>(), target.ptr<int64_t>(), opt_ptr<T>(weight),
                 loss.ptr<T>(), row_max.ptr<T>(), row_logsum.ptr<T>(), s.outer, s.dim, s.inner, ignore_index);
        });
      },
      "logits"_a, "target"_a, "weight"_a, "loss"_a, "row_max"_a, "row_logsum"_a, "ignore_index"_a);
  def(
      m, "cross_entropy_backward",
      [](Launch launch, const TensorView& logits, const TensorView& target, const OptView& weight,
         const TensorView& row_max, const TensorView& row_logsum, const TensorView& g, const TensorView& grad,
         int64_t ignore_index) {
        const char* op = "cross_entropy_backward";
        const auto s = check_cross_entropy(op, logits, target, weight, {&row_max, &row_logsum},
                                           {"row_max", "row_logsum"}, false);
        const bool per_row = check_grad(op, g, logits, target.shape, "target");
        expect_device(grad, "grad", op).dtype(logits.dtype).shape(logits.shape).writable();
        check_labels(op, target, s.dim, ignore_index);
        dispatch_float(logits.dtype, op, [&](auto tag) {
          using T = decltype(tag);
          if (logits.numel() == 0) return;
          launch(kernels::cross_entropy_backward<T>, logits.ptr<T>(), target.ptr<int64_t>(), opt_ptr<T>(weight),
                 row_max.ptr<T>(), row_logsum.ptr<T>(), g.ptr<T>(), per_row, grad.ptr<T>(), s.outer, s.dim, s.inner,
                 ignore_index);
        });
      },
      "logits"_a, "target"_a, "weight"_a, "row_max"_a, "row_logsum"_a, "g"_a, "grad"_a, "ignore_index"_a);
  def(
      m, "pointwise_loss_forward",
      [](Launch launch, const std::string& kind, const TensorView& a, const TensorView& b, const OptView& weight,
         const OptView& pos_weight, double param, const TensorView& out) {
        const char* op = "pointwise_loss_forward";
        const PointwiseLoss k = parse_pointwise_loss(kind);
        check_pointwise(op, a, b, weight, pos_weight);
        expect_device(out, "out", op).dtype(a.dtype).shape(a.shape).writable();
        dispatch_float(a.dtype, op, [&](auto tag) {
          using T = decltype(tag);
          launch(kernels::pointwise_loss_forward<T>, k, a.ptr<T>(), b.ptr<T>(), opt_ptr<T>(weight),
                 opt_ptr<T>(pos_weight), static_cast<T>(param), out.ptr<T>(), a.numel());
        });
      },
      "kind"_a, "input"_a, "target"_a, "weight"_a, "pos_weight"_a, "param"_a, "out"_a);
  def(
      m, "pointwise_loss_backward",
      [](Launch launch, const std::string& kind, const TensorView& a, const TensorView& b, const OptView& weight,
         const OptView& pos_weight, double param, const TensorView& g, const TensorView& grad) {
        const char* op = "pointwise_loss_backward";
        const PointwiseLoss k = parse_pointwise_loss(kind);
        check_pointwise(op, a, b, weight, pos_weight);
        const bool per_elem = check_grad(op, g, a, a.shape, "input");
        expect_device(grad, "grad", op).dtype(a.dtype).shape(a.shape).writable();
        dispatch_float(a.dtype, op, [&](auto tag) {
          using T = decltype(tag);
          launch(kernels::pointwise_loss_backward<T>, k, a.ptr<T>(), b.ptr<T>(), opt_ptr<T>(weight),
                 opt_ptr<T>(pos_weight), static_cast<T>(param), g.ptr<T>(), per_elem, grad.ptr<T>(), a.numel());
        });
      },
      "kind"_a, "input"_a, "target"_a, "weight"_a, "pos_weight"_a, "param"_a, "g"_a, "grad"_a);
}

}  // namespace dk::bind
