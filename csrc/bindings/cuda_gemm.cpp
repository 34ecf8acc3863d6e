#include "bindings/cuda_common.h"
#include "bindings/gemm_common.h"
#include "cuda/gemm.h"

void bind_cuda_gemm(py::module_& m) {
  using dk::TensorView;
  using dk::bind::GemmShape;
  m.def(
      "gemm",
      [](const TensorView& a, const TensorView& b, const TensorView& out, bool trans_a, bool trans_b, double alpha,
         double beta, const std::optional<TensorView>& bias, std::uintptr_t stream) {
        const GemmShape s = dk::bind::check_gemm(a, b, out, trans_a, trans_b, bias, dk::Device::cuda);
        dk::dispatch_float(a.dtype, "gemm", [&](auto t) {
          using T = decltype(t);
          const T* bias_ptr = bias ? bias->ptr<T>() : nullptr;
          py::gil_scoped_release nogil;
          dk::cuda::gemm_batched<T>(s.batch, trans_a, trans_b, s.M, s.N, s.K, T(alpha), a.ptr<T>(), a.size(-1),
                                    s.stride_a, b.ptr<T>(), b.size(-1), s.stride_b, T(beta), bias_ptr,
                                    out.ptr<T>(), s.N, s.stride_c, dk::bind::as_stream(stream));
        });
      },
      "a"_a, "b"_a, "out"_a, "trans_a"_a = false, "trans_b"_a = false, "alpha"_a = 1.0, "beta"_a = 0.0,
      "bias"_a = py::none(), "stream"_a = 0,
      "The CUDA counterpart of deepkern._cpu.gemm (same arguments), launched on `stream`.");
  m.def(
      "column_sum",
      [](const TensorView& x, const TensorView& out, std::uintptr_t stream) {
        const char* op = "column_sum";
        dk::bind::expect_cuda(x, "x", op);
        dk::bind::expect_cuda(out, "out", op);
        dk::expect(x, "x", op).ndim(2);
        dk::expect(out, "out", op).dtype(x.dtype).shape({x.shape[1]}).writable();
        dk::dispatch_float(x.dtype, op, [&](auto t) {
          using T = decltype(t);
          py::gil_scoped_release nogil;
          dk::cuda::column_sum<T>(x.shape[0], x.shape[1], x.ptr<T>(), x.shape[1], out.ptr<T>(),
                                  dk::bind::as_stream(stream));
        });
      },
      "x"_a, "out"_a, "stream"_a = 0, "out[j] = sum_i x[i, j] for x (M, N), out (N,), on `stream`.");
}
