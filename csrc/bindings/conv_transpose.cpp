// conv_transpose2d: forward, data gradient, weight (and bias) gradient, and the workspace query.
// The kernels are the conv family's (conv2d's adjoint, see cpu/conv.h); the geometry comes from
// conv_transpose_geom (window2d_args.h), which checks it before any pointer is touched.
#include <optional>

#include "bindings/backend.h"
#include "bindings/window2d_args.h"
#include DK_KERNELS(conv.h)

namespace dk::bind {
namespace {

void expect_like(const TensorView& v, const TensorView& ref, const char* name, const char* op) {
  expect_device(v, name, op);
  expect(v, name, op).dtype(ref.dtype);
}

void expect_workspace(const TensorView& ws, const TensorView& ref, const char* op) {
  expect_like(ws, ref, "workspace", op);
  expect(ws, "workspace", op).ndim(1).writable();
}

}  // namespace

void bind_conv_transpose(py::module_& m) {
  def(
      m, "conv_transpose2d_workspace_size",
      [](Launch, const std::string& pass, const std::vector<int64_t>& x_shape, const std::vector<int64_t>& w_shape,
         Pair stride, Pair padding, Pair output_padding, Pair dilation, int64_t groups) {
        const char* op = "conv_transpose2d_workspace_size";
        const auto g = conv_transpose_geom(x_shape, w_shape, stride, padding, output_padding, dilation, groups, op);
        return kernels::conv_transpose2d_workspace_size(g, conv_pass(pass));
      },
      "pass"_a, "x_shape"_a, "w_shape"_a, "stride"_a, "padding"_a, "output_padding"_a, "dilation"_a, "groups"_a);
  def(
      m, "conv_transpose2d_forward",
      [](Launch launch, const TensorView& x, const TensorView& w, std::optional<TensorView> b, const TensorView& y,
         const TensorView& ws, Pair stride, Pair padding, Pair output_padding, Pair dilation, int64_t groups) {
        const char* op = "conv_transpose2d_forward";
        expect_device(x, "x", op);
        expect_like(w, x, "weight", op);
        expect_like(y, x, "out", op);
        const auto g = conv_transpose_geom(x.shape, w.shape, stride, padding, output_padding, dilation, groups, op);
        expect(y, "out", op).shape({g.N, g.C, g.H, g.W}).writable();
        if (b) {
          expect_like(*b, x, "bias", op);
          expect(*b, "bias", op).shape({g.C});
        }
        expect_workspace(ws, x, op);
        dispatch_float(x.dtype, op, [&](auto t) {
          using T = decltype(t);
          launch(kernels::conv_transpose2d_forward<T>, g, x.ptr<T>(), w.ptr<T>(), b ? b->ptr<T>() : nullptr,
                 y.ptr<T>(), ws.ptr<T>(), ws.numel());
        });
      },
      "x"_a, "w"_a, "b"_a, "out"_a, "workspace"_a, "stride"_a, "padding"_a, "output_padding"_a, "dilation"_a,
      "groups"_a);
  def(
      m, "conv_transpose2d_backward_data",
      [](Launch launch, const TensorView& gy, const TensorView& w, const TensorView& gx, const TensorView& ws,
         Pair stride, Pair padding, Pair output_padding, Pair dilation, int64_t groups) {
        const char* op = "conv_transpose2d_backward_data";
        expect_device(gy, "grad_out", op);
        expect_like(w, gy, "weight", op);
        expect_like(gx, gy, "grad_x", op);
        const auto g = conv_transpose_geom(gx.shape, w.shape, stride, padding, output_padding, dilation, groups, op);
        expect(gy, "grad_out", op).shape({g.N, g.C, g.H, g.W});
        expect(gx, "grad_x", op).writable();
        expect_workspace(ws, gy, op);
        dispatch_float(gy.dtype, op, [&](auto t) {
          using T = decltype(t);
          launch(kernels::conv_transpose2d_backward_data<T>, g, gy.ptr<T>(), w.ptr<T>(), gx.ptr<T>(), ws.ptr<T>(),
                 ws.numel());
        });
      },
      "grad_out"_a, "w"_a, "grad_x"_a, "workspace"_a, "stride"_a, "padding"_a, "output_padding"_a, "dilation"_a,
      "groups"_a);
  def(
      m, "conv_transpose2d_backward_weight",
      [](Launch launch, const TensorView& gy, const TensorView& x, const TensorView& gw, std::optional<TensorView> gb,
         const TensorView& ws, Pair stride, Pair padding, Pair output_padding, Pair dilation, int64_t groups) {
        const char* op = "conv_transpose2d_backward_weight";
        expect_device(gy, "grad_out", op);
        expect_like(x, gy, "x", op);
        expect_like(gw, gy, "grad_w", op);
        const auto g = conv_transpose_geom(x.shape, gw.shape, stride, padding, output_padding, dilation, groups, op);
        expect(gy, "grad_out", op).shape({g.N, g.C, g.H, g.W});
        expect(gw, "grad_w", op).writable();
        if (gb) {
          expect_like(*gb, gy, "grad_b", op);
          expect(*gb, "grad_b", op).shape({g.C}).writable();
        }
        expect_workspace(ws, gy, op);
        dispatch_float(gy.dtype, op, [&](auto t) {
          using T = decltype(t);
          launch(kernels::conv_transpose2d_backward_weight<T>, g, gy.ptr<T>(), x.ptr<T>(), gw.ptr<T>(),
                 gb ? gb->ptr<T>() : nullptr, ws.ptr<T>(), ws.numel());
        });
      },
      "grad_out"_a, "x"_a, "grad_w"_a, "grad_b"_a, "workspace"_a, "stride"_a, "padding"_a, "output_padding"_a,
      "dilation"_a, "groups"_a);
}

}  // namespace dk::bind
