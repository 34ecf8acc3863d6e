// Embedding lookup (rows of a (V, D) table by int64 ids): forward and backward.
//
// Host ids are range-checked here, so a direct call with a bad id raises instead of reading or
// writing outside the table. On the GPU (ids in device memory) deepkern.ops checks their range
// (one device reduction), and the kernels ignore out-of-range ids.
#include <vector>

#include "bindings/backend.h"
#include DK_KERNELS(embedding.h)

namespace dk::bind {
namespace {

void check_ids(const TensorView& ids, int64_t V, const char* op) {
  expect_device(ids, "ids", op).dtype(DType::i64);
  if constexpr (!Backend::is_cuda) {
    const int64_t* p = ids.ptr<int64_t>();
    for (int64_t i = 0; i < ids.numel(); ++i)
      DK_CHECK(p[i] >= 0 && p[i] < V, op, ": id ", p[i], " is out of range for num_embeddings=", V);
  }
}

// rows is (*ids.shape, D)
std::vector<int64_t> rows_shape(const TensorView& ids, int64_t D) {
  std::vector<int64_t> s = ids.shape;
  s.push_back(D);
  return s;
}

}  // namespace

void bind_embedding(py::module_& m) {
  def(
      m, "embedding_forward",
      [](Launch launch, const TensorView& weight, const TensorView& ids, const TensorView& out) {
        const char* op = "embedding_forward";
        expect_device(weight, "weight", op).ndim(2);
        const int64_t V = weight.shape[0], D = weight.shape[1];
        check_ids(ids, V, op);
        expect_device(out, "out", op).dtype(weight.dtype).shape(rows_shape(ids, D)).writable();
        dispatch_float(weight.dtype, op, [&](auto t) {
          using T = decltype(t);
          launch(kernels::embedding_forward<T>, weight.ptr<T>(), ids.ptr<int64_t>(), out.ptr<T>(), ids.numel(), V, D);
        });
      },
      "weight"_a, "ids"_a, "out"_a);
  def(
      m, "embedding_backward",
      [](Launch launch, const TensorView& grad_out, const TensorView& ids, const TensorView& grad_weight,
         int64_t padding_idx) {
        const char* op = "embedding_backward";
        expect_device(grad_weight, "grad_weight", op).ndim(2).writable();
        const int64_t V = grad_weight.shape[0], D = grad_weight.shape[1];
        check_ids(ids, V, op);
        expect_device(grad_out, "grad_out", op).dtype(grad_weight.dtype).shape(rows_shape(ids, D));
        dispatch_float(grad_weight.dtype, op, [&](auto t) {
          using T = decltype(t);
          launch(kernels::embedding_backward<T>, grad_out.ptr<T>(), ids.ptr<int64_t>(), grad_weight.ptr<T>(),
                 ids.numel(), V, D, padding_idx);
        });
      },
      "grad_out"_a, "ids"_a, "grad_weight"_a, "padding_idx"_a = -1);
}

}  // namespace dk::bind
