// Boxes (x1, y1, x2, y2): pairwise IoU and greedy non-maximum suppression (plain and per class).
//
// nms differs between backends in its Python signature: the CPU entry returns the number of kept
// boxes; the CUDA entry leaves it on the device, in `count`, and takes a scratch `workspace`
// (nms_workspace_size bytes), so that no call synchronizes with the host.
#include <cmath>

#include "bindings/backend.h"
#include DK_KERNELS(boxes.h)

namespace dk::bind {
namespace {

void expect_boxes(const TensorView& v, const char* name, const char* op) {
  expect_device(v, name, op).ndim(2);
  DK_CHECK(v.shape[1] == 4, op, ": ", name, " must have shape (N, 4), got ", shape_str(v.shape));
}

// On the GPU: the mask kernel's grid is (⌈n/64⌉, ⌈n/64⌉) and grid.y is at most 65535.
constexpr int64_t kMaxGpuBoxes = int64_t(65535) * 64;

// The arrays of nms and batched_nms (classes null for plain nms); returns the number of boxes.
int64_t check_nms_arrays(const char* op, const TensorView& boxes, const TensorView& scores,
                         const TensorView* classes, const TensorView& keep) {
  expect_boxes(boxes, "boxes", op);
  const int64_t n = boxes.shape[0];
  if constexpr (Backend::is_cuda)
    DK_CHECK(n <= kMaxGpuBoxes, op, ": at most ", kMaxGpuBoxes, " boxes on the GPU, got ", n);
  expect_device(scores, "scores", op).dtype(boxes.dtype).shape({n});
  if (classes) expect_device(*classes, "classes", op).dtype(DType::i64).shape({n});
  expect_device(keep, "keep", op).dtype(DType::i64).shape({n}).writable();
  return n;
}

void check_thresholds(const char* op, double iou_threshold, double score_threshold) {
  DK_CHECK(iou_threshold >= 0.0 && iou_threshold <= 1.0, op, ": iou_threshold must be in [0, 1], got ",
           iou_threshold);
  DK_CHECK(!std::isnan(score_threshold), op, ": score_threshold must not be NaN");
}

#if defined(DK_BACKEND_CUDA)
size_t workspace_size(const TensorView& boxes) {
  return dispatch_float(boxes.dtype, "nms_workspace_size", [&](auto t) {
    using T = decltype(t);
    return kernels::nms_workspace_size<T>(boxes.shape[0]);
  });
}

// Writes kept indices to keep[:count] and their number to count (1,) on the device.
void nms_entry(const Launch& launch, const char* op, const TensorView& boxes, const TensorView& scores,
               const TensorView* classes, const TensorView& keep, const TensorView& count,
               const TensorView& workspace, double iou_threshold, double score_threshold) {
  const int64_t n = check_nms_arrays(op, boxes, scores, classes, keep);
  expect_device(count, "count", op).dtype(DType::i64).shape({1}).writable();
  expect_device(workspace, "workspace", op).dtype(DType::u8).ndim(1).writable();
  const size_t need = workspace_size(boxes);
  DK_CHECK(size_t(workspace.shape[0]) >= need, op, ": workspace must have at least ", need, " bytes, got ",
           workspace.shape[0]);
  check_thresholds(op, iou_threshold, score_threshold);
  dispatch_float(boxes.dtype, op, [&](auto t) {
    using T = decltype(t);
    launch(kernels::nms<T>, boxes.ptr<T>(), scores.ptr<T>(), classes ? classes->ptr<int64_t>() : nullptr, n,
           iou_threshold, score_threshold, keep.ptr<int64_t>(), count.ptr<int64_t>(), workspace.data,
           size_t(workspace.shape[0]));
  });
}
#else
// Writes kept indices to keep[:count] (keep is (N,) int64) and returns count.
int64_t nms_entry(const Launch& launch, const char* op, const TensorView& boxes, const TensorView& scores,
                  const TensorView* classes, const TensorView& keep, double iou_threshold, double score_threshold) {
  const int64_t n = check_nms_arrays(op, boxes, scores, classes, keep);
  check_thresholds(op, iou_threshold, score_threshold);
  return dispatch_float(boxes.dtype, op, [&](auto t) {
    using T = decltype(t);
    return launch(kernels::nms<T>, boxes.ptr<T>(), scores.ptr<T>(), classes ? classes->ptr<int64_t>() : nullptr, n,
                  iou_threshold, score_threshold, keep.ptr<int64_t>());
  });
}
#endif

}  // namespace

void bind_boxes(py::module_& m) {
  // out (N, M) = IoU of a (N, 4) with b (M, 4).
  def(
      m, "box_iou",
      [](Launch launch, const TensorView& a, const TensorView& b, const TensorView& out) {
        const char* op = "box_iou";
        expect_boxes(a, "a", op);
        expect_boxes(b, "b", op);
        expect(b, "b", op).dtype(a.dtype);
        expect_device(out, "out", op).dtype(a.dtype).shape({a.shape[0], b.shape[0]}).writable();
        dispatch_float(a.dtype, op, [&](auto t) {
          using T = decltype(t);
          launch(kernels::box_iou<T>, a.ptr<T>(), a.shape[0], b.ptr<T>(), b.shape[0], out.ptr<T>());
        });
      },
      "a"_a, "b"_a, "out"_a);
#if defined(DK_BACKEND_CUDA)
  // Bytes of uint8 workspace nms / batched_nms need for these boxes.
  def(
      m, "nms_workspace_size",
      [](Launch, const TensorView& boxes) {
        expect_boxes(boxes, "boxes", "nms_workspace_size");
        return workspace_size(boxes);
      },
      "boxes"_a);
  def(
      m, "nms",
      [](Launch launch, const TensorView& boxes, const TensorView& scores, const TensorView& keep,
         const TensorView& count, const TensorView& workspace, double iou_threshold, double score_threshold) {
        nms_entry(launch, "nms", boxes, scores, nullptr, keep, count, workspace, iou_threshold, score_threshold);
      },
      "boxes"_a, "scores"_a, "keep"_a, "count"_a, "workspace"_a, "iou_threshold"_a,
      "score_threshold"_a = -INFINITY);
  def(
      m, "batched_nms",
      [](Launch launch, const TensorView& boxes, const TensorView& scores, const TensorView& classes,
         const TensorView& keep, const TensorView& count, const TensorView& workspace, double iou_threshold,
         double score_threshold) {
        nms_entry(launch, "batched_nms", boxes, scores, &classes, keep, count, workspace, iou_threshold,
                  score_threshold);
      },
      "boxes"_a, "scores"_a, "classes"_a, "keep"_a, "count"_a, "workspace"_a, "iou_threshold"_a,
      "score_threshold"_a = -INFINITY);
#else
  def(
      m, "nms",
      [](Launch launch, const TensorView& boxes, const TensorView& scores, const TensorView& keep,
         double iou_threshold, double score_threshold) {
        return nms_entry(launch, "nms", boxes, scores, nullptr, keep, iou_threshold, score_threshold);
      },
      "boxes"_a, "scores"_a, "keep"_a, "iou_threshold"_a, "score_threshold"_a = -INFINITY);
  def(
      m, "batched_nms",
      [](Launch launch, const TensorView& boxes, const TensorView& scores, const TensorView& classes,
         const TensorView& keep, double iou_threshold, double score_threshold) {
        return nms_entry(launch, "batched_nms", boxes, scores, &classes, keep, iou_threshold, score_threshold);
      },
      "boxes"_a, "scores"_a, "classes"_a, "keep"_a, "iou_threshold"_a, "score_threshold"_a = -INFINITY);
#endif
}

}  // namespace dk::bind
