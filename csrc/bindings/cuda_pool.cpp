#include "bindings/cuda_common.h"
#include "bindings/window2d_args.h"
#include "cuda/pool.h"

namespace {

using dk::TensorView;
using dk::bind::Pair;

void expect_like(const TensorView& v, const TensorView& ref, const char* name, const char* op) {
  dk::bind::expect_cuda(v, name, op);
  dk::expect(v, name, op).dtype(ref.dtype);
}

}  // namespace

void bind_cuda_pool(py::module_& m) {
  m.def(
      "max_pool2d_forward",
      [](const TensorView& x, const TensorView& y, std::optional<TensorView> idx, Pair kernel, Pair stride,
         Pair padding, std::uintptr_t stream) {
        const char* op = "max_pool2d_forward";
        dk::bind::expect_cuda(x, "x", op);
        expect_like(y, x, "out", op);
        const auto g = dk::bind::pool_geom(x.shape, kernel, stride, padding, op);
        dk::expect(y, "out", op).shape(dk::bind::pooled_shape(x.shape, g.P, g.Q)).writable();
        if (idx) {
          dk::bind::expect_cuda(*idx, "indices", op);
          dk::expect(*idx, "indices", op).dtype(dk::DType::i64).shape(y.shape).writable();
        }
        dk::dispatch_float(x.dtype, op, [&](auto t) {
          using T = decltype(t);
          py::gil_scoped_release nogil;
          dk::cuda::max_pool2d_forward<T>(g, x.ptr<T>(), y.ptr<T>(), idx ? idx->ptr<int64_t>() : nullptr,
              dk::bind::as_stream(stream));
        });
      },
      "x"_a, "out"_a, "indices"_a, "kernel_size"_a, "stride"_a, "padding"_a, "stream"_a = 0);
  m.def(
      "max_pool2d_backward",
      [](const TensorView& gy, const TensorView& idx, const TensorView& gx, std::uintptr_t stream) {
        const char* op = "max_pool2d_backward";
        dk::bind::expect_cuda(gy, "grad_out", op);
        dk::bind::expect_cuda(idx, "indices", op);
        expect_like(gx, gy, "grad_x", op);
        dk::expect(idx, "indices", op).dtype(dk::DType::i64).shape(gy.shape);
        DK_CHECK(gx.ndim() == gy.ndim() && gx.ndim() >= 2, op, ": grad_x shape ", dk::shape_str(gx.shape),
                 " does not match grad_out shape ", dk::shape_str(gy.shape));
        for (int64_t d = 0; d + 2 < gx.ndim(); ++d)
          DK_CHECK(gx.shape[d] == gy.shape[d], op, ": grad_x shape ", dk::shape_str(gx.shape),
                   " does not match grad_out shape ", dk::shape_str(gy.shape));
        dk::expect(gx, "grad_x", op).writable();
        dk::Pool2dGeom g;
        g.planes = 1;
        for (int64_t d = 0; d + 2 < gx.ndim(); ++d) g.planes *= gx.shape[d];
        g.H = gx.size(-2), g.W = gx.size(-1), g.P = gy.size(-2), g.Q = gy.size(-1);
        // Index values live on the device: the kernel skips any outside the plane.
        dk::dispatch_float(gy.dtype, op, [&](auto t) {
          using T = decltype(t);
          py::gil_scoped_release nogil;
          dk::cuda::max_pool2d_backward<T>(g, gy.ptr<T>(), idx.ptr<int64_t>(), gx.ptr<T>(),
              dk::bind::as_stream(stream));
        });
      },
      "grad_out"_a, "indices"_a, "grad_x"_a, "stream"_a = 0);
  m.def(
      "avg_pool2d_forward",
      [](const TensorView& x, const TensorView& y, Pair kernel, Pair stride, Pair padding, bool count_include_pad,
         std::uintptr_t stream) {
        const char* op = "avg_pool2d_forward";
        dk::bind::expect_cuda(x, "x", op);
        expect_like(y, x, "out", op);
        const auto g = dk::bind::pool_geom(x.shape, kernel, stride, padding, op);
        dk::expect(y, "out", op).shape(dk::bind::pooled_shape(x.shape, g.P, g.Q)).writable();
        dk::dispatch_float(x.dtype, op, [&](auto t) {
          using T = decltype(t);
          py::gil_scoped_release nogil;
          dk::cuda::avg_pool2d_forward<T>(g, count_include_pad, x.ptr<T>(), y.ptr<T>(), dk::bind::as_stream(stream));
        });
      },
      "x"_a, "out"_a, "kernel_size"_a, "stride"_a, "padding"_a, "count_include_pad"_a, "stream"_a = 0);
  m.def(
      "avg_pool2d_backward",
      [](const TensorView& gy, const TensorView& gx, Pair kernel, Pair stride, Pair padding, bool count_include_pad,
         std::uintptr_t stream) {
        const char* op = "avg_pool2d_backward";
        dk::bind::expect_cuda(gy, "grad_out", op);
        expect_like(gx, gy, "grad_x", op);
        const auto g = dk::bind::pool_geom(gx.shape, kernel, stride, padding, op);
        dk::expect(gy, "grad_out", op).shape(dk::bind::pooled_shape(gx.shape, g.P, g.Q));
        dk::expect(gx, "grad_x", op).writable();
        dk::dispatch_float(gy.dtype, op, [&](auto t) {
          using T = decltype(t);
          py::gil_scoped_release nogil;
          dk::cuda::avg_pool2d_backward<T>(g, count_include_pad, gy.ptr<T>(), gx.ptr<T>(), dk::bind::as_stream(stream));
        });
      },
      "grad_out"_a, "grad_x"_a, "kernel_size"_a, "stride"_a, "padding"_a, "count_include_pad"_a, "stream"_a = 0);
  m.def(
      "adaptive_avg_pool2d_forward",
      [](const TensorView& x, const TensorView& y, std::uintptr_t stream) {
        const char* op = "adaptive_avg_pool2d_forward";
        dk::bind::expect_cuda(x, "x", op);
        expect_like(y, x, "out", op);
        DK_CHECK(y.ndim() == x.ndim(), op, ": out must have as many dimensions as x");
        const auto a = dk::bind::adaptive_geom(x.shape, {y.size(-2), y.size(-1)}, op);
        dk::expect(y, "out", op).shape(dk::bind::pooled_shape(x.shape, a[3], a[4])).writable();
        dk::dispatch_float(x.dtype, op, [&](auto t) {
          using T = decltype(t);
          py::gil_scoped_release nogil;
          dk::cuda::adaptive_avg_pool2d_forward<T>(a[0], a[1], a[2], a[3], a[4], x.ptr<T>(), y.ptr<T>(),
              dk::bind::as_stream(stream));
        });
      },
      "x"_a, "out"_a, "stream"_a = 0);
  m.def(
      "adaptive_avg_pool2d_backward",
      [](const TensorView& gy, const TensorView& gx, std::uintptr_t stream) {
        const char* op = "adaptive_avg_pool2d_backward";
        dk::bind::expect_cuda(gy, "grad_out", op);
        expect_like(gx, gy, "grad_x", op);
        DK_CHECK(gy.ndim() == gx.ndim(), op, ": grad_out must have as many dimensions as grad_x");
        const auto a = dk::bind::adaptive_geom(gx.shape, {gy.size(-2), gy.size(-1)}, op);
        dk::expect(gy, "grad_out", op).shape(dk::bind::pooled_shape(gx.shape, a[3], a[4]));
        dk::expect(gx, "grad_x", op).writable();
        dk::dispatch_float(gy.dtype, op, [&](auto t) {
          using T = decltype(t);
          py::gil_scoped_release nogil;
          dk::cuda::adaptive_avg_pool2d_backward<T>(a[0], a[1], a[2], a[3], a[4], gy.ptr<T>(), gx.ptr<T>(),
              dk::bind::as_stream(stream));
        });
      },
      "grad_out"_a, "grad_x"_a, "stream"_a = 0);
}
