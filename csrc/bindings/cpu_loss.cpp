#include <optional>

#include "bindings/axis_split.h"
#include "bindings/common.h"
#include "cpu/loss.h"

namespace {

using dk::TensorView;
using OptView = std::optional<TensorView>;

template <typename T>
const T* opt_ptr(const OptView& v) {
  return v ? v->ptr<T>() : nullptr;
}

// logits (N, C, d...) and its (outer, C, inner) split; target and every per-row array (N, d...).
dk::bind::AxisSplit check_cross_entropy(const char* op, const TensorView& logits, const TensorView& target,
                                        const OptView& weight, std::initializer_list<const TensorView*> rows,
                                        std::initializer_list<const char*> row_names) {
  dk::bind::expect_cpu(logits, "logits", op);
  DK_CHECK(logits.ndim() >= 2, op, ": logits must be (N, C) or (N, C, d1, ...), got shape ", dk::shape_str(logits.shape));
  std::vector<int64_t> row_shape(logits.shape);
  row_shape.erase(row_shape.begin() + 1);
  dk::bind::expect_cpu(target, "target", op);
  dk::expect(target, "target", op).dtype(dk::DType::i64).shape(row_shape);
  const dk::bind::AxisSplit s = dk::bind::split_axis(logits, 1, op);
  if (weight) {
    dk::bind::expect_cpu(*weight, "weight", op);
    dk::expect(*weight, "weight", op).dtype(logits.dtype).shape({s.dim});
  }
  auto name = row_names.begin();
  for (const TensorView* r : rows) {
    dk::bind::expect_cpu(*r, *name, op);
    dk::expect(*r, *name, op).dtype(logits.dtype).shape(row_shape);
    ++name;
  }
  return s;
}

}  // namespace

