// GloVe's AdaGrad pass on the GPU.
//
// Same objective and update as the CPU kernel (csrc/cpu/glove.cpp, glove.c's AdaGrad). The
// pairs are taken in batches of `workers`; each batch is one synchronous step
// (cuda/row_deltas.cuh):
//   1. compute: one warp per pair: diff = W[i] . Wc[j] + b[i] + bc[j] - log X as a warp dot
//      product; a non-finite diff is skipped (counted); the cost f diff^2 / 2 is summed; the
//      lr-scaled gradients g Wc[j] and g W[i] (g = lr f diff) go into the delta rows of W[i]
//      and Wc[j] with atomicAdd, the bias gradient g into the extra last column of each.
//   2. apply: one warp per touched row runs AdaGrad on the row's summed gradient t:
//      w -= t / sqrt(acc), then acc += t^2, for every element and the bias.
// A batch of one pair is glove.c's sequential step exactly (deepkern.reference.glove_train's
// order); larger batches are mini-batch AdaGrad, agreeing with the reference's batches to
// rounding (the atomics sum in an unspecified order).
//
// Layouts: W, Wc, their accumulators (V, D); biases (V,); rows/cols int32, log_x/weight T
// (num_pairs,). Workspace: row_deltas.cuh's for 2 matrices of width D + 1. Row and column ids
// out of range are skipped.
#include <cstdint>

#include "cuda/cuda_check.h"
#include "cuda/glove.h"
#include "cuda/launch.cuh"
#include "cuda/row_deltas.cuh"

namespace dk::cuda {
namespace {

constexpr int kWarpsPerBlock = 4;
template <typename T>
using Deltas = RowDeltas<T, 2>;  // 0: word rows (W, b), 1: context rows (Wc, bc)

template <typename T>
__global__ void compute_kernel(GloveArgs<T> a, Deltas<T> d, int64_t k0, int64_t k1) {
  const int lane = threadIdx.x & 31;
  const int64_t k = k0 + (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) / 32;
  if (k >= k1) return;  // the whole warp
  const int64_t i = a.rows[k], j = a.cols[k], D = a.dim;
  if (i < 0 || i >= a.vocab_size || j < 0 || j >= a.vocab_size) return;
  const T* wi = a.W + i * D;
  const T* wj = a.Wc + j * D;
  const T diff = warp_dot(wi, wj, D, lane) + a.b[i] + a.bc[j] - a.log_x[k];
  if (!isfinite(diff)) {
    if (lane == 0) atomicAdd(a.stats + 1, 1.0);
    return;
  }
  const T fdiff = a.weight[k] * diff;
  const T g = static_cast<T>(a.learning_rate) * fdiff;
  add_row_delta(d, 0, i, g, wj, D, lane);
  add_row_delta(d, 1, j, g, wi, D, lane);
  if (lane == 0) {
    atomicAdd(d.delta[0] + i * d.width + D, g);
    atomicAdd(d.delta[1] + j * d.width + D, g);
    atomicAdd(a.stats, 0.5 * double(fdiff) * double(diff));
  }
}

template <typename T>
__global__ void apply_kernel(GloveArgs<T> a, Deltas<T> d) {
  const int64_t D = a.dim;
  for_each_touched_row(d, [&](int m, int64_t row, T* delta, int lane) {
    T* w = (m == 0 ? a.W : a.Wc) + row * D;
    T* acc = (m == 0 ? a.gW : a.gWc) + row * D;
    for (int64_t i = lane; i <= D; i += 32) {
      T* wt = i < D ? w + i : (m == 0 ? a.b : a.bc) + row;
      T* at = i < D ? acc + i : (m == 0 ? a.gb : a.gbc) + row;
      const T t = delta[i];
      *wt -= t / sqrt(*at);
      *at += t * t;
      delta[i] = T(0);
    }
  });
}

}  // namespace

int64_t glove_workspace_size(int64_t vocab_size, int64_t dim, int64_t itemsize) {
  const int64_t rows[2] = {vocab_size, vocab_size};
  size_t total = 0;
  if (itemsize == 8)
    carve_row_deltas<double>(nullptr, rows, dim + 1, &total);
  else
    carve_row_deltas<float>(nullptr, rows, dim + 1, &total);
  return static_cast<int64_t>(total);
}

template <typename T>
void glove_train(const GloveArgs<T>& a, cudaStream_t stream) {
  DK_CUDA_CHECK(cudaMemsetAsync(a.stats, 0, 2 * sizeof(double), stream));
  if (a.num_pairs <= 0) return;
  const int64_t rows[2] = {a.vocab_size, a.vocab_size};
  size_t total = 0;
  const Deltas<T> d = carve_row_deltas<T>(a.workspace, rows, a.dim + 1, &total);
  DK_CUDA_CHECK(cudaMemsetAsync(a.workspace, 0, total, stream));
  const unsigned block = 32 * kWarpsPerBlock;
  const int64_t batch = a.workers > 0 ? a.workers : 1;
  const unsigned apply_grid = grid_for((batch < (1 << 16) ? batch : (1 << 16)) * 2 * 32, block);
  for (int64_t k = 0; k < a.num_pairs; k += batch) {
    const int64_t k_end = k + batch < a.num_pairs ? k + batch : a.num_pairs;
    DK_LAUNCH(compute_kernel<T>, grid_for((k_end - k) * 32, block), block, 0, stream)(a, d, k, k_end);
    DK_CUDA_CHECK_LAUNCH();
    DK_LAUNCH(apply_kernel<T>, apply_grid, block, 0, stream)(a, d);
    DK_CUDA_CHECK_LAUNCH();
    DK_CUDA_CHECK(cudaMemsetAsync(d.count, 0, sizeof(int32_t) * 2, stream));
  }
}

template void glove_train<float>(const GloveArgs<float>&, cudaStream_t);
template void glove_train<double>(const GloveArgs<double>&, cudaStream_t);

}  // namespace dk::cuda
