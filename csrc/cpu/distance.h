#pragma once
#include <cstdint>

namespace dk::cpu {

// Pairwise distances between the rows of two batched point sets (PyTorch's cdist):
//   x1 (B, P, M), x2 (B, R, M) -> out (B, P, R), out[b, i, j] = ||x1[b, i] - x2[b, j]||_p.
//
// Euclidean (p = 2) through a GEMM plus norms: out = ||x1_i||^2 + ||x2_j||^2 - 2 x1_i . x2_j,
// clamped at zero, pairs nearer than half their norm scale (s < (n1 + n2) / 4) recomputed as
// sum (x1_i - x2_j)^2, then the square root unless `squared`. work holds B * (P + R) values
// (the squared norms, left there).
template <typename T>
void cdist_euclidean_forward(const T* x1, const T* x2, T* out, T* work, int64_t B, int64_t P, int64_t R, int64_t M,
                             bool squared);

// Gradients of sum(g * out) for the Euclidean cdist, `dist` being its output (squared or not):
//   gx1[i] = sum_j c_ij (x1_i - x2_j),  gx2[j] = -sum_i c_ij (x1_i - x2_j),
//   c_ij = 2 g_ij (squared) or g_ij / d_ij (0 where d_ij = 0: the subgradient at coincident points).
// Far pairs go through two GEMMs (rowsum(c) x1 - c @ x2), near pairs (the forward's rule) are
// summed directly. work holds B * (P * R + 2 P + R) values.
template <typename T>
void cdist_euclidean_backward(const T* g, const T* x1, const T* x2, const T* dist, T* gx1, T* gx2, T* work, int64_t B,
                              int64_t P, int64_t R, int64_t M, bool squared);

// Any other p >= 0 (p = inf included), summed directly: p = 0 counts the differing
// coordinates, p = inf takes the largest |difference|, else (sum |d|^p)^(1/p).
template <typename T>
void cdist_lp_forward(const T* x1, const T* x2, T* out, int64_t B, int64_t P, int64_t R, int64_t M, double p);

// Gradients as PyTorch's cdist backward: with d = x1_i - x2_j and D = out[i, j],
//   p = 0: 0;  p = 1: sign(d);  p = inf: sign(d) where |d| == D, else 0;
//   other p: sign(d) |d|^(p-1) / D^(p-1), 0 where D == 0 (and where d == 0 for p < 1);
// each times g[i, j], summed over j into gx1 and over i (negated) into gx2.
template <typename T>
void cdist_lp_backward(const T* g, const T* x1, const T* x2, const T* dist, T* gx1, T* gx2, int64_t B, int64_t P,
                       int64_t R, int64_t M, double p);

// Row-wise distances (PyTorch's pairwise_distance): x1, x2 (N, M) -> out (N,),
// out[i] = ||x1[i] - x2[i] + eps||_p for any p >= 0 (p = inf included).
template <typename T>
void pairwise_distance_forward(const T* x1, const T* x2, T* out, int64_t N, int64_t M, double p, double eps);

// gx1 = g[i] * d(out[i])/d(x1[i]) with the cdist_lp_backward formulas (p = 2: d / D, 0 where
// D == 0); the gradient wrt x2 is -gx1.
template <typename T>
void pairwise_distance_backward(const T* g, const T* x1, const T* x2, const T* dist, T* gx1, int64_t N, int64_t M,
                                double p, double eps);

}  // namespace dk::cpu
