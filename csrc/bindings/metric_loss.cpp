// Metric-learning losses: the batch triplet loss's mining (forward and backward over a
// distance matrix) and the contrastive loss.
#include <string>

#include "bindings/backend.h"
#include DK_KERNELS(metric_loss.h)

namespace dk::bind {
namespace {

// dist (N, N) on this backend; labels (N,) int64.
int64_t batch_size(const TensorView& dist, const TensorView& labels, const char* op) {
  expect_device(dist, "dist", op);
  expect(dist, "dist", op).ndim(2);
  const int64_t N = dist.shape[0];
  DK_CHECK(dist.shape[1] == N, op, ": dist must be square (N, N), got ", shape_str(dist.shape));
  expect_device(labels, "labels", op);
  expect(labels, "labels", op).dtype(DType::i64).shape({N});
  return N;
}

// x1, x2 (N, M) of one float dtype; target and per-row arrays (N,).
void expect_pairs(const TensorView& x1, const TensorView& x2, const TensorView& target, const char* op) {
  expect_device(x1, "x1", op);
  expect(x1, "x1", op).ndim(2);
  expect_device(x2, "x2", op);
  expect(x2, "x2", op).dtype(x1.dtype).shape(x1.shape);
  expect_device(target, "target", op);
  expect(target, "target", op).dtype(x1.dtype).shape({x1.shape[0]});
}

}  // namespace

void bind_metric_loss(py::module_& m) {
  def(
      m, "triplet_mining_forward",
      [](Launch launch, const TensorView& dist, const TensorView& labels, const TensorView& row_loss,
         const TensorView& row_count, double margin, const std::string& mining) {
        const char* op = "triplet_mining_forward";
        const int64_t N = batch_size(dist, labels, op);
        const TripletMining kind = parse_triplet_mining(mining, op);
        expect_device(row_loss, "row_loss", op);
        expect(row_loss, "row_loss", op).dtype(dist.dtype).shape({N}).writable();
        expect_device(row_count, "row_count", op);
        expect(row_count, "row_count", op).dtype(DType::i64).shape({N}).writable();
        dispatch_float(dist.dtype, op, [&](auto t) {
          using T = decltype(t);
          if (N == 0) return;
          launch(kernels::triplet_mining_forward<T>, dist.ptr<T>(), labels.ptr<int64_t>(), row_loss.ptr<T>(),
                 row_count.ptr<int64_t>(), N, T(margin), kind);
        });
      },
      "dist"_a, "labels"_a, "row_loss"_a, "row_count"_a, "margin"_a, "mining"_a);
  def(
      m, "triplet_mining_backward",
      [](Launch launch, const TensorView& dist, const TensorView& labels, const TensorView& scale,
         const TensorView& grad_dist, double margin, const std::string& mining) {
        const char* op = "triplet_mining_backward";
        const int64_t N = batch_size(dist, labels, op);
        const TripletMining kind = parse_triplet_mining(mining, op);
        expect_device(scale, "scale", op);
        expect(scale, "scale", op).dtype(dist.dtype).numel(1);
        expect_device(grad_dist, "grad_dist", op);
        expect(grad_dist, "grad_dist", op).dtype(dist.dtype).shape(dist.shape).writable();
        dispatch_float(dist.dtype, op, [&](auto t) {
          using T = decltype(t);
          if (N == 0) return;
          launch(kernels::triplet_mining_backward<T>, dist.ptr<T>(), labels.ptr<int64_t>(), scale.ptr<T>(),
                 grad_dist.ptr<T>(), N, T(margin), kind);
        });
      },
      "dist"_a, "labels"_a, "scale"_a, "grad_dist"_a, "margin"_a, "mining"_a);
  def(
      m, "contrastive_loss_forward",
      [](Launch launch, const TensorView& x1, const TensorView& x2, const TensorView& target, const TensorView& loss,
         const TensorView& dist, double margin) {
        const char* op = "contrastive_loss_forward";
        expect_pairs(x1, x2, target, op);
        const int64_t N = x1.shape[0];
        for (const auto& [v, name] : {std::pair{&loss, "loss"}, std::pair{&dist, "dist"}}) {
          expect_device(*v, name, op);
          expect(*v, name, op).dtype(x1.dtype).shape({N}).writable();
        }
        dispatch_float(x1.dtype, op, [&](auto t) {
          using T = decltype(t);
          if (N == 0) return;
          launch(kernels::contrastive_loss_forward<T>, x1.ptr<T>(), x2.ptr<T>(), target.ptr<T>(), loss.ptr<T>(),
                 dist.ptr<T>(), N, x1.shape[1], T(margin));
        });
      },
      "x1"_a, "x2"_a, "target"_a, "loss"_a, "dist"_a, "margin"_a);
  def(
      m, "contrastive_loss_backward",
      [](Launch launch, const TensorView& g, const TensorView& x1, const TensorView& x2, const TensorView& target,
         const TensorView& dist, const TensorView& gx1, double margin) {
        const char* op = "contrastive_loss_backward";
        expect_pairs(x1, x2, target, op);
        const int64_t N = x1.shape[0];
        expect_device(g, "grad_out", op);
        expect(g, "grad_out", op).dtype(x1.dtype);
        const bool per_row = g.ndim() != 0;  // 0-d: one value for every row ('mean'/'sum')
        if (per_row) expect(g, "grad_out", op).shape({N});
        expect_device(dist, "dist", op);
        expect(dist, "dist", op).dtype(x1.dtype).shape({N});
        expect_device(gx1, "grad_x1", op);
        expect(gx1, "grad_x1", op).dtype(x1.dtype).shape(x1.shape).writable();
        dispatch_float(x1.dtype, op, [&](auto t) {
          using T = decltype(t);
          if (x1.numel() == 0) return;
          launch(kernels::contrastive_loss_backward<T>, g.ptr<T>(), per_row, x1.ptr<T>(), x2.ptr<T>(),
                 target.ptr<T>(), dist.ptr<T>(), gx1.ptr<T>(), N, x1.shape[1], T(margin));
        });
      },
      "grad_out"_a, "x1"_a, "x2"_a, "target"_a, "dist"_a, "grad_x1"_a, "margin"_a);
}

}  // namespace dk::bind
