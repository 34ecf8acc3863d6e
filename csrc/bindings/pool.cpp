// 2-D max / average / adaptive-average pooling over the last two dimensions: forward and backward.
#include "bindings/backend.h"
#include "bindings/window2d_args.h"
#include DK_KERNELS(pool.h)

namespace dk::bind {

void bind_pool(py::module_& m) {
  def(
      m, "max_pool2d_forward",
      [](Launch launch, const TensorView& x, const TensorView& y, OptView idx, Pair kernel, Pair stride,
         Pair padding, Pair dilation, bool ceil_mode) {
        const char* op = "max_pool2d_forward";
        expect_device(x, "x", op);
        expect_device(y, "out", op).dtype(x.dtype);
        const auto g = pool_geom(x.shape, kernel, stride, padding, op, dilation, ceil_mode);
        expect(y, "out", op).shape(pooled_shape(x.shape, g.P, g.Q)).writable();
        if (idx) expect_device(*idx, "indices", op).dtype(DType::i64).shape(y.shape).writable();
        dispatch_float(x.dtype, op, [&](auto t) {
          using T = decltype(t);
          launch(kernels::max_pool2d_forward<T>, g, x.ptr<T>(), y.ptr<T>(), opt_ptr<int64_t>(idx));
        });
      },
      "x"_a, "out"_a, "indices"_a, "kernel_size"_a, "stride"_a, "padding"_a, "dilation"_a, "ceil_mode"_a);
  def(
      m, "max_pool2d_backward",
      [](Launch launch, const TensorView& gy, const TensorView& idx, const TensorView& gx) {
        const char* op = "max_pool2d_backward";
        expect_device(gy, "grad_out", op);
        expect_device(idx, "indices", op);
        expect_device(gx, "grad_x", op).dtype(gy.dtype);
        expect(idx, "indices", op).dtype(DType::i64).shape(gy.shape);
        DK_CHECK(gx.ndim() == gy.ndim() && gx.ndim() >= 2, op, ": grad_x shape ", shape_str(gx.shape),
                 " does not match grad_out shape ", shape_str(gy.shape));
        for (int64_t d = 0; d + 2 < gx.ndim(); ++d)
          DK_CHECK(gx.shape[d] == gy.shape[d], op, ": grad_x shape ", shape_str(gx.shape),
                   " does not match grad_out shape ", shape_str(gy.shape));
        expect(gx, "grad_x", op).writable();
        Pool2dGeom g;
        g.planes = 1;
        for (int64_t d = 0; d + 2 < gx.ndim(); ++d) g.planes *= gx.shape[d];
        g.H = gx.size(-2), g.W = gx.size(-1), g.P = gy.size(-2), g.Q = gy.size(-1);
        // Host indices are checked here; on the GPU (values in device memory) the kernel skips
        // any outside the plane.
        if constexpr (!Backend::is_cuda) {
          const int64_t plane = g.H * g.W;
          const int64_t* ip = idx.ptr<int64_t>();
          for (int64_t i = 0; i < idx.numel(); ++i)  // -1: a window without input (no gradient)
            DK_CHECK(ip[i] >= -1 && ip[i] < plane, op, ": indices[", i, "] = ", ip[i],
                     " is outside the input plane of ", plane, " elements");
        }
        dispatch_float(gy.dtype, op, [&](auto t) {
          using T = decltype(t);
          launch(kernels::max_pool2d_backward<T>, g, gy.ptr<T>(), idx.ptr<int64_t>(), gx.ptr<T>());
        });
      },
      "grad_out"_a, "indices"_a, "grad_x"_a);
  def(
      m, "avg_pool2d_forward",
      [](Launch launch, const TensorView& x, const TensorView& y, Pair kernel, Pair stride, Pair padding,
         bool ceil_mode, bool count_include_pad, int64_t divisor_override) {
        const char* op = "avg_pool2d_forward";
        expect_device(x, "x", op);
        expect_device(y, "out", op).dtype(x.dtype);
        const auto g = pool_geom(x.shape, kernel, stride, padding, op, {1, 1}, ceil_mode, divisor_override);
        expect(y, "out", op).shape(pooled_shape(x.shape, g.P, g.Q)).writable();
        dispatch_float(x.dtype, op, [&](auto t) {
          using T = decltype(t);
          launch(kernels::avg_pool2d_forward<T>, g, count_include_pad, x.ptr<T>(), y.ptr<T>());
        });
      },
      "x"_a, "out"_a, "kernel_size"_a, "stride"_a, "padding"_a, "ceil_mode"_a, "count_include_pad"_a,
      "divisor_override"_a);
  def(
      m, "avg_pool2d_backward",
      [](Launch launch, const TensorView& gy, const TensorView& gx, Pair kernel, Pair stride, Pair padding,
         bool ceil_mode, bool count_include_pad, int64_t divisor_override) {
        const char* op = "avg_pool2d_backward";
        expect_device(gy, "grad_out", op);
        expect_device(gx, "grad_x", op).dtype(gy.dtype);
        const auto g = pool_geom(gx.shape, kernel, stride, padding, op, {1, 1}, ceil_mode, divisor_override);
        expect(gy, "grad_out", op).shape(pooled_shape(gx.shape, g.P, g.Q));
        expect(gx, "grad_x", op).writable();
        dispatch_float(gy.dtype, op, [&](auto t) {
          using T = decltype(t);
          launch(kernels::avg_pool2d_backward<T>, g, count_include_pad, gy.ptr<T>(), gx.ptr<T>());
        });
      },
      "grad_out"_a, "grad_x"_a, "kernel_size"_a, "stride"_a, "padding"_a, "ceil_mode"_a, "count_include_pad"_a,
      "divisor_override"_a);
  def(
      m, "adaptive_avg_pool2d_forward",
      [](Launch launch, const TensorView& x, const TensorView& y) {
        const char* op = "adaptive_avg_pool2d_forward";
        expect_device(x, "x", op);
        expect_device(y, "out", op).dtype(x.dtype);
        DK_CHECK(y.ndim() == x.ndim(), op, ": out must have as many dimensions as x");
        const auto a = adaptive_geom(x.shape, {y.size(-2), y.size(-1)}, op);
        expect(y, "out", op).shape(pooled_shape(x.shape, a[3], a[4])).writable();
        dispatch_float(x.dtype, op, [&](auto t) {
          using T = decltype(t);
          launch(kernels::adaptive_avg_pool2d_forward<T>, a[0], a[1], a[2], a[3], a[4], x.ptr<T>(), y.ptr<T>());
        });
      },
      "x"_a, "out"_a);
  def(
      m, "adaptive_avg_pool2d_backward",
      [](Launch launch, const TensorView& gy, const TensorView& gx) {
        const char* op = "adaptive_avg_pool2d_backward";
        expect_device(gy, "grad_out", op);
        expect_device(gx, "grad_x", op).dtype(gy.dtype);
        DK_CHECK(gy.ndim() == gx.ndim(), op, ": grad_out must have as many dimensions as grad_x");
        const auto a = adaptive_geom(gx.shape, {gy.size(-2), gy.size(-1)}, op);
        expect(gy, "grad_out", op).shape(pooled_shape(gx.shape, a[3], a[4]));
        expect(gx, "grad_x", op).writable();
        dispatch_float(gy.dtype, op, [&](auto t) {
          using T = decltype(t);
          launch(kernels::adaptive_avg_pool2d_backward<T>, a[0], a[1], a[2], a[3], a[4], gy.ptr<T>(), gx.ptr<T>());
        });
      },
      "grad_out"_a, "grad_x"_a);
}

}  // namespace dk::bind
