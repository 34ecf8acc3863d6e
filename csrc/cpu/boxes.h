#pragma once
#include <cstdint>

namespace dk::cpu {

// out[i, j] = IoU(a[i], b[j]); a is (n, 4), b is (m, 4) boxes (x1, y1, x2, y2), out (n, m).
// Box sizes are clamped at 0 (an inverted box has zero area); a zero union gives 0, not NaN.
template <typename T>
void box_iou(const T* a, int64_t n, const T* b, int64_t m, T* out);

// Greedy non-maximum suppression. boxes (n, 4), scores (n,), classes (n,) or nullptr.
// Boxes are visited in decreasing score order (ties: lower index first); a box is dropped when
// its score is below score_threshold or its IoU with an already kept box of the same class
// (every box when classes is nullptr) is > iou_threshold. Writes the kept indices, in visit
// order, to keep[0..count) (keep has room for n) and returns count.
template <typename T>
int64_t nms(const T* boxes, const T* scores, const int64_t* classes, int64_t n, double iou_threshold,
            double score_threshold, int64_t* keep);

}  // namespace dk::cpu
