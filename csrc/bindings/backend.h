// One binding source per op family, for every backend.
//
// Each csrc/bindings/<family>.cpp is compiled once per extension module: plainly for deepkern._cpu,
// and with DK_BACKEND_CUDA defined for deepkern._cuda (and for the emulated CUDA module, which
// links the same objects against the CPU-emulated kernels). Everything that differs between
// backends lives here, in `Backend`:
//   * the device every array argument must be on (`expect_device`),
//   * the extra launch arguments: CUDA entries take `stream` (CuPy's current stream as an
//     integer) as a trailing keyword argument and pass it to the kernel as its last argument;
//     CPU entries have no such argument,
//   * the kernel namespace: `kernels::` is dk::cpu or dk::cuda, and DK_KERNELS(<family>.h)
//     includes the matching header.
// A family file writes its argument checks and kernel calls once:
//
//   #include "bindings/backend.h"
//   #include DK_KERNELS(softmax.h)
//   void bind_softmax(py::module_& m) {
//     dk::bind::def(m, "softmax_forward", [](Launch launch, const TensorView& x, ...) {
//       dk::bind::expect_device(x, "x", op);
//       ... launch(kernels::softmax_forward<T>, x.ptr<T>(), ...);   // + stream on CUDA
//     }, "x"_a, ...);
//   }
//
// The CPU module never sees a CUDA header, so it builds where no CUDA toolkit is installed.
#pragma once
#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>

#include "bindings/common.h"

#define DK_BIND_STRINGIFY_(x) #x
#define DK_BIND_STRINGIFY(x) DK_BIND_STRINGIFY_(x)

#if defined(DK_BACKEND_CUDA)
#include <cuda_runtime_api.h>
#define DK_KERNELS(header) DK_BIND_STRINGIFY(cuda/header)
namespace dk::cuda {}
#else
#define DK_KERNELS(header) DK_BIND_STRINGIFY(cpu/header)
namespace dk::cpu {}
#endif

namespace dk::bind {

#if defined(DK_BACKEND_CUDA)
namespace kernels = ::dk::cuda;

struct Backend {
  static constexpr Device device = Device::cuda;
  static constexpr bool is_cuda = true;
};

// The extra launch arguments of a CUDA entry: the stream the kernel runs on.
struct Launch {
  cudaStream_t stream = nullptr;

  // Runs kernel(args..., stream) with the GIL released.
  template <class Kernel, class... Args>
  decltype(auto) operator()(Kernel&& kernel, Args&&... args) const {
    py::gil_scoped_release nogil;
    return kernel(std::forward<Args>(args)..., stream);
  }
};
#else
namespace kernels = ::dk::cpu;

struct Backend {
  static constexpr Device device = Device::cpu;
  static constexpr bool is_cuda = false;
};

// CPU entries have no extra launch arguments.
struct Launch {
  // Runs kernel(args...) with the GIL released.
  template <class Kernel, class... Args>
  decltype(auto) operator()(Kernel&& kernel, Args&&... args) const {
    py::gil_scoped_release nogil;
    return kernel(std::forward<Args>(args)...);
  }
};
#endif

// Entry-point check for an array argument: on this backend's device and C-contiguous. Returns
// the Expect for further checks: expect_device(y, "y", op).dtype(x.dtype).shape(x.shape).
inline Expect expect_device(const TensorView& v, const char* name, const char* op) {
  Expect e = expect(v, name, op);
  e.device(Backend::device).contiguous();
  return e;
}

// An optional array argument (None from Python) and its data pointer (null when absent).
using OptView = std::optional<TensorView>;

template <typename T>
T* opt_ptr(const OptView& v) {
  return v ? v->ptr<T>() : nullptr;
}

namespace detail {

template <class F, class Signature>
struct Registrar;

template <class F, class R, class C, class... Args>
struct Registrar<F, R (C::*)(Launch, Args...) const> {
  template <class... Extra>
  static void def(py::module_& m, const char* name, F f, const Extra&... extra) {
#if defined(DK_BACKEND_CUDA)
    m.def(
        name,
        [f](Args... args, std::uintptr_t stream) -> R {
          return f(Launch{reinterpret_cast<cudaStream_t>(stream)}, std::forward<Args>(args)...);
        },
        extra..., py::arg("stream") = 0);
#else
    m.def(
        name, [f](Args... args) -> R { return f(Launch{}, std::forward<Args>(args)...); }, extra...);
#endif
  }
};

}  // namespace detail

// Registers `f` as m.<name>. `f` is a lambda whose first parameter is a `Launch` (not visible
// from Python); its other parameters are the Python arguments, named by `extra` as in m.def.
// On CUDA the entry gains a trailing `stream` keyword argument (default 0, the legacy stream).
template <class F, class... Extra>
void def(py::module_& m, const char* name, F f, const Extra&... extra) {
  detail::Registrar<F, decltype(&F::operator())>::def(m, name, std::move(f), extra...);
}

}  // namespace dk::bind
