// 2-D convolution (groups, dilation, asymmetric padding): forward, data and weight gradients,
// and the workspace each pass needs.
#include <string>
#include <vector>

#include "bindings/backend.h"
#include "bindings/window2d_args.h"
#include DK_KERNELS(conv.h)

namespace dk::bind {
namespace {

// Scratch of ref's dtype: at least one slot of conv2d_workspace_slot elements.
void expect_workspace(const TensorView& ws, const TensorView& ref, const Conv2dGeom& g, ConvPass pass,
                      const char* op) {
  expect_device(ws, "workspace", op).dtype(ref.dtype).ndim(1).writable();
  const int64_t slot = kernels::conv2d_workspace_slot(g, pass);
  DK_CHECK(ws.numel() >= slot, op, ": workspace must have at least ", slot, " elements, got ", ws.numel(),
           " (ask conv2d_workspace_size)");
}

}  // namespace

void bind_conv(py::module_& m) {
  def(
      m, "conv2d_workspace_size",
      [](Launch, const std::string& pass, const std::vector<int64_t>& x_shape, const std::vector<int64_t>& w_shape,
         Pair stride, Quad padding, Pair dilation, int64_t groups) {
        const auto g = conv_geom(x_shape, w_shape, stride, padding, dilation, groups, "conv2d_workspace_size");
        return kernels::conv2d_workspace_size(g, conv_pass(pass));
      },
      "pass"_a, "x_shape"_a, "w_shape"_a, "stride"_a, "padding"_a, "dilation"_a, "groups"_a);
  def(
      m, "conv2d_forward",
      [](Launch launch, const TensorView& x, const TensorView& w, OptView b, const TensorView& y,
         const TensorView& ws, Pair stride, Quad padding, Pair dilation, int64_t groups) {
        const char* op = "conv2d_forward";
        expect_device(x, "x", op);
        expect_device(w, "weight", op).dtype(x.dtype);
        expect_device(y, "out", op).dtype(x.dtype);
        const auto g = conv_geom(x.shape, w.shape, stride, padding, dilation, groups, op);
        expect(y, "out", op).shape({g.N, g.K, g.P, g.Q}).writable();
        if (b) expect_device(*b, "bias", op).dtype(x.dtype).shape({g.K});
        expect_workspace(ws, x, g, ConvPass::forward, op);
        dispatch_float(x.dtype, op, [&](auto t) {
          using T = decltype(t);
          launch(kernels::conv2d_forward<T>, g, x.ptr<T>(), w.ptr<T>(), opt_ptr<T>(b), y.ptr<T>(), ws.ptr<T>(),
                 ws.numel());
        });
      },
      "x"_a, "w"_a, "b"_a, "out"_a, "workspace"_a, "stride"_a, "padding"_a, "dilation"_a, "groups"_a);
  def(
      m, "conv2d_backward_data",
      [](Launch launch, const TensorView& gy, const TensorView& w, const TensorView& gx, const TensorView& ws,
         Pair stride, Quad padding, Pair dilation, int64_t groups) {
        const char* op = "conv2d_backward_data";
        expect_device(gy, "grad_out", op);
        expect_device(w, "weight", op).dtype(gy.dtype);
        expect_device(gx, "grad_x", op).dtype(gy.dtype);
        const auto g = conv_geom(gx.shape, w.shape, stride, padding, dilation, groups, op);
        expect(gy, "grad_out", op).shape({g.N, g.K, g.P, g.Q});
        expect(gx, "grad_x", op).writable();
        expect_workspace(ws, gy, g, ConvPass::backward_data, op);
        dispatch_float(gy.dtype, op, [&](auto t) {
          using T = decltype(t);
          launch(kernels::conv2d_backward_data<T>, g, gy.ptr<T>(), w.ptr<T>(), gx.ptr<T>(), ws.ptr<T>(), ws.numel());
        });
      },
      "grad_out"_a, "w"_a, "grad_x"_a, "workspace"_a, "stride"_a, "padding"_a, "dilation"_a, "groups"_a);
  def(
      m, "conv2d_backward_weight",
      [](Launch launch, const TensorView& gy, const TensorView& x, const TensorView& gw, OptView gb,
         const TensorView& ws, Pair stride, Quad padding, Pair dilation, int64_t groups) {
        const char* op = "conv2d_backward_weight";
        expect_device(gy, "grad_out", op);
        expect_device(x, "x", op).dtype(gy.dtype);
        expect_device(gw, "grad_w", op).dtype(gy.dtype);
        const auto g = conv_geom(x.shape, gw.shape, stride, padding, dilation, groups, op);
        expect(gy, "grad_out", op).shape({g.N, g.K, g.P, g.Q});
        expect(gw, "grad_w", op).writable();
        if (gb) expect_device(*gb, "grad_b", op).dtype(gy.dtype).shape({g.K}).writable();
        expect_workspace(ws, gy, g, ConvPass::backward_weight, op);
        dispatch_float(gy.dtype, op, [&](auto t) {
          using T = decltype(t);
          launch(kernels::conv2d_backward_weight<T>, g, gy.ptr<T>(), x.ptr<T>(), gw.ptr<T>(), opt_ptr<T>(gb),
                 ws.ptr<T>(), ws.numel());
        });
      },
      "grad_out"_a, "x"_a, "grad_w"_a, "grad_b"_a, "workspace"_a, "stride"_a, "padding"_a, "dilation"_a,
      "groups"_a);
}

}  // namespace dk::bind
