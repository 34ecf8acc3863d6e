#pragma once
#include <cstdint>

#include "core/triplet_mining.h"

namespace dk::cpu {

// Triplet loss mined inside a batch, from the batch's distance matrix dist (N, N) (distances
// or squared distances, e.g. cdist(e, e)) and labels (N,). For anchor a, positives are the
// p != a with labels[p] == labels[a], negatives the n with labels[n] != labels[a], and each
// chosen triplet costs max(0, margin + dist[a, p] - dist[a, n]) (see core/triplet_mining.h):
//   all:      row_loss[a] = sum of the positive costs over every (p, n),
//             row_count[a] = how many are positive (the loss is the mean over those)
//   hard:     p = argmax dist[a, p], n = argmin dist[a, n] (first index on ties);
//             row_count[a] = 1 when a has a positive and a negative, else 0
//   semihard: for each p, n = argmin of dist[a, n] over dist[a, n] > dist[a, p], or
//             argmax dist[a, n] when no negative is farther; row_count[a] = |positives|
//             (0 without negatives)
// The loss is sum(row_loss) / sum(row_count) (the caller's reduction).
template <typename T>
void triplet_mining_forward(const T* dist, const int64_t* labels, T* row_loss, int64_t* row_count, int64_t N,
                            T margin, TripletMining mining);

// grad_dist (N, N) = scale[0] * d(sum_a row_loss[a]) / d(dist): +scale at each chosen
// (a, p) and -scale at each chosen (a, n) per triplet with a positive cost, summed; 0 elsewhere.
template <typename T>
void triplet_mining_backward(const T* dist, const int64_t* labels, const T* scale, T* grad_dist, int64_t N, T margin,
                             TripletMining mining);

// Contrastive loss (Hadsell, Chopra & LeCun 2006) of pairs x1[i], x2[i] (N, M) with target[i]
// = 1 for a matching pair, 0 for a non-matching one (values in between interpolate):
//   dist[i] = ||x1[i] - x2[i]||,  loss[i] = (target[i] dist^2 + (1 - target[i]) max(0, margin - dist)^2) / 2
template <typename T>
void contrastive_loss_forward(const T* x1, const T* x2, const T* target, T* loss, T* dist, int64_t N, int64_t M,
                              T margin);

// gx1[i] = g_i * (target[i] - (1 - target[i]) [dist < margin] (margin - dist) / dist) (x1[i] - x2[i]),
// the hinge term taken as 0 at dist = 0; g_i = g[i] when g_per_row, else g[0]. The gradient wrt
// x2 is -gx1.
template <typename T>
void contrastive_loss_backward(const T* g, bool g_per_row, const T* x1, const T* x2, const T* target, const T* dist,
                               T* gx1, int64_t N, int64_t M, T margin);

}  // namespace dk::cpu
