// Scaled dot-product attention (fused, online softmax): forward and backward.
#include "bindings/backend.h"
#include "core/attention_params.h"
#include DK_KERNELS(attention.h)

namespace dk::bind {
namespace {

struct AttnCall {
  AttnDims dims;
  AttnMask mask_kind = AttnMask::none;
  const void* mask = nullptr;
  const int64_t* mask_index = nullptr;
};

// Every size the kernels trust is checked here, so a direct call with inconsistent arrays raises
// ValueError. q (batch, L, D), k (batch, S, D), v (batch, S, Dv); mask (M, L, S) bool/uint8 or
// q's dtype with mask_index (batch,) int64 in [0, M). The index range is checked here for host
// arrays; on the GPU (values in device memory) the kernels treat an out-of-range index as "no key
// allowed" instead of reading outside the mask.
AttnCall check_attention(const char* op, const TensorView& q, const TensorView& k, const TensorView& v,
                         const OptView& mask, const OptView& mask_index) {
  expect_device(q, "q", op);
  expect_device(k, "k", op);
  expect_device(v, "v", op);
  expect(q, "q", op).ndim(3);
  DK_CHECK(q.dtype == DType::f32 || q.dtype == DType::f64, op, ": q must be float32 or float64, got ",
           dtype_name(q.dtype));
  expect(k, "k", op).ndim(3).dtype(q.dtype);
  expect(v, "v", op).ndim(3).dtype(q.dtype);
  AttnCall c;
  c.dims = {q.shape[0], q.shape[1], k.shape[1], q.shape[2], v.shape[2]};
  const AttnDims& d = c.dims;
  expect(k, "k", op).shape({d.batch, d.S, d.D});
  expect(v, "v", op).shape({d.batch, d.S, d.Dv});
  DK_CHECK(mask.has_value() == mask_index.has_value(), op, ": mask and mask_index must be given together");
  if (mask) {
    expect_device(*mask, "mask", op);
    expect_device(*mask_index, "mask_index", op);
    expect(*mask, "mask", op).ndim(3);
    DK_CHECK(mask->shape[1] == d.L && mask->shape[2] == d.S, op, ": mask must have shape (M, ", d.L, ", ", d.S,
             "), got ", shape_str(mask->shape));
    if (mask->dtype == DType::b8 || mask->dtype == DType::u8)
      c.mask_kind = AttnMask::boolean;
    else if (mask->dtype == q.dtype)
      c.mask_kind = AttnMask::additive;
    else
      throw std::invalid_argument(str(op, ": mask must be bool or ", dtype_name(q.dtype), " like q, got ",
                                      dtype_name(mask->dtype)));
    expect(*mask_index, "mask_index", op).dtype(DType::i64).shape({d.batch});
    c.mask = mask->data;
    c.mask_index = mask_index->ptr<int64_t>();
    c.dims.M = mask->shape[0];
    if constexpr (!Backend::is_cuda) {
      for (int64_t b = 0; b < d.batch; ++b)
        DK_CHECK(c.mask_index[b] >= 0 && c.mask_index[b] < d.M, op, ": mask_index[", b, "] = ", c.mask_index[b],
                 " is outside [0, ", d.M, ")");
    }
  }
  return c;
}

void check_out(const char* op, const TensorView& t, const char* name, DType dtype, const std::vector<int64_t>& shape) {
  expect_device(t, name, op);
  expect(t, name, op).dtype(dtype).shape(shape).writable();
}

}  // namespace

void bind_attention(py::module_& m) {
  def(
      m, "attention_forward",
      [](Launch launch, const TensorView& q, const TensorView& k, const TensorView& v, const OptView& mask,
         const OptView& mask_index, bool causal, double scale, const TensorView& out, const TensorView& lse) {
        const char* op = "attention_forward";
        const auto c = check_attention(op, q, k, v, mask, mask_index);
        const auto& d = c.dims;
        check_out(op, out, "out", q.dtype, {d.batch, d.L, d.Dv});
        check_out(op, lse, "lse", DType::f64, {d.batch, d.L});
        dispatch_float(q.dtype, op, [&](auto t) {
          using T = decltype(t);
          launch(kernels::attention_forward<T>, d, q.ptr<T>(), k.ptr<T>(), v.ptr<T>(), c.mask_kind, c.mask,
                 c.mask_index, causal, T(scale), out.ptr<T>(), lse.ptr<double>());
        });
      },
      "q"_a, "k"_a, "v"_a, "mask"_a, "mask_index"_a, "causal"_a, "scale"_a, "out"_a, "lse"_a);
  def(
      m, "attention_backward",
      [](Launch launch, const TensorView& grad_out, const TensorView& q, const TensorView& k, const TensorView& v,
         const TensorView& out, const TensorView& lse, const OptView& mask, const OptView& mask_index, bool causal,
         double scale, const TensorView& delta, const TensorView& dq, const TensorView& dk, const TensorView& dv) {
        const char* op = "attention_backward";
        const auto c = check_attention(op, q, k, v, mask, mask_index);
        const auto& d = c.dims;
        expect_device(grad_out, "grad_out", op).dtype(q.dtype).shape({d.batch, d.L, d.Dv});
        expect_device(out, "out", op).dtype(q.dtype).shape({d.batch, d.L, d.Dv});
        expect_device(lse, "lse", op).dtype(DType::f64).shape({d.batch, d.L});
        check_out(op, delta, "delta", q.dtype, {d.batch, d.L});
        check_out(op, dq, "dq", q.dtype, q.shape);
        check_out(op, dk, "dk", q.dtype, k.shape);
        check_out(op, dv, "dv", q.dtype, v.shape);
        dispatch_float(q.dtype, op, [&](auto t) {
          using T = decltype(t);
          launch(kernels::attention_backward<T>, d, q.ptr<T>(), k.ptr<T>(), v.ptr<T>(), out.ptr<T>(),
                 lse.ptr<double>(), grad_out.ptr<T>(), c.mask_kind, c.mask, c.mask_index, causal, T(scale),
                 delta.ptr<T>(), dq.ptr<T>(), dk.ptr<T>(), dv.ptr<T>());
        });
      },
      "grad_out"_a, "q"_a, "k"_a, "v"_a, "out"_a, "lse"_a, "mask"_a, "mask_index"_a, "causal"_a, "scale"_a,
      "delta"_a, "dq"_a, "dk"_a, "dv"_a);
}

}  // namespace dk::bind
