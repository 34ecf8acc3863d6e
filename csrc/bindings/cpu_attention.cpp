#include "bindings/attention_checks.h"
#include "cpu/attention.h"

void bind_cpu_attention(py::module_& m) {
  using dk::TensorView;
  using OptView = std::optional<TensorView>;
  m.def(
      "attention_forward",
      [](const TensorView& q, const TensorView& k, const TensorView& v, const OptView& mask,
         const OptView& mask_index, bool causal, double scale, const TensorView& out, const TensorView& lse) {
        const char* op = "attention_forward";
        const auto c = dk::bind::check_attention(op, dk::Device::cpu, q, k, v, mask, mask_index);
        const auto& d = c.dims;
        dk::bind::check_attention_out(op, dk::Device::cpu, out, "out", q.dtype, {d.batch, d.L, d.Dv});
        dk::bind::check_attention_out(op, dk::Device::cpu, lse, "lse", dk::DType::f64, {d.batch, d.L});
        dk::dispatch_float(q.dtype, op, [&](auto t) {
          using T = decltype(t);
          py::gil_scoped_release nogil;
          dk::cpu::attention_forward<T>(d, q.ptr<T>(), k.ptr<T>(), v.ptr<T>(), c.mask_kind, c.mask, c.mask_index,
                                        causal, T(scale), out.ptr<T>(), lse.ptr<double>());
        });
      },
      "q"_a, "k"_a, "v"_a, "mask"_a, "mask_index"_a, "causal"_a, "scale"_a, "out"_a, "lse"_a);
  m.def(
      "attention_backward",
      [](const TensorView& grad_out, const TensorView& q, const TensorView& k, const TensorView& v,
         const TensorView& out, const TensorView& lse, const OptView& mask, const OptView& mask_index, bool causal,
         double scale, const TensorView& delta, const TensorView& dq, const TensorView& dk, const TensorView& dv) {
        const char* op = "attention_backward";
        const auto c = dk::bind::check_attention(op, dk::Device::cpu, q, k, v, mask, mask_index);
        const auto& d = c.dims;
        const auto cpu = dk::Device::cpu;
        dk::expect(grad_out, "grad_out", op).device(cpu).contiguous().dtype(q.dtype).shape({d.batch, d.L, d.Dv});
        dk::expect(out, "out", op).device(cpu).contiguous().dtype(q.dtype).shape({d.batch, d.L, d.Dv});
        dk::expect(lse, "lse", op).device(cpu).contiguous().dtype(dk::DType::f64).shape({d.batch, d.L});
        dk::bind::check_attention_out(op, cpu, delta, "delta", q.dtype, {d.batch, d.L});
        dk::bind::check_attention_out(op, cpu, dq, "dq", q.dtype, q.shape);
        dk::bind::check_attention_out(op, cpu, dk, "dk", q.dtype, k.shape);
        dk::bind::check_attention_out(op, cpu, dv, "dv", q.dtype, v.shape);
        dk::dispatch_float(q.dtype, op, [&](auto t) {
          using T = decltype(t);
          py::gil_scoped_release nogil;
          dk::cpu::attention_backward<T>(d, q.ptr<T>(), k.ptr<T>(), v.ptr<T>(), out.ptr<T>(), lse.ptr<double>(),
                                         grad_out.ptr<T>(), c.mask_kind, c.mask, c.mask_index, causal, T(scale),
                                         delta.ptr<T>(), dq.ptr<T>(), dk.ptr<T>(), dv.ptr<T>());
        });
      },
      "grad_out"_a, "q"_a, "k"_a, "v"_a, "out"_a, "lse"_a, "mask"_a, "mask_index"_a, "causal"_a, "scale"_a,
      "delta"_a, "dq"_a, "dk"_a, "dv"_a);
}
