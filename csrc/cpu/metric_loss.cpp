// Metric-learning losses: the batch triplet loss with in-batch mining, and the contrastive loss.
//
// Batch triplet loss. The distances come in as a matrix (cdist of the batch with itself, a GEMM
// plus norms, csrc/cpu/distance.cpp); this file mines it. One anchor row at a time, threads over
// anchors, no shared writes: each row a of dist and of grad_dist belongs to one thread.
// visit_triplets() enumerates the triplets a mining strategy picks for anchor a and hands each
// to a callback with its cost margin + d(a, p) - d(a, n); the forward sums the positive costs,
// the backward adds +scale at (a, p) and -scale at (a, n) of each triplet with a positive cost
// (the hinge's subgradient 0 at cost 0, as max(0, x) in PyTorch). Picking the triplets again in
// the backward from the saved matrix gives the same triplets as the forward (same comparisons on
// the same values), so nothing but dist is kept between the passes.
//   all:      every (p, n): O(|pos| |neg|) per anchor.
//   hard:     one pass for the farthest positive and the nearest negative, first index on ties.
//   semihard: per positive, one pass over the negatives: O(|pos| N) per anchor. (Sorting the
//             negatives once per anchor would make it O(N log N); batches here are ~100.)
// Labels are compared as int64 values; ids need not be 0..C-1.
//
// Contrastive loss: one row per pair, the distance summed directly (no GEMM form for row-wise
// pairs; no cancellation at coincident points), the gradient (x1 - x2) scaled per row; the
// row's loss and scale are core/metric_loss_math.h's, shared with the CUDA kernels.
#include "cpu/metric_loss.h"

#include <algorithm>
#include <cmath>

#include "core/metric_loss_math.h"
#include "core/parallel.h"
#include "cpu/simd.h"
#include "cpu/vec_math.h"

namespace dk::cpu {
namespace {

// Calls visit(p, n, cost) for each triplet anchored at a that `mining` picks; returns the
// anchor's count (see metric_loss.h: for 'all' the caller counts positive costs instead).
template <typename T, typename Visit>
int64_t visit_triplets(const T* row, const int64_t* labels, int64_t a, int64_t N, T margin, TripletMining mining,
                       Visit&& visit) {
  const int64_t y = labels[a];
  auto positive = [&](int64_t j) { return j != a && labels[j] == y; };
  auto negative = [&](int64_t j) { return labels[j] != y; };
  if (mining == TripletMining::hard) {
    int64_t p = -1, n = -1;
    for (int64_t j = 0; j < N; ++j) {
      if (positive(j) && (p < 0 || row[j] > row[p])) p = j;
      if (negative(j) && (n < 0 || row[j] < row[n])) n = j;
    }
    if (p < 0 || n < 0) return 0;
    visit(p, n, margin + row[p] - row[n]);
    return 1;
  }
  int64_t pairs = 0;
  for (int64_t p = 0; p < N; ++p) {
    if (!positive(p)) continue;
    const T dp = row[p];
    if (mining == TripletMining::all) {
      for (int64_t n = 0; n < N; ++n)
        if (negative(n)) visit(p, n, margin + dp - row[n]);
      continue;
    }
    int64_t outside = -1, farthest = -1;  // nearest negative beyond dp; farthest negative
    for (int64_t n = 0; n < N; ++n) {
      if (!negative(n)) continue;
      if (row[n] > dp && (outside < 0 || row[n] < row[outside])) outside = n;
      if (farthest < 0 || row[n] > row[farthest]) farthest = n;
    }
    if (farthest < 0) return 0;  // no negatives at all
    const int64_t n = outside >= 0 ? outside : farthest;
    visit(p, n, margin + dp - row[n]);
    ++pairs;
  }
  return pairs;
}

}  // namespace

template <typename T>
void triplet_mining_forward(const T* dist, const int64_t* labels, T* row_loss, int64_t* row_count, int64_t N,
                            T margin, TripletMining mining) {
  parallel_for(0, N, std::max<int64_t>(1, (int64_t(1) << 14) / std::max<int64_t>(N * N, 1)), [&](int64_t lo, int64_t hi) {
    for (int64_t a = lo; a < hi; ++a) {
      T loss = T(0);
      int64_t active = 0;
      const int64_t count = visit_triplets(dist + a * N, labels, a, N, margin, mining, [&](int64_t, int64_t, T cost) {
        if (cost > T(0)) {
          loss += cost;
          ++active;
        } else if (cost != cost) {
          loss += cost;  // NaN distances give a NaN loss, not a silent 0
        }
      });
      row_loss[a] = loss;
      row_count[a] = mining == TripletMining::all ? active : count;
    }
  });
}

template <typename T>
void triplet_mining_backward(const T* dist, const int64_t* labels, const T* scale, T* grad_dist, int64_t N, T margin,
                             TripletMining mining) {
  const T s = scale[0];
  parallel_for(0, N, std::max<int64_t>(1, (int64_t(1) << 14) / std::max<int64_t>(N * N, 1)), [&](int64_t lo, int64_t hi) {
    for (int64_t a = lo; a < hi; ++a) {
      T* g = grad_dist + a * N;
      for (int64_t j = 0; j < N; ++j) g[j] = T(0);
      visit_triplets(dist + a * N, labels, a, N, margin, mining, [&](int64_t p, int64_t n, T cost) {
        if (cost > T(0)) {
          g[p] += s;
          g[n] -= s;
        }
      });
    }
  });
}

template <typename T>
void contrastive_loss_forward(const T* x1, const T* x2, const T* target, T* loss, T* dist, int64_t N, int64_t M,
                              T margin) {
  parallel_for(0, N, std::max<int64_t>(1, (int64_t(1) << 15) / std::max<int64_t>(M, 1)), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const T* a = x1 + i * M;
      const T* b = x2 + i * M;
      const T s = lane_sum<T>(M, [&](int64_t k) {
        const T d = a[k] - b[k];
        return d * d;
      });
      const T d = std::sqrt(s);
      dist[i] = d;
      loss[i] = contrastive_row(d, s, target[i], margin);
    }
  });
}

template <typename T>
void contrastive_loss_backward(const T* g, bool g_per_row, const T* x1, const T* x2, const T* target, const T* dist,
                               T* gx1, int64_t N, int64_t M, T margin) {
  parallel_for(0, N, std::max<int64_t>(1, (int64_t(1) << 15) / std::max<int64_t>(M, 1)), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const T c = contrastive_coefficient(g_per_row ? g[i] : g[0], dist[i], target[i], margin);
      const T* a = x1 + i * M;
      const T* b = x2 + i * M;
      for (int64_t k = 0; k < M; ++k) gx1[i * M + k] = c == T(0) ? T(0) : c * (a[k] - b[k]);
    }
  });
}

#define DK_INSTANTIATE(T)                                                                                       \
  template void triplet_mining_forward<T>(const T*, const int64_t*, T*, int64_t*, int64_t, T, TripletMining);  \
  template void triplet_mining_backward<T>(const T*, const int64_t*, const T*, T*, int64_t, T, TripletMining); \
  template void contrastive_loss_forward<T>(const T*, const T*, const T*, T*, T*, int64_t, int64_t, T);         \
  template void contrastive_loss_backward<T>(const T*, bool, const T*, const T*, const T*, const T*, T*, int64_t, \
                                             int64_t, T);
DK_INSTANTIATE(float)
DK_INSTANTIATE(double)
#undef DK_INSTANTIATE

}  // namespace dk::cpu
