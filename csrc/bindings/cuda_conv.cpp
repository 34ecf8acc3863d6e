#include <optional>

#include "bindings/cuda_common.h"
#include "bindings/window2d_args.h"
#include "cuda/conv.h"

namespace {

using dk::TensorView;
using dk::bind::Pair;
using dk::bind::Quad;

void expect_like(const TensorView& v, const TensorView& ref, const char* name, const char* op) {
  dk::bind::expect_cuda(v, name, op);
  dk::expect(v, name, op).dtype(ref.dtype);
}

void expect_workspace(const TensorView& ws, const TensorView& ref, const dk::Conv2dGeom& g, dk::ConvPass pass,
                      const char* op) {
  expect_like(ws, ref, "workspace", op);
  dk::expect(ws, "workspace", op).ndim(1).writable();
  const int64_t need = dk::cuda::conv2d_workspace_size(g, pass);
  DK_CHECK(ws.numel() >= need, op, ": workspace must have at least ", need, " elements, got ", ws.numel(),
           " (ask conv2d_workspace_size)");
}

}  // namespace

void bind_cuda_conv(py::module_& m) {
  m.def(
      "conv2d_workspace_size",
      // `stream` is unused: accepted because the Python side (_backend._CudaKernels) passes
      // stream= to every CUDA entry; without it every CuPy conv2d call raised TypeError here.
      [](const std::string& pass, const std::vector<int64_t>& x_shape, const std::vector<int64_t>& w_shape,
         Pair stride, Quad padding, Pair dilation, int64_t groups, std::uintptr_t) {
        const auto g =
            dk::bind::conv_geom(x_shape, w_shape, stride, padding, dilation, groups, "conv2d_workspace_size");
        return dk::cuda::conv2d_workspace_size(g, dk::bind::conv_pass(pass));
      },
      "pass"_a, "x_shape"_a, "w_shape"_a, "stride"_a, "padding"_a, "dilation"_a, "groups"_a, "stream"_a = 0);
  m.def(
      "conv2d_forward",
      [](const TensorView& x, const TensorView& w, std::optional<TensorView> b, const TensorView& y,
         const TensorView& ws, Pair stride, Quad padding, Pair dilation, int64_t groups, std::uintptr_t stream) {
        const char* op = "conv2d_forward";
        dk::bind::expect_cuda(x, "x", op);
        expect_like(w, x, "weight", op);
        expect_like(y, x, "out", op);
        const auto g = dk::bind::conv_geom(x.shape, w.shape, stride, padding, dilation, groups, op);
        dk::expect(y, "out", op).shape({g.N, g.K, g.P, g.Q}).writable();
        if (b) {
          expect_like(*b, x, "bias", op);
          dk::expect(*b, "bias", op).shape({g.K});
        }
        expect_workspace(ws, x, g, dk::ConvPass::forward, op);
        dk::dispatch_float(x.dtype, op, [&](auto t) {
          using T = decltype(t);
          py::gil_scoped_release nogil;
          dk::cuda::conv2d_forward<T>(g, x.ptr<T>(), w.ptr<T>(), b ? b->ptr<T>() : nullptr, y.ptr<T>(),
                                      dk::bind::as_stream(stream));
        });
      },
      "x"_a, "w"_a, "b"_a, "out"_a, "workspace"_a, "stride"_a, "padding"_a, "dilation"_a, "groups"_a,
      "stream"_a = 0);
  m.def(
      "conv2d_backward_data",
      [](const TensorView& gy, const TensorView& w, const TensorView& gx, const TensorView& ws, Pair stride,
         Quad padding, Pair dilation, int64_t groups, std::uintptr_t stream) {
        const char* op = "conv2d_backward_data";
        dk::bind::expect_cuda(gy, "grad_out", op);
        expect_like(w, gy, "weight", op);
        expect_like(gx, gy, "grad_x", op);
        const auto g = dk::bind::conv_geom(gx.shape, w.shape, stride, padding, dilation, groups, op);
        dk::expect(gy, "grad_out", op).shape({g.N, g.K, g.P, g.Q});
        dk::expect(gx, "grad_x", op).writable();
        expect_workspace(ws, gy, g, dk::ConvPass::backward_data, op);
        dk::dispatch_float(gy.dtype, op, [&](auto t) {
          using T = decltype(t);
          py::gil_scoped_release nogil;
          dk::cuda::conv2d_backward_data<T>(g, gy.ptr<T>(), w.ptr<T>(), gx.ptr<T>(), dk::bind::as_stream(stream));
        });
      },
      "grad_out"_a, "w"_a, "grad_x"_a, "workspace"_a, "stride"_a, "padding"_a, "dilation"_a, "groups"_a,
      "stream"_a = 0);
  m.def(
      "conv2d_backward_weight",
      [](const TensorView& gy, const TensorView& x, const TensorView& gw, std::optional<TensorView> gb,
         const TensorView& ws, Pair stride, Quad padding, Pair dilation, int64_t groups, std::uintptr_t stream) {
        const char* op = "conv2d_backward_weight";
        dk::bind::expect_cuda(gy, "grad_out", op);
        expect_like(x, gy, "x", op);
        expect_like(gw, gy, "grad_w", op);
        const auto g = dk::bind::conv_geom(x.shape, gw.shape, stride, padding, dilation, groups, op);
        dk::expect(gy, "grad_out", op).shape({g.N, g.K, g.P, g.Q});
        dk::expect(gw, "grad_w", op).writable();
        if (gb) {
          expect_like(*gb, gy, "grad_b", op);
          dk::expect(*gb, "grad_b", op).shape({g.K}).writable();
        }
        expect_workspace(ws, gy, g, dk::ConvPass::backward_weight, op);
        dk::dispatch_float(gy.dtype, op, [&](auto t) {
          using T = decltype(t);
          py::gil_scoped_release nogil;
          dk::cuda::conv2d_backward_weight<T>(g, gy.ptr<T>(), x.ptr<T>(), gw.ptr<T>(), gb ? gb->ptr<T>() : nullptr,
                                              ws.ptr<T>(), ws.numel(), dk::bind::as_stream(stream));
        });
      },
      "grad_out"_a, "x"_a, "grad_w"_a, "grad_b"_a, "workspace"_a, "stride"_a, "padding"_a, "dilation"_a,
      "groups"_a, "stream"_a = 0);
}
