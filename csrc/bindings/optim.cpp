// Optimizer steps (SGD, Adam/AdamW, RMSprop) updating a parameter and its state in place.
//
// Every array of one step lives on the backend's device, has the parameter's dtype and shape and
// is contiguous; the parameter and its state are writable. An optional state array must be
// present exactly when the options use it, so a kernel never dereferences a null pointer nor
// leaves a buffer stale.
#include "bindings/backend.h"
#include "core/optim_math.h"
#include DK_KERNELS(optim.h)

namespace dk::bind {
namespace {

void expect_like(const TensorView& v, const TensorView& param, const char* name, const char* op, bool writable) {
  expect(v, name, op).device(param.device).contiguous().dtype(param.dtype).shape(param.shape);
  if (writable) expect(v, name, op).writable();
}

// The data pointer of an optional state array, checked; null when absent.
template <typename T>
T* optional_state(const OptView& v, const TensorView& param, const char* name, const char* op, bool required,
                  const char* why) {
  DK_CHECK(v.has_value() == required, op, ": ", name, required ? " is required " : " must be None ", why);
  if (!v) return nullptr;
  expect_like(*v, param, name, op, true);
  return v->ptr<T>();
}

void expect_param_grad(const TensorView& param, const TensorView& grad, const char* op) {
  expect_device(param, "param", op).writable();
  expect_like(grad, param, "grad", op, false);
}

}  // namespace

void bind_optim(py::module_& m) {
  def(
      m, "sgd_step",
      [](Launch launch, const TensorView& param, const TensorView& grad, const OptView& momentum_buffer, double lr,
         double momentum, double dampening, double weight_decay, bool nesterov, bool first_step) {
        const char* op = "sgd_step";
        expect_param_grad(param, grad, op);
        dispatch_float(param.dtype, op, [&](auto t) {
          using T = decltype(t);
          T* buf = optional_state<T>(momentum_buffer, param, "momentum_buffer", op, momentum != 0.0,
                                     "exactly when momentum != 0");
          const optim::SgdHyper<T> h{T(lr), T(momentum), T(1.0 - dampening), T(weight_decay), nesterov, first_step};
          launch(kernels::sgd_step<T>, param.ptr<T>(), grad.ptr<T>(), buf, param.numel(), h);
        });
      },
      "param"_a, "grad"_a, "momentum_buffer"_a, "lr"_a, "momentum"_a, "dampening"_a, "weight_decay"_a, "nesterov"_a,
      "first_step"_a);
  def(
      m, "adam_step",
      [](Launch launch, const TensorView& param, const TensorView& grad, const TensorView& exp_avg,
         const TensorView& exp_avg_sq, const OptView& max_exp_avg_sq, double lr, double beta1, double beta2,
         double eps, double weight_decay, double step_size, double bias_correction2_sqrt, bool amsgrad,
         bool decoupled) {
        const char* op = "adam_step";
        expect_param_grad(param, grad, op);
        expect_like(exp_avg, param, "exp_avg", op, true);
        expect_like(exp_avg_sq, param, "exp_avg_sq", op, true);
        dispatch_float(param.dtype, op, [&](auto t) {
          using T = decltype(t);
          T* vmax = optional_state<T>(max_exp_avg_sq, param, "max_exp_avg_sq", op, amsgrad, "exactly when amsgrad");
          const optim::AdamHyper<T> h{T(beta2),
                                      T(1.0 - beta1),
                                      T(1.0 - beta2),
                                      T(eps),
                                      T(decoupled ? 0.0 : weight_decay),
                                      T(decoupled ? 1.0 - lr * weight_decay : 1.0),
                                      T(step_size),
                                      T(bias_correction2_sqrt),
                                      amsgrad,
                                      decoupled};
          launch(kernels::adam_step<T>, param.ptr<T>(), grad.ptr<T>(), exp_avg.ptr<T>(), exp_avg_sq.ptr<T>(), vmax,
                 param.numel(), h);
        });
      },
      "param"_a, "grad"_a, "exp_avg"_a, "exp_avg_sq"_a, "max_exp_avg_sq"_a, "lr"_a, "beta1"_a, "beta2"_a, "eps"_a,
      "weight_decay"_a, "step_size"_a, "bias_correction2_sqrt"_a, "amsgrad"_a, "decoupled"_a);
  def(
      m, "rmsprop_step",
      [](Launch launch, const TensorView& param, const TensorView& grad, const TensorView& square_avg,
         const OptView& grad_avg, const OptView& momentum_buffer, double lr, double alpha, double eps,
         double weight_decay, double momentum, bool centered) {
        const char* op = "rmsprop_step";
        expect_param_grad(param, grad, op);
        expect_like(square_avg, param, "square_avg", op, true);
        dispatch_float(param.dtype, op, [&](auto t) {
          using T = decltype(t);
          T* avg = optional_state<T>(grad_avg, param, "grad_avg", op, centered, "exactly when centered");
          T* buf = optional_state<T>(momentum_buffer, param, "momentum_buffer", op, momentum > 0.0,
                                     "exactly when momentum > 0");
          const optim::RmspropHyper<T> h{T(lr), T(alpha), T(1.0 - alpha), T(eps), T(weight_decay), T(momentum),
                                         centered};
          launch(kernels::rmsprop_step<T>, param.ptr<T>(), grad.ptr<T>(), square_avg.ptr<T>(), avg, buf,
                 param.numel(), h);
        });
      },
      "param"_a, "grad"_a, "square_avg"_a, "grad_avg"_a, "momentum_buffer"_a, "lr"_a, "alpha"_a, "eps"_a,
      "weight_decay"_a, "momentum"_a, "centered"_a);
}

}  // namespace dk::bind
