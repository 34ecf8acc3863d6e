#include "bindings/attention_checks.h"
#include "bindings/cuda_common.h"
#include "cuda/attention.h"

void bind_cuda_attention(py::module_& m) {
  using dk::TensorView;
  using OptView = std::optional<TensorView>;
  const auto gpu = dk::Device::cuda;
  m.def(
      "attention_forward",
      [gpu](const TensorView& q, const TensorView& k, const TensorView& v, const OptView& mask,
            const OptView& mask_index, bool causal, double scale, const TensorView& out, const TensorView& lse,
            std::uintptr_t stream) {
        const char* op = "attention_forward";
        const auto c = dk::bind::check_attention(op, gpu, q, k, v, mask, mask_index);
        const auto& d = c.dims;
        dk::bind::check_attention_out(op, gpu, out, "out", q.dtype, {d.batch, d.L, d.Dv});
        dk::bind::check_attention_out(op, gpu, lse, "lse", dk::DType::f64, {d.batch, d.L});
        const int64_t count = mask ? mask->shape[0] : 0;
        dk::dispatch_float(q.dtype, op, [&](auto t) {
          using T = decltype(t);
          py::gil_scoped_release nogil;
          dk::cuda::attention_forward<T>(d, q.ptr<T>(), k.ptr<T>(), v.ptr<T>(), c.mask_kind, c.mask, c.mask_index,
                                         count, causal, T(scale), out.ptr<T>(), lse.ptr<double>(),
                                         dk::bind::as_stream(stream));
        });
      },
      "q"_a, "k"_a, "v"_a, "mask"_a, "mask_index"_a, "causal"_a, "scale"_a, "out"_a, "lse"_a, "stream"_a = 0);
  m.def(
      "attention_backward",
      [gpu](const TensorView& grad_out, const TensorView& q, const TensorView& k, const TensorView& v,
            const TensorView& out, const TensorView& lse, const OptView& mask, const OptView& mask_index,
            bool causal, double scale, const TensorView& delta, const TensorView& dq, const TensorView& dk,
            const TensorView& dv, std::uintptr_t stream) {
        const char* op = "attention_backward";
        const auto c = dk::bind::check_attention(op, gpu, q, k, v, mask, mask_index);
        const auto& d = c.dims;
        dk::expect(grad_out, "grad_out", op).device(gpu).contiguous().dtype(q.dtype).shape({d.batch, d.L, d.Dv});
        dk::expect(out, "out", op).device(gpu).contiguous().dtype(q.dtype).shape({d.batch, d.L, d.Dv});
        dk::expect(lse, "lse", op).device(gpu).contiguous().dtype(dk::DType::f64).shape({d.batch, d.L});
        dk::bind::check_attention_out(op, gpu, delta, "delta", q.dtype, {d.batch, d.L});
        dk::bind::check_attention_out(op, gpu, dq, "dq", q.dtype, q.shape);
        dk::bind::check_attention_out(op, gpu, dk, "dk", q.dtype, k.shape);
        dk::bind::check_attention_out(op, gpu, dv, "dv", q.dtype, v.shape);
        const int64_t count = mask ? mask->shape[0] : 0;
        dk::dispatch_float(q.dtype, op, [&](auto t) {
          using T = decltype(t);
          py::gil_scoped_release nogil;
          dk::cuda::attention_backward<T>(d, q.ptr<T>(), k.ptr<T>(), v.ptr<T>(), out.ptr<T>(), lse.ptr<double>(),
                                          grad_out.ptr<T>(), c.mask_kind, c.mask, c.mask_index, count, causal,
                                          T(scale), delta.ptr<T>(), dq.ptr<T>(), dk.ptr<T>(), dv.ptr<T>(),
                                          dk::bind::as_stream(stream));
        });
      },
      "grad_out"_a, "q"_a, "k"_a, "v"_a, "out"_a, "lse"_a, "mask"_a, "mask_index"_a, "causal"_a, "scale"_a,
      "delta"_a, "dq"_a, "dk"_a, "dv"_a, "stream"_a = 0);
}