void bind_cpu_loss(py::module_& m) {
  m.def(
      "cross_entropy_forward",
      [](const TensorView& logits, const TensorView& target, const OptView& weight, const TensorView& loss,
         const TensorView& row_max, const TensorView& row_logsum, int64_t ignore_index) {
        const char* op = "cross_entropy_forward";
        const auto s = check_cross_entropy(op, logits, target, weight, {&loss, &row_max, &row_logsum},
                                           {"loss", "row_max", "row_logsum"});
        dk::expect(loss, "loss", op).writable();
        dk::expect(row_max, "row_max", op).writable();
        dk::expect(row_logsum, "row_logsum", op).writable();
        const int64_t* t = target.ptr<int64_t>();
        for (int64_t i = 0; i < target.numel(); ++i)
          DK_CHECK(t[i] == ignore_index || (t[i] >= 0 && t[i] < s.dim), op, ": target contains label ", t[i],
                   " outside [0, ", s.dim, ") (C=", s.dim, ", ignore_index=", ignore_index, ")");
        dk::dispatch_float(logits.dtype, op, [&](auto tag) {
          using T = decltype(tag);
          if (logits.numel() == 0) return;
          py::gil_scoped_release nogil;
          dk::cpu::cross_entropy_forward<T>(logits.ptr<T>(), t, opt_ptr<T>(weight), loss.ptr<T>(), row_max.ptr<T>(),
                                            row_logsum.ptr<T>(), s.outer, s.dim, s.inner, ignore_index);
        });
      },
      "logits"_a, "target"_a, "weight"_a, "loss"_a, "row_max"_a, "row_logsum"_a, "ignore_index"_a);
  m.def(
      "cross_entropy_backward",
      [](const TensorView& logits, const TensorView& target, const OptView& weight, const TensorView& row_max,
         const TensorView& row_logsum, const TensorView& g, const TensorView& grad, int64_t ignore_index) {
        const char* op = "cross_entropy_backward";
        const auto s = check_cross_entropy(op, logits, target, weight, {&row_max, &row_logsum},
                                           {"row_max", "row_logsum"});
        dk::bind::expect_cpu(g, "g", op);
        dk::bind::expect_cpu(grad, "grad", op);
        dk::expect(g, "g", op).dtype(logits.dtype);
        const bool per_row = g.shape == target.shape;
        DK_CHECK(per_row || g.numel() == 1, op, ": g must have one element or the shape of target ",
                 dk::shape_str(target.shape), ", got ", dk::shape_str(g.shape));
        dk::expect(grad, "grad", op).dtype(logits.dtype).shape(logits.shape).writable();
        const int64_t* t = target.ptr<int64_t>();
        for (int64_t i = 0; i < target.numel(); ++i)
          DK_CHECK(t[i] == ignore_index || (t[i] >= 0 && t[i] < s.dim), op, ": target contains label ", t[i],
                   " outside [0, ", s.dim, ")");
        dk::dispatch_float(logits.dtype, op, [&](auto tag) {
          using T = decltype(tag);
          if (logits.numel() == 0) return;
          py::gil_scoped_release nogil;
          dk::cpu::cross_entropy_backward<T>(logits.ptr<T>(), t, opt_ptr<T>(weight), row_max.ptr<T>(),
                                             row_logsum.ptr<T>(), g.ptr<T>(), per_row, grad.ptr<T>(), s.outer, s.dim,
                                             s.inner, ignore_index);
        });
      },
      "logits"_a, "target"_a, "weight"_a, "row_max"_a, "row_logsum"_a, "g"_a, "grad"_a, "ignore_index"_a);

  // Elementwise losses: input, target, weight and pos_weight all of one shape.
  auto check_pointwise = [](const char* op, const TensorView& a, const TensorView& b, const OptView& weight,
                            const OptView& pos_weight) {
    dk::bind::expect_cpu(a, "input", op);
    dk::bind::expect_cpu(b, "target", op);
    dk::expect(b, "target", op).dtype(a.dtype).shape(a.shape);
    if (weight) {
      dk::bind::expect_cpu(*weight, "weight", op);
      dk::expect(*weight, "weight", op).dtype(a.dtype).shape(a.shape);
    }
    if (pos_weight) {
      dk::bind::expect_cpu(*pos_weight, "pos_weight", op);
      dk::expect(*pos_weight, "pos_weight", op).dtype(a.dtype).shape(a.shape);
    }
  };
  m.def(
      "pointwise_loss_forward",
      [check_pointwise](const std::string& kind, const TensorView& a, const TensorView& b, const OptView& weight,
                        const OptView& pos_weight, const TensorView& out) {
        const char* op = "pointwise_loss_forward";
        const dk::PointwiseLoss k = dk::parse_pointwise_loss(kind);
        check_pointwise(op, a, b, weight, pos_weight);
        dk::bind::expect_cpu(out, "out", op);
        dk::expect(out, "out", op).dtype(a.dtype).shape(a.shape).writable();
        dk::dispatch_float(a.dtype, op, [&](auto tag) {
          using T = decltype(tag);
          py::gil_scoped_release nogil;
          dk::cpu::pointwise_loss_forward<T>(k, a.ptr<T>(), b.ptr<T>(), opt_ptr<T>(weight), opt_ptr<T>(pos_weight),
                                             out.ptr<T>(), a.numel());
        });
      },
      "kind"_a, "input"_a, "target"_a, "weight"_a, "pos_weight"_a, "out"_a);
  m.def(
      "pointwise_loss_backward",
      [check_pointwise](const std::string& kind, const TensorView& a, const TensorView& b, const OptView& weight,
                        const OptView& pos_weight, const TensorView& g, const TensorView& grad) {
        const char* op = "pointwise_loss_backward";
        const dk::PointwiseLoss k = dk::parse_pointwise_loss(kind);
        check_pointwise(op, a, b, weight, pos_weight);
        dk::bind::expect_cpu(g, "g", op);
        dk::expect(g, "g", op).dtype(a.dtype);
        const bool per_elem = g.shape == a.shape;
        DK_CHECK(per_elem || g.numel() == 1, op, ": g must have one element or the shape of input ",
                 dk::shape_str(a.shape), ", got ", dk::shape_str(g.shape));
        dk::bind::expect_cpu(grad, "grad", op);
        dk::expect(grad, "grad", op).dtype(a.dtype).shape(a.shape).writable();
        dk::dispatch_float(a.dtype, op, [&](auto tag) {
          using T = decltype(tag);
          py::gil_scoped_release nogil;
          dk::cpu::pointwise_loss_backward<T>(k, a.ptr<T>(), b.ptr<T>(), opt_ptr<T>(weight), opt_ptr<T>(pos_weight),
                                              g.ptr<T>(), per_elem, grad.ptr<T>(), a.numel());
        });
      },
      "kind"_a, "input"_a, "target"_a, "weight"_a, "pos_weight"_a, "g"_a, "grad"_a);
}
