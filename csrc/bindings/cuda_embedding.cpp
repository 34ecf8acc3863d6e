#include "bindings/cuda_common.h"
#include "cuda/embedding.h"

namespace {

// rows is (*ids.shape, D)
std::vector<int64_t> rows_shape(const dk::TensorView& ids, int64_t D) {
  std::vector<int64_t> s = ids.shape;
  s.push_back(D);
  return s;
}

}  // namespace

// Ids live on the GPU, so their range is checked by deepkern.ops (one device reduction);
// the kernels themselves ignore out-of-range ids, so a direct call cannot go out of bounds.
void bind_cuda_embedding(py::module_& m) {
  using dk::TensorView;
  m.def(
      "embedding_forward",
      [](const TensorView& weight, const TensorView& ids, const TensorView& out, std::uintptr_t stream) {
        const char* op = "embedding_forward";
        dk::bind::expect_cuda(weight, "weight", op);
        dk::expect(weight, "weight", op).ndim(2);
        dk::bind::expect_cuda(ids, "ids", op);
        dk::expect(ids, "ids", op).dtype(dk::DType::i64);
        dk::bind::expect_cuda(out, "out", op);
        const int64_t V = weight.shape[0], D = weight.shape[1];
        dk::expect(out, "out", op).dtype(weight.dtype).shape(rows_shape(ids, D)).writable();
        dk::dispatch_float(weight.dtype, op, [&](auto t) {
          using T = decltype(t);
          py::gil_scoped_release nogil;
          dk::cuda::embedding_forward<T>(weight.ptr<T>(), ids.ptr<int64_t>(), out.ptr<T>(), ids.numel(), V, D,
                                         dk::bind::as_stream(stream));
        });
      },
      "weight"_a, "ids"_a, "out"_a, "stream"_a = 0);
  m.def(
      "embedding_backward",
      [](const TensorView& grad_out, const TensorView& ids, const TensorView& grad_weight, int64_t padding_idx,
         std::uintptr_t stream) {
        const char* op = "embedding_backward";
        dk::bind::expect_cuda(grad_weight, "grad_weight", op);
        dk::expect(grad_weight, "grad_weight", op).ndim(2).writable();
        dk::bind::expect_cuda(ids, "ids", op);
        dk::expect(ids, "ids", op).dtype(dk::DType::i64);
        dk::bind::expect_cuda(grad_out, "grad_out", op);
        const int64_t V = grad_weight.shape[0], D = grad_weight.shape[1];
        dk::expect(grad_out, "grad_out", op).dtype(grad_weight.dtype).shape(rows_shape(ids, D));
        dk::dispatch_float(grad_weight.dtype, op, [&](auto t) {
          using T = decltype(t);
          py::gil_scoped_release nogil;
          dk::cuda::embedding_backward<T>(grad_out.ptr<T>(), ids.ptr<int64_t>(), grad_weight.ptr<T>(), ids.numel(),
                                          V, D, padding_idx, dk::bind::as_stream(stream));
        });
      },
      "grad_out"_a, "ids"_a, "grad_weight"_a, "padding_idx"_a = -1, "stream"_a = 0);
}
