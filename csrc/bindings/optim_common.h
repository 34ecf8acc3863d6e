// Entry-point checks and hyperparameter packing shared by cpu_optim.cpp and cuda_optim.cpp.
// Every array of one step lives on `device`, has the parameter's dtype and shape and is
// contiguous; the parameter and its state are writable (updated in place). An optional state
// array must be present exactly when the options use it, so a kernel never dereferences a
// null pointer nor leaves a buffer stale.
#pragma once
#include <optional>

#include "bindings/common.h"
#include "core/optim_math.h"

namespace dk::bind {

inline void expect_like(const TensorView& v, const TensorView& param, const char* name, const char* op,
                        bool writable) {
  expect(v, name, op).device(param.device).contiguous().dtype(param.dtype).shape(param.shape);
  if (writable) expect(v, name, op).writable();
}

// The data pointer of an optional state array, checked; null when absent.
template <typename T>
T* optional_state(const std::optional<TensorView>& v, const TensorView& param, const char* name, const char* op,
                  bool required, const char* why) {
  DK_CHECK(v.has_value() == required, op, ": ", name, required ? " is required " : " must be None ", why);
  if (!v) return nullptr;
  expect_like(*v, param, name, op, true);
  return v->ptr<T>();
}

inline void expect_param_grad(const TensorView& param, const TensorView& grad, Device device, const char* op) {
  expect(param, "param", op).device(device).contiguous().writable();
  expect_like(grad, param, "grad", op, false);
}

}  // namespace dk::bind
