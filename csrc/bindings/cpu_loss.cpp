#include "bindings/loss_checks.h"
#include "cpu/loss.h"

namespace {

using dk::TensorView;
using dk::bind::opt_ptr;
using dk::bind::OptView;
constexpr dk::Device kCpu = dk::Device::cpu;

// Labels are on the host: checked here too, so a direct call never indexes out of bounds.
void check_labels(const char* op, const TensorView& target, int64_t C, int64_t ignore_index) {
  const int64_t* t = target.ptr<int64_t>();
  for (int64_t i = 0; i < target.numel(); ++i)
    DK_CHECK(t[i] == ignore_index || (t[i] >= 0 && t[i] < C), op, ": target contains label ", t[i], " outside [0, ",
             C, ") (C=", C, ", ignore_index=", ignore_index, ")");
}

}  // namespace

void bind_cpu_loss(py::module_& m) {
  m.def(
      "cross_entropy_forward",
      [](const TensorView& logits, const TensorView& target, const OptView& weight, const TensorView& loss,
         const TensorView& row_max, const TensorView& row_logsum, int64_t ignore_index) {
        const char* op = "cross_entropy_forward";
        const auto s = dk::bind::check_cross_entropy(kCpu, op, logits, target, weight, {&loss, &row_max, &row_logsum},
                                                     {"loss", "row_max", "row_logsum"}, true);
        check_labels(op, target, s.dim, ignore_index);
        dk::dispatch_float(logits.dtype, op, [&](auto tag) {
          using T = decltype(tag);
          if (logits.numel() == 0) return;
          py::gil_scoped_release nogil;
          dk::cpu::cross_entropy_forward<T>(logits.ptr<T>(), target.ptr<int64_t>(), opt_ptr<T>(weight), loss.ptr<T>(),
                                            row_max.ptr<T>(), row_logsum.ptr<T>(), s.outer, s.dim, s.inner,
                                            ignore_index);
        });
      },
      "logits"_a, "target"_a, "weight"_a, "loss"_a, "row_max"_a, "row_logsum"_a, "ignore_index"_a);
  m.def(
      "cross_entropy_backward",
      [](const TensorView& logits, const TensorView& target, const OptView& weight, const TensorView& row_max,
         const TensorView& row_logsum, const TensorView& g, const TensorView& grad, int64_t ignore_index) {
        const char* op = "cross_entropy_backward";
        const auto s = dk::bind::check_cross_entropy(kCpu, op, logits, target, weight, {&row_max, &row_logsum},
                                                     {"row_max", "row_logsum"}, false);
        const bool per_row = dk::bind::check_grad(kCpu, op, g, logits, target.shape, "target");
        dk::bind::expect_on(kCpu, grad, "grad", op);
        dk::expect(grad, "grad", op).dtype(logits.dtype).shape(logits.shape).writable();
        check_labels(op, target, s.dim, ignore_index);
        dk::dispatch_float(logits.dtype, op, [&](auto tag) {
          using T = decltype(tag);
          if (logits.numel() == 0) return;
          py::gil_scoped_release nogil;
          dk::cpu::cross_entropy_backward<T>(logits.ptr<T>(), target.ptr<int64_t>(), opt_ptr<T>(weight),
                                             row_max.ptr<T>(), row_logsum.ptr<T>(), g.ptr<T>(), per_row, grad.ptr<T>(),
                                             s.outer, s.dim, s.inner, ignore_index);
        });
      },
      "logits"_a, "target"_a, "weight"_a, "row_max"_a, "row_logsum"_a, "g"_a, "grad"_a, "ignore_index"_a);
  m.def(
      "pointwise_loss_forward",
      [](const std::string& kind, const TensorView& a, const TensorView& b, const OptView& weight,
         const OptView& pos_weight, const TensorView& out) {
        const char* op = "pointwise_loss_forward";
        const dk::PointwiseLoss k = dk::parse_pointwise_loss(kind);
        dk::bind::check_pointwise(kCpu, op, a, b, weight, pos_weight);
        dk::bind::expect_on(kCpu, out, "out", op);
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
      [](const std::string& kind, const TensorView& a, const TensorView& b, const OptView& weight,
         const OptView& pos_weight, const TensorView& g, const TensorView& grad) {
        const char* op = "pointwise_loss_backward";
        const dk::PointwiseLoss k = dk::parse_pointwise_loss(kind);
        dk::bind::check_pointwise(kCpu, op, a, b, weight, pos_weight);
        const bool per_elem = dk::bind::check_grad(kCpu, op, g, a, a.shape, "input");
        dk::bind::expect_on(kCpu, grad, "grad", op);
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
