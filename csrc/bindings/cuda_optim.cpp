#include "bindings/cuda_common.h"
#include "bindings/optim_common.h"
#include "cuda/optim.h"

void bind_cuda_optim(py::module_& m) {
  using dk::TensorView;
  using std::optional;
  m.def(
      "sgd_step",
      [](const TensorView& param, const TensorView& grad, const optional<TensorView>& momentum_buffer, double lr,
         double momentum, double dampening, double weight_decay, bool nesterov, bool first_step, std::uintptr_t stream) {
        const char* op = "sgd_step";
        dk::bind::expect_param_grad(param, grad, dk::Device::cuda, op);
        dk::dispatch_float(param.dtype, op, [&](auto t) {
          using T = decltype(t);
          T* buf = dk::bind::optional_state<T>(momentum_buffer, param, "momentum_buffer", op, momentum != 0.0,
                                               "exactly when momentum != 0");
          const dk::optim::SgdHyper<T> h{T(lr), T(momentum), T(1.0 - dampening), T(weight_decay), nesterov, first_step};
          py::gil_scoped_release nogil;
          dk::cuda::sgd_step<T>(param.ptr<T>(), grad.ptr<T>(), buf, param.numel(), h, dk::bind::as_stream(stream));
        });
      },
      "param"_a, "grad"_a, "momentum_buffer"_a, "lr"_a, "momentum"_a, "dampening"_a, "weight_decay"_a, "nesterov"_a,
      "first_step"_a, "stream"_a = 0);
  m.def(
      "adam_step",
      [](const TensorView& param, const TensorView& grad, const TensorView& exp_avg, const TensorView& exp_avg_sq,
         const optional<TensorView>& max_exp_avg_sq, double lr, double beta1, double beta2, double eps,
         double weight_decay, double step_size, double bias_correction2_sqrt, bool amsgrad, bool decoupled, std::uintptr_t stream) {
        const char* op = "adam_step";
        dk::bind::expect_param_grad(param, grad, dk::Device::cuda, op);
        dk::bind::expect_like(exp_avg, param, "exp_avg", op, true);
        dk::bind::expect_like(exp_avg_sq, param, "exp_avg_sq", op, true);
        dk::dispatch_float(param.dtype, op, [&](auto t) {
          using T = decltype(t);
          T* vmax = dk::bind::optional_state<T>(max_exp_avg_sq, param, "max_exp_avg_sq", op, amsgrad,
                                                "exactly when amsgrad");
          const dk::optim::AdamHyper<T> h{T(beta2),
                                          T(1.0 - beta1),
                                          T(1.0 - beta2),
                                          T(eps),
                                          T(decoupled ? 0.0 : weight_decay),
                                          T(decoupled ? 1.0 - lr * weight_decay : 1.0),
                                          T(step_size),
                                          T(bias_correction2_sqrt),
                                          amsgrad,
                                          decoupled};
          py::gil_scoped_release nogil;
          dk::cuda::adam_step<T>(param.ptr<T>(), grad.ptr<T>(), exp_avg.ptr<T>(), exp_avg_sq.ptr<T>(), vmax,
                                param.numel(), h, dk::bind::as_stream(stream));
        });
      },
      "param"_a, "grad"_a, "exp_avg"_a, "exp_avg_sq"_a, "max_exp_avg_sq"_a, "lr"_a, "beta1"_a, "beta2"_a, "eps"_a,
      "weight_decay"_a, "step_size"_a, "bias_correction2_sqrt"_a, "amsgrad"_a, "decoupled"_a,
      "stream"_a = 0);
  m.def(
      "rmsprop_step",
      [](const TensorView& param, const TensorView& grad, const TensorView& square_avg,
         const optional<TensorView>& grad_avg, const optional<TensorView>& momentum_buffer, double lr, double alpha,
         double eps, double weight_decay, double momentum, bool centered, std::uintptr_t stream) {
        const char* op = "rmsprop_step";
        dk::bind::expect_param_grad(param, grad, dk::Device::cuda, op);
        dk::bind::expect_like(square_avg, param, "square_avg", op, true);
        dk::dispatch_float(param.dtype, op, [&](auto t) {
          using T = decltype(t);
          T* avg = dk::bind::optional_state<T>(grad_avg, param, "grad_avg", op, centered, "exactly when centered");
          T* buf = dk::bind::optional_state<T>(momentum_buffer, param, "momentum_buffer", op, momentum > 0.0,
                                               "exactly when momentum > 0");
          const dk::optim::RmspropHyper<T> h{T(lr), T(alpha), T(1.0 - alpha), T(eps), T(weight_decay), T(momentum), centered};
          py::gil_scoped_release nogil;
          dk::cuda::rmsprop_step<T>(param.ptr<T>(), grad.ptr<T>(), square_avg.ptr<T>(), avg, buf, param.numel(), h,
                                    dk::bind::as_stream(stream));
        });
      },
      "param"_a, "grad"_a, "square_avg"_a, "grad_avg"_a, "momentum_buffer"_a, "lr"_a, "alpha"_a, "eps"_a,
      "weight_decay"_a, "momentum"_a, "centered"_a, "stream"_a = 0);
}
