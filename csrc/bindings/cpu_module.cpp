// deepkern._cpu: the CPU kernels. Each op family registers itself from its own
// csrc/bindings/<family>.cpp (families.h); this file adds the module-wide functions.
#include <optional>
#include <string>

#include "bindings/common.h"
#include "bindings/families.h"
#include "core/cpu_features.h"
#include "core/parallel.h"
#include "cpu/conv.h"
#include "cpu/gemm.h"
#include "cpu/peak.h"

PYBIND11_MODULE(_cpu, m) {
  m.doc() = "deepkern CPU kernels (C++17, OpenMP, run-time SIMD dispatch)";
  m.def("set_num_threads", &dk::set_num_threads, "n"_a);
  m.def("get_num_threads", &dk::get_num_threads);
  m.def(
      "set_conv_algorithm",
      [](std::optional<std::string> name) {
        if (!name) return dk::cpu::set_conv_algorithm(-1);
        if (*name == "im2col") return dk::cpu::set_conv_algorithm(0);
        if (*name == "winograd") return dk::cpu::set_conv_algorithm(1);
        throw std::invalid_argument("set_conv_algorithm: algorithm must be 'im2col', 'winograd' or None "
                                    "(automatic), got '" + *name + "'");
      },
      "algorithm"_a,
      "Force the algorithm of 3x3 stride-1 convolutions (tests and benchmarks); None: automatic.");
  m.def("build_info", [] {
    py::dict d;
    d["version"] = DK_VERSION;
    d["build_type"] = DK_BUILD_TYPE;
    d["compiler"] = DK_COMPILER;
    d["cpu_isa"] = dk::isa_name(dk::cpu_isa());
    d["cpu_features"] = dk::cpu_feature_list();
    d["gemm_kernel"] = dk::cpu::gemm_kernel_name();
    return d;
  });
  m.def(
      "measure_peak_gflops",
      [](int threads, bool double_precision, double seconds) {
        DK_CHECK(threads >= 1, "measure_peak_gflops: threads must be >= 1, got ", threads);
        DK_CHECK(seconds > 0 && seconds <= 60, "measure_peak_gflops: seconds must be in (0, 60], got ", seconds);
        py::gil_scoped_release release;
        return dk::cpu::measure_peak_gflops(threads, double_precision, seconds);
      },
      "threads"_a, "double_precision"_a = false, "seconds"_a = 0.3,
      "Measured peak GFLOP/s of `threads` cores: a register-only FMA loop on the widest vectors.");
  m.def(
      "set_gemm_isa",
      [](std::optional<std::string> name) {
        if (!name) return dk::cpu::reset_gemm_isa();
        if (*name == "avx512") return dk::cpu::set_gemm_isa(dk::Isa::avx512);
        if (*name == "avx2") return dk::cpu::set_gemm_isa(dk::Isa::avx2);
        if (*name == "baseline") return dk::cpu::set_gemm_isa(dk::Isa::baseline);
        throw std::invalid_argument("set_gemm_isa: isa must be 'avx512', 'avx2', 'baseline' or None, got '" +
                                    *name + "'");
      },
      "isa"_a, "Force the GEMM micro-kernels of one ISA (None: the CPU's best). For tests and benchmarks.");
  m.def("gemm_kernel_name", [](const std::string& dtype) {
    if (dtype == "float32") return dk::cpu::gemm_kernel_name();
    if (dtype == "float64") return dk::cpu::gemm_kernel_name_f64();
    throw std::invalid_argument("gemm_kernel_name: dtype must be 'float32' or 'float64', got '" + dtype + "'");
  }, "dtype"_a = "float32");
  dk::bind::bind_families(m);
}
