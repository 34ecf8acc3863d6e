// Entry-point checks shared by the CPU and CUDA attention bindings: every size the kernels
// trust is checked here, so a direct call with inconsistent arrays raises ValueError.
#pragma once
#include <optional>

#include "bindings/common.h"
#include "core/attention_params.h"

namespace dk::bind {

struct AttnCall {
  AttnDims dims;
  AttnMask mask_kind = AttnMask::none;
  const void* mask = nullptr;
  const int64_t* mask_index = nullptr;
};

// q (batch, L, D), k (batch, S, D), v (batch, S, Dv); mask (M, L, S) bool/uint8 or q's dtype
// with mask_index (batch,) int64 in [0, M). The index range is checked here for CPU arrays; on
// the GPU (values in device memory) the kernels treat an out-of-range index as "no key allowed"
// instead of reading outside the mask.
inline AttnCall check_attention(const char* op, Device dev, const TensorView& q, const TensorView& k,
                                const TensorView& v, const std::optional<TensorView>& mask,
                                const std::optional<TensorView>& mask_index) {
  auto on_device = [&](const TensorView& t, const char* name) {
    expect(t, name, op).device(dev).contiguous();
  };
  on_device(q, "q");
  on_device(k, "k");
  on_device(v, "v");
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
    on_device(*mask, "mask");
    on_device(*mask_index, "mask_index");
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
    if (dev == Device::cpu) {
      const int64_t* idx = mask_index->ptr<int64_t>();
      for (int64_t b = 0; b < d.batch; ++b)
        DK_CHECK(idx[b] >= 0 && idx[b] < mask->shape[0], op, ": mask_index[", b, "] = ", idx[b],
                 " is outside [0, ", mask->shape[0], ")");
    }
    c.mask = mask->data;
    c.mask_index = mask_index->ptr<int64_t>();
  }
  return c;
}

inline void check_attention_out(const char* op, Device dev, const TensorView& t, const char* name, DType dtype,
                                const std::vector<int64_t>& shape) {
  expect(t, name, op).device(dev).contiguous();
  expect(t, name, op).dtype(dtype).shape(shape).writable();
}

}  // namespace dk::bind
