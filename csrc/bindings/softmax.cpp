// softmax / log_softmax along one axis: forward and backward.
#include "bindings/axis_split.h"
#include "bindings/backend.h"
#include DK_KERNELS(softmax.h)

namespace dk::bind {

void bind_softmax(py::module_& m) {
  def(
      m, "softmax_forward",
      [](Launch launch, const TensorView& x, const TensorView& y, int64_t axis, bool log) {
        const char* op = "softmax_forward";
        expect_device(x, "x", op);
        expect_device(y, "y", op);
        expect(y, "y", op).dtype(x.dtype).shape(x.shape).writable();
        const AxisSplit s = split_axis(x, axis, op);
        dispatch_float(x.dtype, op, [&](auto t) {
          using T = decltype(t);
          if (x.numel() == 0) return;
          launch(kernels::softmax_forward<T>, x.ptr<T>(), y.ptr<T>(), s.outer, s.dim, s.inner, log);
        });
      },
      "x"_a, "y"_a, "axis"_a, "log"_a);
  def(
      m, "softmax_backward",
      [](Launch launch, const TensorView& gy, const TensorView& y, const TensorView& gx, int64_t axis, bool log) {
        const char* op = "softmax_backward";
        expect_device(gy, "grad_out", op);
        expect_device(y, "y", op);
        expect_device(gx, "grad_in", op);
        expect(gy, "grad_out", op).dtype(y.dtype).shape(y.shape);
        expect(gx, "grad_in", op).dtype(y.dtype).shape(y.shape).writable();
        const AxisSplit s = split_axis(y, axis, op);
        dispatch_float(y.dtype, op, [&](auto t) {
          using T = decltype(t);
          if (y.numel() == 0) return;
          launch(kernels::softmax_backward<T>, gy.ptr<T>(), y.ptr<T>(), gx.ptr<T>(), s.outer, s.dim, s.inner, log);
        });
      },
      "grad_out"_a, "y"_a, "grad_in"_a, "axis"_a, "log"_a);
}

}  // namespace dk::bind
