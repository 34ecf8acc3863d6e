// Entry-point checks shared by the CPU and CUDA batch-norm bindings.
#pragma once
#include "bindings/backend.h"

namespace dk::bind {

inline void expect_on(Device dev, const TensorView& v, const char* name, const char* op) {
  expect(v, name, op).device(dev).contiguous();
}

struct NCS {
  int64_t N, C, S;
};

// x (N, C, *) as (N, C, S).
inline NCS check_bn_input(Device dev, const char* op, const TensorView& x) {
  expect_on(dev, x, "x", op);
  DK_CHECK(x.ndim() >= 2, op, ": x must be (N, C), (N, C, L) or (N, C, H, W), got shape ", shape_str(x.shape));
  NCS d{x.shape[0], x.shape[1], 1};
  for (int64_t i = 2; i < x.ndim(); ++i) d.S *= x.shape[i];
  return d;
}

// An optional (C,) vector of x's dtype.
inline void check_channel_vector(Device dev, const char* op, const char* name, const OptView& v,
                                 const TensorView& x, int64_t C, bool written) {
  if (!v) return;
  expect_on(dev, *v, name, op);
  expect(*v, name, op).dtype(x.dtype).shape({C});
  if (written) expect(*v, name, op).writable();
}

// Everything batch_norm_forward checks beyond the arrays' shapes.
inline void check_bn_forward(Device dev, const char* op, const TensorView& x, const TensorView& y, const NCS& d,
                             const OptView& weight, const OptView& bias, const OptView& running_mean,
                             const OptView& running_var, const TensorView& save_mean, const TensorView& save_invstd,
                             bool training, double eps) {
  expect_on(dev, y, "y", op);
  expect(y, "y", op).dtype(x.dtype).shape(x.shape).writable();
  check_channel_vector(dev, op, "weight", weight, x, d.C, false);
  check_channel_vector(dev, op, "bias", bias, x, d.C, false);
  check_channel_vector(dev, op, "running_mean", running_mean, x, d.C, training);
  check_channel_vector(dev, op, "running_var", running_var, x, d.C, training);
  check_channel_vector(dev, op, "save_mean", save_mean, x, d.C, true);
  check_channel_vector(dev, op, "save_invstd", save_invstd, x, d.C, true);
  DK_CHECK(running_mean.has_value() == running_var.has_value(), op,
           ": running_mean and running_var must be given together");
  DK_CHECK(training || running_mean, op, ": eval mode needs running_mean and running_var");
  DK_CHECK(!training || d.N * d.S != 1, op, ": training needs more than 1 value per channel, got x of shape ",
           shape_str(x.shape));
  DK_CHECK(eps > 0, op, ": eps must be > 0, got ", eps);
}

inline void check_bn_backward(Device dev, const char* op, const TensorView& gy, const TensorView& x, const NCS& d,
                              const OptView& weight, const TensorView& save_mean, const TensorView& save_invstd,
                              const TensorView& gx, const TensorView& grad_weight, const TensorView& grad_bias) {
  expect_on(dev, gy, "grad_out", op);
  expect(gy, "grad_out", op).dtype(x.dtype).shape(x.shape);
  expect_on(dev, gx, "grad_x", op);
  expect(gx, "grad_x", op).dtype(x.dtype).shape(x.shape).writable();
  check_channel_vector(dev, op, "weight", weight, x, d.C, false);
  check_channel_vector(dev, op, "save_mean", save_mean, x, d.C, false);
  check_channel_vector(dev, op, "save_invstd", save_invstd, x, d.C, false);
  check_channel_vector(dev, op, "grad_weight", grad_weight, x, d.C, true);
  check_channel_vector(dev, op, "grad_bias", grad_bias, x, d.C, true);
}

}  // namespace dk::bind
