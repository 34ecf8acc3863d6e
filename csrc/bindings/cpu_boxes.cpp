#include <cmath>

#include "bindings/common.h"
#include "cpu/boxes.h"

namespace {

using dk::TensorView;

void expect_boxes(const TensorView& v, const char* name, const char* op) {
  dk::bind::expect_cpu(v, name, op);
  dk::expect(v, name, op).ndim(2);
  DK_CHECK(v.shape[1] == 4, op, ": ", name, " must have shape (N, 4), got ", dk::shape_str(v.shape));
}

// Shared entry of nms and batched_nms (classes == nullptr for plain nms); returns the count.
int64_t nms_entry(const char* op, const TensorView& boxes, const TensorView& scores, const TensorView* classes,
                  const TensorView& keep, double iou_threshold, double score_threshold) {
  expect_boxes(boxes, "boxes", op);
  const int64_t n = boxes.shape[0];
  dk::bind::expect_cpu(scores, "scores", op);
  dk::expect(scores, "scores", op).dtype(boxes.dtype).shape({n});
  if (classes) {
    dk::bind::expect_cpu(*classes, "classes", op);
    dk::expect(*classes, "classes", op).dtype(dk::DType::i64).shape({n});
  }
  dk::bind::expect_cpu(keep, "keep", op);
  dk::expect(keep, "keep", op).dtype(dk::DType::i64).shape({n}).writable();
  DK_CHECK(iou_threshold >= 0.0 && iou_threshold <= 1.0, op, ": iou_threshold must be in [0, 1], got ",
           iou_threshold);
  DK_CHECK(!std::isnan(score_threshold), op, ": score_threshold must not be NaN");
  return dk::dispatch_float(boxes.dtype, op, [&](auto t) {
    using T = decltype(t);
    py::gil_scoped_release nogil;
    return dk::cpu::nms<T>(boxes.ptr<T>(), scores.ptr<T>(), classes ? classes->ptr<int64_t>() : nullptr, n,
                           iou_threshold, score_threshold, keep.ptr<int64_t>());
  });
}

}  // namespace

void bind_cpu_boxes(py::module_& m) {
  // out (N, M) = IoU of a (N, 4) with b (M, 4).
  m.def(
      "box_iou",
      [](const TensorView& a, const TensorView& b, const TensorView& out) {
        const char* op = "box_iou";
        expect_boxes(a, "a", op);
        expect_boxes(b, "b", op);
        dk::expect(b, "b", op).dtype(a.dtype);
        dk::bind::expect_cpu(out, "out", op);
        dk::expect(out, "out", op).dtype(a.dtype).shape({a.shape[0], b.shape[0]}).writable();
        dk::dispatch_float(a.dtype, op, [&](auto t) {
          using T = decltype(t);
          py::gil_scoped_release nogil;
          dk::cpu::box_iou<T>(a.ptr<T>(), a.shape[0], b.ptr<T>(), b.shape[0], out.ptr<T>());
        });
      },
      "a"_a, "b"_a, "out"_a);
  // Writes kept indices to keep[:count] (keep is (N,) int64) and returns count.
  m.def(
      "nms",
      [](const TensorView& boxes, const TensorView& scores, const TensorView& keep, double iou_threshold,
         double score_threshold) {
        return nms_entry("nms", boxes, scores, nullptr, keep, iou_threshold, score_threshold);
      },
      "boxes"_a, "scores"_a, "keep"_a, "iou_threshold"_a, "score_threshold"_a = -INFINITY);
  m.def(
      "batched_nms",
      [](const TensorView& boxes, const TensorView& scores, const TensorView& classes, const TensorView& keep,
         double iou_threshold, double score_threshold) {
        return nms_entry("batched_nms", boxes, scores, &classes, keep, iou_threshold, score_threshold);
      },
      "boxes"_a, "scores"_a, "classes"_a, "keep"_a, "iou_threshold"_a, "score_threshold"_a = -INFINITY);
}
