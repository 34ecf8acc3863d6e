#include "bindings/cuda_common.h"
#include "bindings/norm_checks.h"
#include "cuda/norm.h"

void bind_cuda_norm(py::module_& m) {
  using dk::TensorView;
  using dk::bind::opt_ptr;
  using dk::bind::OptView;
  constexpr dk::Device kCuda = dk::Device::cuda;
  m.def(
      "batch_norm_forward",
      [](const TensorView& x, const TensorView& y, const OptView& weight, const OptView& bias,
         const OptView& running_mean, const OptView& running_var, const TensorView& save_mean,
         const TensorView& save_invstd, bool training, double momentum, double eps, std::uintptr_t stream) {
        const char* op = "batch_norm_forward";
        const dk::bind::NCS d = dk::bind::check_bn_input(kCuda, op, x);
        dk::bind::check_bn_forward(kCuda, op, x, y, d, weight, bias, running_mean, running_var, save_mean,
                                   save_invstd, training, eps);
        dk::dispatch_float(x.dtype, op, [&](auto tag) {
          using T = decltype(tag);
          if (d.C == 0) return;
          py::gil_scoped_release nogil;
          dk::cuda::batch_norm_forward<T>(x.ptr<T>(), y.ptr<T>(), opt_ptr<T>(weight), opt_ptr<T>(bias),
                                         opt_ptr<T>(running_mean), opt_ptr<T>(running_var), save_mean.ptr<T>(),
                                         save_invstd.ptr<T>(), d.N, d.C, d.S, training, momentum, eps, dk::bind::as_stream(stream));
        });
      },
      "x"_a, "y"_a, "weight"_a, "bias"_a, "running_mean"_a, "running_var"_a, "save_mean"_a, "save_invstd"_a,
      "training"_a, "momentum"_a, "eps"_a, "stream"_a = 0);
  m.def(
      "batch_norm_backward",
      [](const TensorView& gy, const TensorView& x, const OptView& weight, const TensorView& save_mean,
         const TensorView& save_invstd, const TensorView& gx, const TensorView& grad_weight,
         const TensorView& grad_bias, bool training, std::uintptr_t stream) {
        const char* op = "batch_norm_backward";
        const dk::bind::NCS d = dk::bind::check_bn_input(kCuda, op, x);
        dk::bind::check_bn_backward(kCuda, op, gy, x, d, weight, save_mean, save_invstd, gx, grad_weight, grad_bias);
        dk::dispatch_float(x.dtype, op, [&](auto tag) {
          using T = decltype(tag);
          if (d.C == 0) return;
          py::gil_scoped_release nogil;
          dk::cuda::batch_norm_backward<T>(gy.ptr<T>(), x.ptr<T>(), opt_ptr<T>(weight), save_mean.ptr<T>(),
                                          save_invstd.ptr<T>(), gx.ptr<T>(), grad_weight.ptr<T>(),
                                          grad_bias.ptr<T>(), d.N, d.C, d.S, training, dk::bind::as_stream(stream));
        });
      },
      "grad_out"_a, "x"_a, "weight"_a, "save_mean"_a, "save_invstd"_a, "grad_x"_a, "grad_weight"_a, "grad_bias"_a,
      "training"_a, "stream"_a = 0);
}
