// Batch normalization over (N, C, *): forward (training or eval, running statistics) and backward.
#include "bindings/backend.h"
#include DK_KERNELS(norm.h)

namespace dk::bind {
namespace {

struct NCS {
  int64_t N, C, S;
};

// x (N, C, *) as (N, C, S).
NCS check_input(const char* op, const TensorView& x) {
  expect_device(x, "x", op);
  DK_CHECK(x.ndim() >= 2, op, ": x must be (N, C), (N, C, L) or (N, C, H, W), got shape ", shape_str(x.shape));
  NCS d{x.shape[0], x.shape[1], 1};
  for (int64_t i = 2; i < x.ndim(); ++i) d.S *= x.shape[i];
  return d;
}

// An optional (C,) vector of x's dtype.
void check_channel_vector(const char* op, const char* name, const OptView& v, const TensorView& x, int64_t C,
                          bool written) {
  if (!v) return;
  expect_device(*v, name, op).dtype(x.dtype).shape({C});
  if (written) expect(*v, name, op).writable();
}

}  // namespace

void bind_norm(py::module_& m) {
  def(
      m, "batch_norm_forward",
      [](Launch launch, const TensorView& x, const TensorView& y, const OptView& weight, const OptView& bias,
         const OptView& running_mean, const OptView& running_var, const TensorView& save_mean,
         const TensorView& save_invstd, bool training, double momentum, double eps) {
        const char* op = "batch_norm_forward";
        const NCS d = check_input(op, x);
        expect_device(y, "y", op).dtype(x.dtype).shape(x.shape).writable();
        check_channel_vector(op, "weight", weight, x, d.C, false);
        check_channel_vector(op, "bias", bias, x, d.C, false);
        check_channel_vector(op, "running_mean", running_mean, x, d.C, training);
        check_channel_vector(op, "running_var", running_var, x, d.C, training);
        check_channel_vector(op, "save_mean", save_mean, x, d.C, true);
        check_channel_vector(op, "save_invstd", save_invstd, x, d.C, true);
        DK_CHECK(running_mean.has_value() == running_var.has_value(), op,
                 ": running_mean and running_var must be given together");
        DK_CHECK(training || running_mean, op, ": eval mode needs running_mean and running_var");
        DK_CHECK(!training || d.N * d.S != 1, op, ": training needs more than 1 value per channel, got x of shape ",
                 shape_str(x.shape));
        DK_CHECK(eps > 0, op, ": eps must be > 0, got ", eps);
        dispatch_float(x.dtype, op, [&](auto tag) {
          using T = decltype(tag);
          if (d.C == 0) return;
          launch(kernels::batch_norm_forward<T>, x.ptr<T>(), y.ptr<T>(), opt_ptr<T>(weight), opt_ptr<T>(bias),
                 opt_ptr<T>(running_mean), opt_ptr<T>(running_var), save_mean.ptr<T>(), save_invstd.ptr<T>(), d.N,
                 d.C, d.S, training, momentum, eps);
        });
      },
      "x"_a, "y"_a, "weight"_a, "bias"_a, "running_mean"_a, "running_var"_a, "save_mean"_a, "save_invstd"_a,
      "training"_a, "momentum"_a, "eps"_a);
  def(
      m, "batch_norm_backward",
      [](Launch launch, const TensorView& gy, const TensorView& x, const OptView& weight, const TensorView& save_mean,
         const TensorView& save_invstd, const TensorView& gx, const TensorView& grad_weight,
         const TensorView& grad_bias, bool training) {
        const char* op = "batch_norm_backward";
        const NCS d = check_input(op, x);
        expect_device(gy, "grad_out", op).dtype(x.dtype).shape(x.shape);
        expect_device(gx, "grad_x", op).dtype(x.dtype).shape(x.shape).writable();
        check_channel_vector(op, "weight", weight, x, d.C, false);
        check_channel_vector(op, "save_mean", save_mean, x, d.C, false);
        check_channel_vector(op, "save_invstd", save_invstd, x, d.C, false);
        check_channel_vector(op, "grad_weight", grad_weight, x, d.C, true);
        check_channel_vector(op, "grad_bias", grad_bias, x, d.C, true);
        dispatch_float(x.dtype, op, [&](auto tag) {
          using T = decltype(tag);
          if (d.C == 0) return;
          launch(kernels::batch_norm_backward<T>, gy.ptr<T>(), x.ptr<T>(), opt_ptr<T>(weight), save_mean.ptr<T>(),
                 save_invstd.ptr<T>(), gx.ptr<T>(), grad_weight.ptr<T>(), grad_bias.ptr<T>(), d.N, d.C, d.S,
                 training);
        });
      },
      "grad_out"_a, "x"_a, "weight"_a, "save_mean"_a, "save_invstd"_a, "grad_x"_a, "grad_weight"_a, "grad_bias"_a,
      "training"_a);
}

}  // namespace dk::bind
