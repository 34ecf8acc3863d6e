// Elementwise activations (activation_kind.h) and dropout: forward and backward.
#include <string>

#include "bindings/backend.h"
#include DK_KERNELS(activation.h)

namespace dk::bind {
namespace {

Activation parse_activation(const std::string& name) {
  if (name == "relu") return Activation::relu;
  if (name == "leaky_relu") return Activation::leaky_relu;
  if (name == "sigmoid") return Activation::sigmoid;
  if (name == "tanh") return Activation::tanh;
  throw std::invalid_argument("activation: unknown kind '" + name + "' (relu, leaky_relu, sigmoid, tanh)");
}

}  // namespace

void bind_activation(py::module_& m) {
  def(
      m, "activation_forward",
      [](Launch launch, const std::string& kind, const TensorView& x, const TensorView& out, double slope) {
        const char* op = "activation_forward";
        expect_device(x, "x", op);
        expect_device(out, "out", op).dtype(x.dtype).shape(x.shape).writable();
        const Activation act = parse_activation(kind);
        dispatch_float(x.dtype, op, [&](auto t) {
          using T = decltype(t);
          launch(kernels::activation_forward<T>, act, x.ptr<T>(), out.ptr<T>(), x.numel(), T(slope));
        });
      },
      "kind"_a, "x"_a, "out"_a, "slope"_a = 0.0);
  def(
      m, "activation_backward",
      [](Launch launch, const std::string& kind, const TensorView& saved, const TensorView& grad_out,
         const TensorView& grad_in, double slope) {
        const char* op = "activation_backward";
        expect_device(saved, "saved", op);
        expect_device(grad_out, "grad_out", op);
        expect_device(grad_in, "grad_in", op);
        expect(grad_out, "grad_out", op).dtype(saved.dtype).shape(saved.shape);
        expect(grad_in, "grad_in", op).dtype(saved.dtype).shape(saved.shape).writable();
        const Activation act = parse_activation(kind);
        dispatch_float(saved.dtype, op, [&](auto t) {
          using T = decltype(t);
          launch(kernels::activation_backward<T>, act, saved.ptr<T>(), grad_out.ptr<T>(), grad_in.ptr<T>(),
                 saved.numel(), T(slope));
        });
      },
      "kind"_a, "saved"_a, "grad_out"_a, "grad_in"_a, "slope"_a = 0.0);
  def(
      m, "dropout_forward",
      [](Launch launch, const TensorView& x, const TensorView& y, const TensorView& mask, double p, uint64_t seed) {
        const char* op = "dropout_forward";
        expect_device(x, "x", op);
        expect_device(y, "y", op);
        expect_device(mask, "mask", op);
        expect(y, "y", op).dtype(x.dtype).shape(x.shape).writable();
        expect(mask, "mask", op).dtype(DType::u8).shape(x.shape).writable();
        DK_CHECK(p >= 0.0 && p <= 1.0, op, ": p must be in [0, 1], got ", p);
        dispatch_float(x.dtype, op, [&](auto t) {
          using T = decltype(t);
          launch(kernels::dropout_forward<T>, x.ptr<T>(), y.ptr<T>(), mask.ptr<uint8_t>(), x.numel(), p, seed);
        });
      },
      "x"_a, "y"_a, "mask"_a, "p"_a, "seed"_a);
  def(
      m, "dropout_backward",
      [](Launch launch, const TensorView& grad_out, const TensorView& mask, const TensorView& grad_in, double p) {
        const char* op = "dropout_backward";
        expect_device(grad_out, "grad_out", op);
        expect_device(mask, "mask", op);
        expect_device(grad_in, "grad_in", op);
        expect(mask, "mask", op).dtype(DType::u8).shape(grad_out.shape);
        expect(grad_in, "grad_in", op).dtype(grad_out.dtype).shape(grad_out.shape).writable();
        DK_CHECK(p >= 0.0 && p <= 1.0, op, ": p must be in [0, 1], got ", p);
        dispatch_float(grad_out.dtype, op, [&](auto t) {
          using T = decltype(t);
          launch(kernels::dropout_backward<T>, grad_out.ptr<T>(), mask.ptr<uint8_t>(), grad_in.ptr<T>(),
                 grad_out.numel(), p);
        });
      },
      "grad_out"_a, "mask"_a, "grad_in"_a, "p"_a);
}

}  // namespace dk::bind
