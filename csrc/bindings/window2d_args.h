// Building checked conv / pooling geometries from the binding arguments (shared by the CPU
// and CUDA entry points of the conv and pool families).
#pragma once
#include <array>
#include <string>
#include <vector>

#include "core/tensor_view.h"
#include "core/window2d.h"

namespace dk::bind {

using Pair = std::array<int64_t, 2>;
using Quad = std::array<int64_t, 4>;

// x_shape (N, C, H, W), w_shape (K, C/groups, R, S); padding (top, bottom, left, right).
inline Conv2dGeom conv_geom(const std::vector<int64_t>& xs, const std::vector<int64_t>& ws, Pair stride,
                            Quad padding, Pair dilation, int64_t groups, const char* op) {
  DK_CHECK(xs.size() == 4, op, ": x must be 4-D (N, C, H, W), got shape ", shape_str(xs));
  DK_CHECK(ws.size() == 4, op, ": weight must be 4-D (C_out, C_in/groups, kH, kW), got shape ", shape_str(ws));
  Conv2dGeom g;
  g.N = xs[0], g.C = xs[1], g.H = xs[2], g.W = xs[3];
  g.K = ws[0], g.R = ws[2], g.S = ws[3];
  g.groups = groups;
  g.sh = stride[0], g.sw = stride[1];
  g.pt = padding[0], g.pb = padding[1], g.pl = padding[2], g.pr = padding[3];
  g.dh = dilation[0], g.dw = dilation[1];
  DK_CHECK(groups >= 1 && ws[1] * groups == g.C, op, ": weight has ", ws[1], " input channels per group (groups=",
           groups, ") but x has ", g.C, " channels (x.shape=", shape_str(xs), ", weight.shape=", shape_str(ws), ")");
  g.finish(op);
  return g;
}

// The conv2d geometry whose adjoint a transposed convolution is, from x_shape (N, C_in, H_in, W_in)
// and w_shape (C_in, C_out/groups, kH, kW): conv2d input (N, C_out, H_out, W_out), output
// (N, C_in, H_in, W_in), with H_out = (H_in - 1)*stride - 2*padding + dilation*(kH - 1) +
// output_padding + 1. output_padding (< stride or < dilation, as PyTorch) adds rows and columns
// at the bottom/right that the conv2d output would not need, so P, Q are set to H_in, W_in.
inline Conv2dGeom conv_transpose_geom(const std::vector<int64_t>& xs, const std::vector<int64_t>& ws, Pair stride,
                                      Pair padding, Pair output_padding, Pair dilation, int64_t groups,
                                      const char* op) {
  DK_CHECK(xs.size() == 4, op, ": x must be 4-D (N, C_in, H, W), got shape ", shape_str(xs));
  DK_CHECK(ws.size() == 4, op, ": weight must be 4-D (C_in, C_out/groups, kH, kW), got shape ", shape_str(ws));
  DK_CHECK(groups >= 1 && xs[1] % groups == 0, op, ": groups=", groups, " must be >= 1 and divide the input channels (",
           xs[1], ")");
  DK_CHECK(ws[0] == xs[1], op, ": weight has ", ws[0], " input channels but x has ", xs[1], " (x.shape=",
           shape_str(xs), ", weight.shape=", shape_str(ws), ")");
  DK_CHECK(xs[2] >= 1 && xs[3] >= 1, op, ": x must have height and width >= 1, got shape ", shape_str(xs));
  constexpr int64_t kMax = int64_t(1) << 30;  // keeps the size arithmetic below far from overflow
  for (int i = 0; i < 2; ++i) {
    DK_CHECK(stride[i] >= 1 && stride[i] <= kMax && dilation[i] >= 1 && dilation[i] <= kMax, op,
             ": stride and dilation must be in [1, 2^30], got (", stride[0], ", ", stride[1], ") and (", dilation[0],
             ", ", dilation[1], ")");
    DK_CHECK(padding[i] >= 0 && padding[i] <= kMax, op, ": padding must be in [0, 2^30], got (", padding[0], ", ",
             padding[1], ")");
    DK_CHECK(output_padding[i] >= 0 && (output_padding[i] < stride[i] || output_padding[i] < dilation[i]), op,
             ": output_padding must be >= 0 and smaller than the stride or the dilation, got (", output_padding[0],
             ", ", output_padding[1], ")");
  }
  DK_CHECK(ws[1] >= 0 && ws[2] >= 1 && ws[3] >= 1 && ws[2] <= kMax && ws[3] <= kMax && xs[2] <= kMax &&
               xs[3] <= kMax, op, ": bad weight shape ", shape_str(ws), " for x.shape=", shape_str(xs));
  Conv2dGeom g;
  g.N = xs[0], g.K = xs[1], g.C = ws[1] * groups, g.R = ws[2], g.S = ws[3];
  g.groups = groups;
  g.sh = stride[0], g.sw = stride[1];
  g.pt = g.pb = padding[0], g.pl = g.pr = padding[1];
  g.dh = dilation[0], g.dw = dilation[1];
  g.H = (xs[2] - 1) * g.sh - 2 * g.pt + g.dh * (g.R - 1) + output_padding[0] + 1;
  g.W = (xs[3] - 1) * g.sw - 2 * g.pl + g.dw * (g.S - 1) + output_padding[1] + 1;
  DK_CHECK(g.H >= 1 && g.W >= 1, op, ": the output size (", g.H, ", ", g.W, ") must be positive (x.shape=",
           shape_str(xs), ", weight.shape=", shape_str(ws), ", padding (", padding[0], ", ", padding[1], "))");
  g.finish(op);              // P, Q >= H_in, W_in (larger only through output_padding)
  g.P = xs[2], g.Q = xs[3];
  return g;
}

// Planes are all leading dimensions of a (..., H, W) shape.
inline Pool2dGeom pool_geom(const std::vector<int64_t>& xs, Pair kernel, Pair stride, Pair padding, const char* op,
                            Pair dilation = {1, 1}, bool ceil_mode = false, int64_t divisor = 0) {
  DK_CHECK(xs.size() >= 2, op, ": x must have at least 2 dimensions (..., H, W), got shape ", shape_str(xs));
  Pool2dGeom g;
  g.planes = 1;
  for (size_t d = 0; d + 2 < xs.size(); ++d) g.planes *= xs[d];
  g.H = xs[xs.size() - 2], g.W = xs[xs.size() - 1];
  g.kh = kernel[0], g.kw = kernel[1], g.sh = stride[0], g.sw = stride[1], g.ph = padding[0], g.pw = padding[1];
  g.dh = dilation[0], g.dw = dilation[1], g.ceil_mode = ceil_mode, g.divisor = divisor;
  g.finish(op);
  return g;
}

// (planes, H, W, P, Q) of an adaptive pooling from x (..., H, W) to (..., P, Q).
inline std::array<int64_t, 5> adaptive_geom(const std::vector<int64_t>& xs, Pair out, const char* op) {
  DK_CHECK(xs.size() >= 2, op, ": x must have at least 2 dimensions (..., H, W), got shape ", shape_str(xs));
  int64_t planes = 1;
  for (size_t d = 0; d + 2 < xs.size(); ++d) planes *= xs[d];
  const int64_t H = xs[xs.size() - 2], W = xs[xs.size() - 1];
  DK_CHECK(H >= 1 && W >= 1, op, ": input height and width must be >= 1, got shape ", shape_str(xs));
  DK_CHECK(out[0] >= 1 && out[1] >= 1, op, ": output_size must be >= 1, got (", out[0], ", ", out[1], ")");
  return {planes, H, W, out[0], out[1]};
}

// Shape with the last two dimensions replaced by (P, Q).
inline std::vector<int64_t> pooled_shape(const std::vector<int64_t>& xs, int64_t P, int64_t Q) {
  std::vector<int64_t> s = xs;
  s[s.size() - 2] = P;
  s[s.size() - 1] = Q;
  return s;
}

inline ConvPass conv_pass(const std::string& name) {
  if (name == "forward") return ConvPass::forward;
  if (name == "backward_data") return ConvPass::backward_data;
  if (name == "backward_weight") return ConvPass::backward_weight;
  throw std::invalid_argument("conv2d_workspace_size: pass must be 'forward', 'backward_data' or "
                              "'backward_weight', got '" + name + "'");
}

}  // namespace dk::bind
