// Box IoU and non-maximum suppression on the CPU, float32 and float64.
//
// Boxes are (x1, y1, x2, y2) rows of a C-contiguous (n, 4) array, as in torchvision.
// IoU(a, b) = |a ∩ b| / (|a| + |b| − |a ∩ b|), with widths and heights clamped at 0: a
// zero-area or inverted box has IoU 0 with everything, and a zero union gives 0. A NaN
// coordinate gives NaN, as torchvision's box_iou (a NaN is never hidden as "no overlap"); in
// nms such a box then suppresses nothing (NaN > threshold is false).
//
// box_iou: b is first transposed to structure-of-arrays scratch (x1[], y1[], x2[], y2[],
// area[]) so the inner loop over b is a straight, branch-free SIMD loop (cloned per ISA);
// rows of a are split over threads.
//
// nms: greedy NMS is sequential by nature (box j's fate depends on which earlier boxes were
// kept), so instead of torchvision's O(N · kept) suppression scan or an O(N²) IoU matrix we
// use the equivalent formulation "visit boxes in decreasing score order; keep a box unless a
// box kept before it overlaps it with IoU > threshold" and index the kept boxes in a uniform
// grid: a kept box is copied into every cell it covers, and a candidate only tests the kept
// boxes in the cells it covers (early exit on the first suppressor; a pair sharing several
// cells is tested in its first common cell only; non-overlapping pairs are rejected before
// the division). Two boxes with IoU > 0 share an interior point, hence a cell, so no
// suppressor is missed: the result is exactly the greedy one. The cell size is the mean box
// size (each box covers a few cells), capped at ~4 cells per box in total.
// Ties in score are broken by index (lower first), so results are deterministic.
// batched_nms (classes != nullptr) sorts by (class, score desc, index), runs the grid NMS
// per class and merges the kept boxes back into global score order: exact, unlike the
// coordinate-offset trick, which rounds coordinates by the offset's magnitude.
// Scratch (sort keys, SoA copies, the grid) is std::vector: its size depends on the data.
#include "cpu/boxes.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/parallel.h"
#include "cpu/simd.h"

