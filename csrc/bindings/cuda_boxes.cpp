#include <cmath>

#include "bindings/cuda_common.h"
#include "cuda/boxes.h"

namespace {

using dk::TensorView;

// The mask kernel's grid is (⌈n/64⌉, ⌈n/64⌉) and grid.y is at most 65535.
constexpr int64_t kMaxBoxes = int64_t(65535) * 64;

void expect_boxes(const TensorView& v, const char* name, const char* op) {
  dk::bind::expect_cuda(v, name, op);
  dk::expect(v, name, op).ndim(2);
  DK_CHECK(v.shape[1] == 4, op, ": ", name, " must have shape (N, 4), got ", dk::shape_str(v.shape));
}

size_t workspace_size(const TensorView& boxes) {
  return dk::dispatch_float(boxes.dtype, "nms_workspace_size", [&](auto t) {
    using T = decltype(t);
    return dk::cuda::nms_workspace_size<T>(boxes.shape[0]);
  });
}

void nms_entry(const char* op, const TensorView& boxes, const TensorView& scores, const TensorView* classes,
               const TensorView& keep, const TensorView& count, const TensorView& workspace, double iou_threshold,
               double score_threshold, std::uintptr_t stream) {
  expect_boxes(boxes, "boxes", op);
  const int64_t n = boxes.shape[0];
  DK_CHECK(n <= kMaxBoxes, op, ": at most ", kMaxBoxes, " boxes on the GPU, got ", n);
  dk::bind::expect_cuda(scores, "scores", op);
  dk::expect(scores, "scores", op).dtype(boxes.dtype).shape({n});
  if (classes) {
    dk::bind::expect_cuda(*classes, "classes", op);
    dk::expect(*classes, "classes", op).dtype(dk::DType::i64).shape({n});
  }
  dk::bind::expect_cuda(keep, "keep", op);
  dk::expect(keep, "keep", op).dtype(dk::DType::i64).shape({n}).writable();
  dk::bind::expect_cuda(count, "count", op);
  dk::expect(count, "count", op).dtype(dk::DType::i64).shape({1}).writable();
  dk::bind::expect_cuda(workspace, "workspace", op);
  dk::expect(workspace, "workspace", op).dtype(dk::DType::u8).ndim(1).writable();
  const size_t need = workspace_size(boxes);
  DK_CHECK(size_t(workspace.shape[0]) >= need, op, ": workspace must have at least ", need, " bytes, got ",
           workspace.shape[0]);
  DK_CHECK(iou_threshold >= 0.0 && iou_threshold <= 1.0, op, ": iou_threshold must be in [0, 1], got ",
           iou_threshold);
  DK_CHECK(!std::isnan(score_threshold), op, ": score_threshold must not be NaN");
  dk::dispatch_float(boxes.dtype, op, [&](auto t) {
    using T = decltype(t);
    py::gil_scoped_release nogil;
    dk::cuda::nms<T>(boxes.ptr<T>(), scores.ptr<T>(), classes ? classes->ptr<int64_t>() : nullptr, n, iou_threshold,
                     score_threshold, keep.ptr<int64_t>(), count.ptr<int64_t>(), workspace.data,
                     size_t(workspace.shape[0]), dk::bind::as_stream(stream));
  });
}

}  // namespace

void bind_cuda_boxes(py::module_& m) {
  m.def(
      "box_iou",
      [](const TensorView& a, const TensorView& b, const TensorView& out, std::uintptr_t stream) {
        const char* op = "box_iou";
        expect_boxes(a, "a", op);
        expect_boxes(b, "b", op);
        dk::expect(b, "b", op).dtype(a.dtype);
        dk::bind::expect_cuda(out, "out", op);
        dk::expect(out, "out", op).dtype(a.dtype).shape({a.shape[0], b.shape[0]}).writable();
        dk::dispatch_float(a.dtype, op, [&](auto t) {
          using T = decltype(t);
          py::gil_scoped_release nogil;
          dk::cuda::box_iou<T>(a.ptr<T>(), a.shape[0], b.ptr<T>(), b.shape[0], out.ptr<T>(),
                               dk::bind::as_stream(stream));
        });
      },
      "a"_a, "b"_a, "out"_a, "stream"_a = 0);
  // Bytes of uint8 workspace nms / batched_nms need for these boxes.
  m.def(
      "nms_workspace_size",
      [](const TensorView& boxes, std::uintptr_t stream) {
        expect_boxes(boxes, "boxes", "nms_workspace_size");
        return workspace_size(boxes);
      },
      "boxes"_a, "stream"_a = 0);
  // Writes kept indices to keep[:count] and their number to count (1,) on the device.
  m.def(
      "nms",
      [](const TensorView& boxes, const TensorView& scores, const TensorView& keep, const TensorView& count,
         const TensorView& workspace, double iou_threshold, double score_threshold, std::uintptr_t stream) {
        nms_entry("nms", boxes, scores, nullptr, keep, count, workspace, iou_threshold, score_threshold, stream);
      },
      "boxes"_a, "scores"_a, "keep"_a, "count"_a, "workspace"_a, "iou_threshold"_a,
      "score_threshold"_a = -INFINITY, "stream"_a = 0);
  m.def(
      "batched_nms",
      [](const TensorView& boxes, const TensorView& scores, const TensorView& classes, const TensorView& keep,
         const TensorView& count, const TensorView& workspace, double iou_threshold, double score_threshold,
         std::uintptr_t stream) {
        nms_entry("batched_nms", boxes, scores, &classes, keep, count, workspace, iou_threshold, score_threshold,
                  stream);
      },
      "boxes"_a, "scores"_a, "classes"_a, "keep"_a, "count"_a, "workspace"_a, "iou_threshold"_a,
      "score_threshold"_a = -INFINITY, "stream"_a = 0);
}
