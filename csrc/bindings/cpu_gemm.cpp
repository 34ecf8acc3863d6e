#include "bindings/common.h"
#include "cpu/gemm.h"

void bind_cpu_gemm(py::module_& m) {
  using dk::TensorView;
  // out = alpha * op(a) @ op(b) + beta * out for 2-D contiguous arrays.
  m.def(
      "gemm",
      [](const TensorView& a, const TensorView& b, const TensorView& out, bool trans_a, bool trans_b, double alpha,
         double beta) {
        const char* op = "gemm";
        dk::bind::expect_cpu(a, "a", op);
        dk::bind::expect_cpu(b, "b", op);
        dk::bind::expect_cpu(out, "out", op);
        dk::expect(a, "a", op).ndim(2);
        dk::expect(b, "b", op).ndim(2).dtype(a.dtype);
        const int64_t M = trans_a ? a.shape[1] : a.shape[0];
        const int64_t K = trans_a ? a.shape[0] : a.shape[1];
        const int64_t Kb = trans_b ? b.shape[1] : b.shape[0];
        const int64_t N = trans_b ? b.shape[0] : b.shape[1];
        DK_CHECK(K == Kb, "gemm: inner dimensions differ: op(a) is (", M, ", ", K, ") and op(b) is (", Kb, ", ", N,
                 ")");
        dk::expect(out, "out", op).dtype(a.dtype).shape({M, N}).writable();
        dk::dispatch_float(a.dtype, op, [&](auto t) {
          using T = decltype(t);
          py::gil_scoped_release nogil;
          dk::cpu::gemm<T>(trans_a, trans_b, M, N, K, T(alpha), a.ptr<T>(), a.shape[1], b.ptr<T>(), b.shape[1],
                           T(beta), out.ptr<T>(), N);
        });
      },
      "a"_a, "b"_a, "out"_a, "trans_a"_a = false, "trans_b"_a = false, "alpha"_a = 1.0, "beta"_a = 0.0);
}
