// deepkern._cuda: the CUDA kernels, bound by plain C++ (no pybind11 in nvcc). Every kernel
// entry takes `stream` (a cudaStream_t as an integer: CuPy's current stream, passed by
// deepkern.ops) and launches there without synchronizing.
#include <cuda_runtime_api.h>

#include "bindings/common.h"
#include "bindings/families.h"
#include "cuda/cuda_check.h"
#if defined(DK_CUDA_EMU)
#include "emu/selftest.h"
#include "emu/state.h"
#endif

namespace {

int device_count() {
  int n = 0;
  // No driver (or no GPU): report none instead of raising; is_available() is then False.
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return n;
}

}  // namespace

PYBIND11_MODULE(_cuda, m) {
  m.doc() = "deepkern CUDA kernels";
  m.def("device_count", &device_count);
  m.def("device_name", [](int device) {
    cudaDeviceProp prop;
    DK_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
    return std::string(prop.name);
  }, "device"_a = 0);
  m.def("compute_capability", [](int device) {
    cudaDeviceProp prop;
    DK_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
    return py::make_tuple(prop.major, prop.minor);
  }, "device"_a = 0);
  m.def("runtime_version", [] {
    int v = 0;
    cudaRuntimeGetVersion(&v);
    return v;
  });
  m.def("driver_version", [] {
    int v = 0;
    if (cudaDriverGetVersion(&v) != cudaSuccess) return 0;
    return v;
  });
  m.def("build_info", [] {
    py::dict d;
    d["version"] = DK_VERSION;
    d["cuda_version"] = DK_CUDA_VERSION;
    d["architectures"] = DK_CUDA_ARCHS;
    return d;
  });
  dk::bind::bind_families(m);
#if defined(DK_CUDA_EMU)
  // The emulated backend (csrc/emu): its state, for the tests.
  m.def("emu_info", [] {
    py::dict d;
    d["executor"] = dk::emu::executor_name();
    d["concurrent_blocks"] = dk::emu::concurrent_blocks();
    d["watchdog_seconds"] = dk::emu::watchdog_seconds();
    return d;
  });
  m.def("emu_configure", &dk::emu::configure, "executor"_a = "", "blocks"_a = 0, "watchdog"_a = 0.0);
  m.def("emu_selftest", &dk::emu::selftest, "name"_a, py::call_guard<py::gil_scoped_release>());
  m.def("emu_radix_sort", &dk::emu::radix_sort, "keys"_a, "dtype"_a, "descending"_a);
  m.def("emu_sticky_error", [] { return dk::emu::sticky_error_message(); },
        "The sticky error a kernel fault left (\"\" when none).");
  m.def("emu_reset", [] { dk::emu::reset(); }, "Clears the sticky error, as cudaDeviceReset does.");
  m.def("emu_launch_counts", [] { return dk::emu::launch_counts(); }, "Launches per DK_LAUNCH site so far.");
#endif
}
