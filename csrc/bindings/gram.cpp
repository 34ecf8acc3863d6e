// Gram matrices of feature maps: forward and backward (kernels in cpu/gram.cpp, cuda/gram.cu).
#include "bindings/backend.h"
#include DK_KERNELS(gram.h)

namespace dk::bind {

void bind_gram(py::module_& m) {
  def(
      m, "gram_forward",
      [](Launch launch, const TensorView& x, const TensorView& g, double scale) {
        const char* op = "gram_forward";
        expect_device(x, "x", op);
        expect_device(g, "out", op);
        expect(x, "x", op).ndim(3);
        const int64_t batch = x.shape[0], C = x.shape[1], L = x.shape[2];
        expect(g, "out", op).dtype(x.dtype).shape({batch, C, C}).writable();
        dispatch_float(x.dtype, op, [&](auto t) {
          using T = decltype(t);
          if (g.numel() == 0) return;
          launch(kernels::gram_forward<T>, batch, C, L, x.ptr<T>(), g.ptr<T>(), T(scale));
        });
      },
      "x"_a, "out"_a, "scale"_a,
      "out[b] = scale * x[b] @ x[b].T for x (batch, C, L), out (batch, C, C).");
  def(
      m, "gram_backward",
      [](Launch launch, const TensorView& gg, const TensorView& x, const TensorView& sym, const TensorView& gx,
         double scale) {
        const char* op = "gram_backward";
        expect_device(gg, "grad_out", op);
        expect_device(x, "x", op);
        expect_device(sym, "workspace", op);
        expect_device(gx, "grad_in", op);
        expect(x, "x", op).ndim(3);
        const int64_t batch = x.shape[0], C = x.shape[1], L = x.shape[2];
        expect(gg, "grad_out", op).dtype(x.dtype).shape({batch, C, C});
        expect(sym, "workspace", op).dtype(x.dtype).shape({batch, C, C}).writable();
        expect(gx, "grad_in", op).dtype(x.dtype).shape(x.shape).writable();
        dispatch_float(x.dtype, op, [&](auto t) {
          using T = decltype(t);
          if (x.numel() == 0) return;
          launch(kernels::gram_backward<T>, batch, C, L, x.ptr<T>(), gg.ptr<T>(), sym.ptr<T>(), gx.ptr<T>(),
                 T(scale));
        });
      },
      "grad_out"_a, "x"_a, "workspace"_a, "grad_in"_a, "scale"_a,
      "grad_in[b] = scale * (grad_out[b] + grad_out[b].T) @ x[b]; workspace (batch, C, C) is scratch.");
}

}  // namespace dk::bind