namespace dk::cpu {
namespace {

template <typename T>
DK_INLINE T clamp0(T v) {
  return v > T(0) ? v : T(0);
}

template <typename T>
DK_INLINE T area_of(T x1, T y1, T x2, T y2) {
  return clamp0(x2 - x1) * clamp0(y2 - y1);
}

// IoU of two boxes whose (clamped) areas are known.
template <typename T>
DK_INLINE T iou_of(T ax1, T ay1, T ax2, T ay2, T aa, T bx1, T by1, T bx2, T by2, T ba) {
  const T w = clamp0(std::min(ax2, bx2) - std::max(ax1, bx1));
  const T h = clamp0(std::min(ay2, by2) - std::max(ay1, by1));
  const T inter = w * h;
  const T uni = aa + ba - inter;
  const bool nan = (ax1 != ax1) | (ay1 != ay1) | (ax2 != ax2) | (ay2 != ay2) | (bx1 != bx1) | (by1 != by1) |
                   (bx2 != bx2) | (by2 != by2);
  return nan ? std::numeric_limits<T>::quiet_NaN() : uni > T(0) ? inter / uni : T(0);
}

template <typename T>
struct BoxesSoA {
  std::vector<T> x1, y1, x2, y2, area;
  void resize(int64_t m) {
    x1.resize(m), y1.resize(m), x2.resize(m), y2.resize(m), area.resize(m);
  }
  void set(int64_t k, const T* box) {
    x1[k] = box[0], y1[k] = box[1], x2[k] = box[2], y2[k] = box[3];
    area[k] = area_of(box[0], box[1], box[2], box[3]);
  }
};

// ---- box_iou --------------------------------------------------------------------------------

template <typename T>
DK_INLINE void iou_rows_body(const T* a, int64_t lo, int64_t hi, const T* bx1, const T* by1, const T* bx2,
                             const T* by2, const T* ba, int64_t m, T* out) {
  for (int64_t i = lo; i < hi; ++i) {
    const T* r = a + 4 * i;
    const T ax1 = r[0], ay1 = r[1], ax2 = r[2], ay2 = r[3];
    const T aa = area_of(ax1, ay1, ax2, ay2);
    T* o = out + i * m;
    for (int64_t j = 0; j < m; ++j) o[j] = iou_of(ax1, ay1, ax2, ay2, aa, bx1[j], by1[j], bx2[j], by2[j], ba[j]);
  }
}

DK_CLONES void iou_rows(const float* a, int64_t lo, int64_t hi, const float* bx1, const float* by1,
                        const float* bx2, const float* by2, const float* ba, int64_t m, float* out) {
  iou_rows_body(a, lo, hi, bx1, by1, bx2, by2, ba, m, out);
}
DK_CLONES void iou_rows(const double* a, int64_t lo, int64_t hi, const double* bx1, const double* by1,
                        const double* bx2, const double* by2, const double* ba, int64_t m, double* out) {
  iou_rows_body(a, lo, hi, bx1, by1, bx2, by2, ba, m, out);
}

// ---- nms ------------------------------------------------------------------------------------

template <typename T>
struct Candidate {
  T score;
  int64_t cls;
  int64_t index;
};

// Decreasing score, then increasing index: a strict weak order on NaN-free scores.
template <typename T>
bool by_score(const Candidate<T>& p, const Candidate<T>& q) {
  return p.score > q.score || (p.score == q.score && p.index < q.index);
}

// Cell index of coordinate v on an axis starting at lo with g cells of width 1/inv. Clamped;
// NaN maps to cell 0 (monotone in v, so a point inside two boxes maps to a cell both cover).
DK_INLINE int64_t cell_of(double v, double lo, double inv, int64_t g) {
  const double t = (v - lo) * inv;
  if (!(t >= 0.0)) return 0;
  if (t >= static_cast<double>(g)) return g - 1;
  return static_cast<int64_t>(t);
}

// Grid-indexed greedy NMS over candidates c[0..m), already in visit order. Appends the kept
// candidates to `kept`.
template <typename T>
class GridNms {
 public:
  void run(const T* boxes, const Candidate<T>* c, int64_t m, T threshold, std::vector<Candidate<T>>& kept) {
    double lox = INFINITY, loy = INFINITY, hix = -INFINITY, hiy = -INFINITY, sum_w = 0, sum_h = 0;
    for (int64_t k = 0; k < m; ++k) {
      const T* b = boxes + 4 * c[k].index;
      if (b[2] > b[0] && b[3] > b[1]) {  // only boxes with an area are ever inserted or queried
        lox = std::min(lox, double(b[0])), hix = std::max(hix, double(b[2]));
        loy = std::min(loy, double(b[1])), hiy = std::max(hiy, double(b[3]));
        sum_w += double(b[2]) - double(b[0]), sum_h += double(b[3]) - double(b[1]);
      }
    }
    // Cells about the mean box size, at most ~2·sqrt(m) per axis (≤ 4m cells in all).
    const double cap = std::max(1.0, std::floor(2.0 * std::sqrt(double(m))));
    auto cells_on = [&](double extent, double mean) {
      const double g = extent / mean;
      return static_cast<int64_t>(std::isfinite(g) && g >= 1.0 ? std::min(std::floor(g), cap) : 1.0);
    };
    const int64_t gx = cells_on(hix - lox, sum_w / double(m)), gy = cells_on(hiy - loy, sum_h / double(m));
    const double invx = std::isfinite(hix - lox) && hix > lox ? double(gx) / (hix - lox) : 0.0;
    const double invy = std::isfinite(hiy - loy) && hiy > loy ? double(gy) / (hiy - loy) : 0.0;

    for (auto& cell : cells_) cell.clear();
    cells_.resize(gx * gy);
    for (int64_t j = 0; j < m; ++j) {
      const T* b = boxes + 4 * c[j].index;
      Entry q{b[0], b[1], b[2], b[3], area_of(b[0], b[1], b[2], b[3]), 0, 0};
      if (!(q.x2 > q.x1 && q.y2 > q.y1)) {  // IoU 0 with everything: kept, suppresses nothing
        kept.push_back(c[j]);
        continue;
      }
      q.cx0 = cell_of(q.x1, lox, invx, gx), q.cy0 = cell_of(q.y1, loy, invy, gy);
      const int64_t cx1 = cell_of(q.x2, lox, invx, gx), cy1 = cell_of(q.y2, loy, invy, gy);
      bool suppressed = false;
      for (int64_t cy = q.cy0; cy <= cy1 && !suppressed; ++cy) {
        for (int64_t cx = q.cx0; cx <= cx1 && !suppressed; ++cx) {
          for (const Entry& k : cells_[cy * gx + cx]) {
            // A pair sharing several cells is tested in the first one only (no duplicates);
            // boxes that do not overlap are skipped before the division.
            if (std::max(k.cx0, q.cx0) != cx || std::max(k.cy0, q.cy0) != cy) continue;
            if (!(std::min(k.x2, q.x2) > std::max(k.x1, q.x1) && std::min(k.y2, q.y2) > std::max(k.y1, q.y1)))
              continue;
            if (iou_of(k.x1, k.y1, k.x2, k.y2, k.area, q.x1, q.y1, q.x2, q.y2, q.area) > threshold) {
              suppressed = true;
              break;
            }
          }
        }
      }
      if (suppressed) continue;
      kept.push_back(c[j]);
      for (int64_t cy = q.cy0; cy <= cy1; ++cy)
        for (int64_t cx = q.cx0; cx <= cx1; ++cx) cells_[cy * gx + cx].push_back(q);
    }
  }

