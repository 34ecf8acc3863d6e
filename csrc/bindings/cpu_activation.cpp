#include "bindings/common.h"
#include "cpu/activation.h"

void bind_cpu_activation(py::module_& m) {
  using dk::TensorView;
  m.def(
      "activation_forward",
      [](const std::string& kind, const TensorView& x, const TensorView& out, double slope) {
        const char* op = "activation_forward";
        dk::bind::expect_cpu(x, "x", op);
        dk::bind::expect_cpu(out, "out", op);
        dk::expect(out, "out", op).dtype(x.dtype).shape(x.shape).writable();
        const dk::Activation act = dk::bind::parse_activation(kind);
        dk::dispatch_float(x.dtype, op, [&](auto t) {
          using T = decltype(t);
          py::gil_scoped_release nogil;
          dk::cpu::activation_forward<T>(act, x.ptr<T>(), out.ptr<T>(), x.numel(), T(slope));
        });
      },
      "kind"_a, "x"_a, "out"_a, "slope"_a = 0.0);
  m.def(
      "activation_backward",
      [](const std::string& kind, const TensorView& saved, const TensorView& grad_out, const TensorView& grad_in,
         double slope) {
        const char* op = "activation_backward";
        dk::bind::expect_cpu(saved, "saved", op);
        dk::bind::expect_cpu(grad_out, "grad_out", op);
        dk::bind::expect_cpu(grad_in, "grad_in", op);
        dk::expect(grad_out, "grad_out", op).dtype(saved.dtype).shape(saved.shape);
        dk::expect(grad_in, "grad_in", op).dtype(saved.dtype).shape(saved.shape).writable();
        const dk::Activation act = dk::bind::parse_activation(kind);
        dk::dispatch_float(saved.dtype, op, [&](auto t) {
          using T = decltype(t);
          py::gil_scoped_release nogil;
          dk::cpu::activation_backward<T>(act, saved.ptr<T>(), grad_out.ptr<T>(), grad_in.ptr<T>(),
                                          saved.numel(), T(slope));
        });
      },
      "kind"_a, "saved"_a, "grad_out"_a, "grad_in"_a, "slope"_a = 0.0);
  m.def(
      "dropout_forward",
      [](const TensorView& x, const TensorView& y, const TensorView& mask, double p, uint64_t seed) {
        const char* op = "dropout_forward";
        dk::bind::expect_cpu(x, "x", op);
        dk::bind::expect_cpu(y, "y", op);
        dk::bind::expect_cpu(mask, "mask", op);
        dk::expect(y, "y", op).dtype(x.dtype).shape(x.shape).writable();
        dk::expect(mask, "mask", op).dtype(dk::DType::u8).shape(x.shape).writable();
        DK_CHECK(p >= 0.0 && p <= 1.0, op, ": p must be in [0, 1], got ", p);
        dk::dispatch_float(x.dtype, op, [&](auto t) {
          using T = decltype(t);
          py::gil_scoped_release nogil;
          dk::cpu::dropout_forward<T>(x.ptr<T>(), y.ptr<T>(), mask.ptr<uint8_t>(), x.numel(), p, seed);
        });
      },
      "x"_a, "y"_a, "mask"_a, "p"_a, "seed"_a);
  m.def(
      "dropout_backward",
      [](const TensorView& grad_out, const TensorView& mask, const TensorView& grad_in, double p) {
        const char* op = "dropout_backward";
        dk::bind::expect_cpu(grad_out, "grad_out", op);
        dk::bind::expect_cpu(mask, "mask", op);
        dk::bind::expect_cpu(grad_in, "grad_in", op);
        dk::expect(mask, "mask", op).dtype(dk::DType::u8).shape(grad_out.shape);
        dk::expect(grad_in, "grad_in", op).dtype(grad_out.dtype).shape(grad_out.shape).writable();
        DK_CHECK(p >= 0.0 && p <= 1.0, op, ": p must be in [0, 1], got ", p);
        dk::dispatch_float(grad_out.dtype, op, [&](auto t) {
          using T = decltype(t);
          py::gil_scoped_release nogil;
          dk::cpu::dropout_backward<T>(grad_out.ptr<T>(), mask.ptr<uint8_t>(), grad_in.ptr<T>(), grad_out.numel(), p);
        });
      },
      "grad_out"_a, "mask"_a, "grad_in"_a, "p"_a);
}
