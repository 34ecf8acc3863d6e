#include "bindings/common.h"
#include "cpu/embedding.h"

namespace {

// ids must index rows of a (V, D) table: a direct call with a bad id raises here instead of
// reading or writing outside the table.
void check_ids(const dk::TensorView& ids, int64_t V, const char* op) {
  dk::bind::expect_cpu(ids, "ids", op);
  dk::expect(ids, "ids", op).dtype(dk::DType::i64);
  const int64_t* p = ids.ptr<int64_t>();
  for (int64_t i = 0; i < ids.numel(); ++i)
    DK_CHECK(p[i] >= 0 && p[i] < V, op, ": id ", p[i], " is out of range for num_embeddings=", V);
}

// rows is (*ids.shape, D)
std::vector<int64_t> rows_shape(const dk::TensorView& ids, int64_t D) {
  std::vector<int64_t> s = ids.shape;
  s.push_back(D);
  return s;
}

}  // namespace

void bind_cpu_embedding(py::module_& m) {
  using dk::TensorView;
  m.def(
      "embedding_forward",
      [](const TensorView& weight, const TensorView& ids, const TensorView& out) {
        const char* op = "embedding_forward";
        dk::bind::expect_cpu(weight, "weight", op);
        dk::expect(weight, "weight", op).ndim(2);
        dk::bind::expect_cpu(out, "out", op);
        const int64_t V = weight.shape[0], D = weight.shape[1];
        check_ids(ids, V, op);
        dk::expect(out, "out", op).dtype(weight.dtype).shape(rows_shape(ids, D)).writable();
        dk::dispatch_float(weight.dtype, op, [&](auto t) {
          using T = decltype(t);
          py::gil_scoped_release nogil;
          dk::cpu::embedding_forward<T>(weight.ptr<T>(), ids.ptr<int64_t>(), out.ptr<T>(), ids.numel(), D);
        });
      },
      "weight"_a, "ids"_a, "out"_a);
  m.def(
      "embedding_backward",
      [](const TensorView& grad_out, const TensorView& ids, const TensorView& grad_weight, int64_t padding_idx) {
        const char* op = "embedding_backward";
        dk::bind::expect_cpu(grad_weight, "grad_weight", op);
        dk::expect(grad_weight, "grad_weight", op).ndim(2).writable();
        dk::bind::expect_cpu(grad_out, "grad_out", op);
        const int64_t V = grad_weight.shape[0], D = grad_weight.shape[1];
        check_ids(ids, V, op);
        dk::expect(grad_out, "grad_out", op).dtype(grad_weight.dtype).shape(rows_shape(ids, D));
        dk::dispatch_float(grad_weight.dtype, op, [&](auto t) {
          using T = decltype(t);
          py::gil_scoped_release nogil;
          dk::cpu::embedding_backward<T>(grad_out.ptr<T>(), ids.ptr<int64_t>(), grad_weight.ptr<T>(), ids.numel(), V,
                                         D, padding_idx);
        });
      },
      "grad_out"_a, "ids"_a, "grad_weight"_a, "padding_idx"_a = -1);
}