 private:
  struct Entry {  // a kept box, copied into each cell it covers (one cache line per test)
    T x1, y1, x2, y2, area;
    int64_t cx0, cy0;  // its first cell
  };
  std::vector<std::vector<Entry>> cells_;
};

}  // namespace

template <typename T>
void box_iou(const T* a, int64_t n, const T* b, int64_t m, T* out) {
  if (n == 0 || m == 0) return;
  BoxesSoA<T> s;
  s.resize(m);
  for (int64_t j = 0; j < m; ++j) s.set(j, b + 4 * j);
  const int64_t rows_per_thread = std::max<int64_t>(1, (int64_t(1) << 14) / m);
  parallel_for(0, n, rows_per_thread, [&](int64_t lo, int64_t hi) {
    iou_rows(a, lo, hi, s.x1.data(), s.y1.data(), s.x2.data(), s.y2.data(), s.area.data(), m, out);
  });
}

template <typename T>
int64_t nms(const T* boxes, const T* scores, const int64_t* classes, int64_t n, double iou_threshold,
            double score_threshold, int64_t* keep) {
  // Thresholds are compared in T, as the CUDA kernel and the reference do.
  const T min_score = static_cast<T>(score_threshold);
  std::vector<Candidate<T>> cand;
  cand.reserve(n);
  for (int64_t i = 0; i < n; ++i)  // also drops NaN scores, so the sort's order is strict
    if (scores[i] >= min_score) cand.push_back({scores[i], classes ? classes[i] : 0, i});
  if (classes) {
    std::sort(cand.begin(), cand.end(), [](const Candidate<T>& p, const Candidate<T>& q) {
      return p.cls < q.cls || (p.cls == q.cls && by_score(p, q));
    });
  } else {
    std::sort(cand.begin(), cand.end(), by_score<T>);
  }
  std::vector<Candidate<T>> kept;
  GridNms<T> grid;
  const T threshold = static_cast<T>(iou_threshold);
  for (size_t lo = 0; lo < cand.size();) {  // one run per class (one run in all without classes)
    size_t hi = lo + 1;
    while (hi < cand.size() && cand[hi].cls == cand[lo].cls) ++hi;
    grid.run(boxes, cand.data() + lo, static_cast<int64_t>(hi - lo), threshold, kept);
    lo = hi;
  }
  if (classes) std::sort(kept.begin(), kept.end(), by_score<T>);
  for (size_t k = 0; k < kept.size(); ++k) keep[k] = kept[k].index;
  return static_cast<int64_t>(kept.size());
}

template void box_iou<float>(const float*, int64_t, const float*, int64_t, float*);
template void box_iou<double>(const double*, int64_t, const double*, int64_t, double*);
template int64_t nms<float>(const float*, const float*, const int64_t*, int64_t, double, double, int64_t*);
template int64_t nms<double>(const double*, const double*, const int64_t*, int64_t, double, double, int64_t*);

}  // namespace dk::cpu
