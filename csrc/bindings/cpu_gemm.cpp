#include "bindings/gemm_common.h"
#include "cpu/gemm.h"

void bind_cpu_gemm(py::module_& m) {
  using dk::TensorView;
  using dk::bind::GemmShape;
  m.def(
      "gemm",
      [](const TensorView& a, const TensorView& b, const TensorView& out, bool trans_a, bool trans_b, double alpha,
         double beta, const std::optional<TensorView>& bias) {
        const GemmShape s = dk::bind::check_gemm(a, b, out, trans_a, trans_b, bias, dk::Device::cpu);
        dk::dispatch_float(a.dtype, "gemm", [&](auto t) {
          using T = decltype(t);
          const T* bias_ptr = bias ? bias->ptr<T>() : nullptr;
          py::gil_scoped_release nogil;
          dk::cpu::gemm_batched<T>(s.batch, trans_a, trans_b, s.M, s.N, s.K, T(alpha), a.ptr<T>(), a.size(-1),
                                   s.stride_a, b.ptr<T>(), b.size(-1), s.stride_b, T(beta), bias_ptr, out.ptr<T>(),
                                   s.N, s.stride_c);
        });
      },
      "a"_a, "b"_a, "out"_a, "trans_a"_a = false, "trans_b"_a = false, "alpha"_a = 1.0, "beta"_a = 0.0,
      "bias"_a = py::none(),
      "out = alpha * op(a) @ op(b) + beta * out (+ bias): a (M, K) or (K, M) if trans_a, b (K, N) or "
      "(N, K) if trans_b, out (M, N); or batched with a leading batch dim (2-D operands broadcast); "
      "bias (N,). beta == 0 does not read out.");
  m.def(
      "column_sum",
      [](const TensorView& x, const TensorView& out) {
        const char* op = "column_sum";
        dk::bind::expect_cpu(x, "x", op);
        dk::bind::expect_cpu(out, "out", op);
        dk::expect(x, "x", op).ndim(2);
        dk::expect(out, "out", op).dtype(x.dtype).shape({x.shape[1]}).writable();
        dk::dispatch_float(x.dtype, op, [&](auto t) {
          using T = decltype(t);
          py::gil_scoped_release nogil;
          dk::cpu::column_sum<T>(x.shape[0], x.shape[1], x.ptr<T>(), x.shape[1], out.ptr<T>());
        });
      },
      "x"_a, "out"_a, "out[j] = sum_i x[i, j] for x (M, N), out (N,).");
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
}
