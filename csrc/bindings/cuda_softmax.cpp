#include "bindings/axis_split.h"
#include "bindings/cuda_common.h"
#include "cuda/softmax.h"

void bind_cuda_softmax(py::module_& m) {
  using dk::TensorView;
  m.def(
      "softmax_forward",
      [](const TensorView& x, const TensorView& y, int64_t axis, bool log, std::uintptr_t stream) {
        const char* op = "softmax_forward";
        dk::bind::expect_cuda(x, "x", op);
        dk::bind::expect_cuda(y, "y", op);
        dk::expect(y, "y", op).dtype(x.dtype).shape(x.shape).writable();
        const dk::bind::AxisSplit s = dk::bind::split_axis(x, axis, op);
        dk::dispatch_float(x.dtype, op, [&](auto t) {
          using T = decltype(t);
          if (x.numel() == 0) return;
          py::gil_scoped_release nogil;
          dk::cuda::softmax_forward<T>(x.ptr<T>(), y.ptr<T>(), s.outer, s.dim, s.inner, log, dk::bind::as_stream(stream));
        });
      },
      "x"_a, "y"_a, "axis"_a, "log"_a, "stream"_a = 0);
  m.def(
      "softmax_backward",
      [](const TensorView& gy, const TensorView& y, const TensorView& gx, int64_t axis, bool log, std::uintptr_t stream) {
        const char* op = "softmax_backward";
        dk::bind::expect_cuda(gy, "grad_out", op);
        dk::bind::expect_cuda(y, "y", op);
        dk::bind::expect_cuda(gx, "grad_in", op);
        dk::expect(gy, "grad_out", op).dtype(y.dtype).shape(y.shape);
        dk::expect(gx, "grad_in", op).dtype(y.dtype).shape(y.shape).writable();
        const dk::bind::AxisSplit s = dk::bind::split_axis(y, axis, op);
        dk::dispatch_float(y.dtype, op, [&](auto t) {
          using T = decltype(t);
          if (y.numel() == 0) return;
          py::gil_scoped_release nogil;
          dk::cuda::softmax_backward<T>(gy.ptr<T>(), y.ptr<T>(), gx.ptr<T>(), s.outer, s.dim, s.inner, log, dk::bind::as_stream(stream));
        });
      },
      "grad_out"_a, "y"_a, "grad_in"_a, "axis"_a, "log"_a, "stream"_a = 0);
}
