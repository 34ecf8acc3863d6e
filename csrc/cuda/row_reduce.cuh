// Reduce-then-map over one axis of an (outer, dim, inner) array on the GPU, shared by the
// softmax and cross-entropy kernels.
//
// An Op describes the work on one "row" (the dim values at fixed (o, i), element k at
// base + d * step):
//   using Acc;                                      // MaxSum<T> or Sum<T> below
//   T value(int64_t k) const;                       // element k's contribution
//   Acc finish(Acc a) const;                        // once per row, after the reduction
//   static constexpr bool kWrites;                  // whether write() runs per element
//   void write(const Acc& a, int64_t k) const;      // per element, with the finished Acc
//   void row_done(const Acc& a, int64_t row, int64_t base, int64_t step) const;  // one thread
// Three launch shapes, picked by launch_rows():
//   inner == 1, dim <= kWarpMaxDim: one warp per row, lanes stride the row (coalesced),
//     xor-shuffle butterfly merge so every lane holds the row's result; no shared memory.
//   inner == 1, longer rows: one block per row, warp merges then one shared-memory merge
//     of the per-warp results (two __syncthreads, and a third before the next row reuses it).
//   inner > 1: one thread per (o, i) column walking down dim; adjacent threads read adjacent
//     i, so each step of the walk is coalesced.
// Every loop trip count is uniform across the threads that shuffle or synchronize together.
#pragma once
#include <cuda_runtime_api.h>

#include <cfloat>
#include <cstdint>

#include "cuda/cuda_check.h"
#include "cuda/launch.cuh"

namespace dk::cuda {

constexpr unsigned kFullMask = 0xffffffffu;
constexpr int64_t kWarpMaxDim = 1024;
constexpr unsigned kRowBlock = 256;

template <typename T>
__device__ __forceinline__ T lowest_finite();
template <>
__device__ __forceinline__ float lowest_finite<float>() { return -FLT_MAX; }
template <>
__device__ __forceinline__ double lowest_finite<double>() { return -DBL_MAX; }

// Running max m and sum s of exp(v - m). m starts at the lowest finite value, not -inf, so a
// -inf logit contributes exp(-inf) = 0 instead of NaN. One exp per added value. A new maximum
// adds exp(v - v), written v - v + 1: 1, or NaN for v = +inf, so that a row holding +inf sums
// to NaN whatever the order of its values, as when the max is taken first (CPU, reference).
template <typename T>
struct MaxSum {
  T m, s;
  __device__ static MaxSum identity() { return {lowest_finite<T>(), T(0)}; }
  __device__ void add_value(T v) {  // one exp: rescale the sum when v is the new max
    const bool gt = v > m;
    const T e = exp(gt ? m - v : v - m);
    s = gt ? s * e + (v - v + T(1)) : s + e;
    m = gt ? v : m;
  }
  __device__ void merge(const MaxSum& o) {
    const T mn = o.m > m ? o.m : m;
    s = s * exp(m - mn) + o.s * exp(o.m - mn);
    m = mn;
  }
  __device__ MaxSum shfl_xor(int offset) const {
    return {__shfl_xor_sync(kFullMask, m, offset), __shfl_xor_sync(kFullMask, s, offset)};
  }
};

// Accumulates in double (for float input too): the softmax backward subtracts this sum from
// gy, and a float sum's rounding would show in small gradients.
template <typename T>
struct Sum {
  double s;
  __device__ static Sum identity() { return {0.0}; }
  __device__ void add_value(T v) { s += double(v); }
  __device__ void merge(const Sum& o) { s += o.s; }
  __device__ Sum shfl_xor(int offset) const { return {__shfl_xor_sync(kFullMask, s, offset)}; }
};

template <typename Acc>
__device__ __forceinline__ Acc warp_merge(Acc a) {
  for (int offset = 16; offset > 0; offset >>= 1) a.merge(a.shfl_xor(offset));
  return a;
}

template <typename Op>
__global__ void rows_warp_kernel(Op op, int64_t rows, int64_t dim) {
  using Acc = typename Op::Acc;
  const int lane = threadIdx.x & 31;
  const int64_t first = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5;
  const int64_t nwarps = ((int64_t)gridDim.x * blockDim.x) >> 5;
  for (int64_t r = first; r < rows; r += nwarps) {  // uniform across the warp
    const int64_t base = r * dim;
    Acc a = Acc::identity();
    for (int64_t d = lane; d < dim; d += 32) a.add_value(op.value(base + d));
    a = op.finish(warp_merge(a));
    if (lane == 0) op.row_done(a, r, base, 1);
    if (Op::kWrites)
      for (int64_t d = lane; d < dim; d += 32) op.write(a, base + d);
  }
}

template <typename Op>
__global__ void rows_block_kernel(Op op, int64_t rows, int64_t dim) {
  using Acc = typename Op::Acc;
  DK_SHARED(Acc, partial, [32]);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = (blockDim.x + 31) >> 5;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {  // uniform across the block
    const int64_t base = r * dim;
    Acc a = Acc::identity();
    for (int64_t d = threadIdx.x; d < dim; d += blockDim.x) a.add_value(op.value(base + d));
    a = warp_merge(a);
    if (lane == 0) partial[warp] = a;
    __syncthreads();
    if (warp == 0) {
      a = lane < nwarps ? partial[lane] : Acc::identity();
      a = op.finish(warp_merge(a));
      if (lane == 0) {
        partial[0] = a;
        op.row_done(a, r, base, 1);
      }
    }
    __syncthreads();
    a = partial[0];
    __syncthreads();  // everyone has read partial[0] before the next row overwrites it
    if (Op::kWrites)
      for (int64_t d = threadIdx.x; d < dim; d += blockDim.x) op.write(a, base + d);
  }
}

template <typename Op>
__global__ void cols_kernel(Op op, int64_t outer, int64_t dim, int64_t inner) {
  using Acc = typename Op::Acc;
  const int64_t n = outer * inner;
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < n; c += (int64_t)gridDim.x * blockDim.x) {
    const int64_t o = c / inner, i = c - o * inner, base = o * dim * inner + i;
    Acc a = Acc::identity();
    for (int64_t d = 0; d < dim; ++d) a.add_value(op.value(base + d * inner));
    a = op.finish(a);
    op.row_done(a, c, base, inner);
    if (Op::kWrites)
      for (int64_t d = 0; d < dim; ++d) op.write(a, base + d * inner);
  }
}

// Runs op over every row of an (outer, dim, inner) array (dim >= 1) on `stream`.
template <typename Op>
void launch_rows(const Op& op, int64_t outer, int64_t dim, int64_t inner, cudaStream_t stream) {
  if (outer * dim * inner == 0) return;
  if (inner > 1) {
    DK_LAUNCH(cols_kernel<Op>, grid_for(outer * inner, kRowBlock), kRowBlock, 0, stream)(op, outer, dim, inner);
  } else if (dim <= kWarpMaxDim) {
    DK_LAUNCH(rows_warp_kernel<Op>, grid_for(outer * 32, kRowBlock), kRowBlock, 0, stream)(op, outer, dim);
  } else {
    DK_LAUNCH(rows_block_kernel<Op>, grid_for(outer * kRowBlock, kRowBlock), kRowBlock, 0, stream)(op, outer, dim);
  }
  DK_CUDA_CHECK_LAUNCH();
}

}  // namespace dk::cuda
