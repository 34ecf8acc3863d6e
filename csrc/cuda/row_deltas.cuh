// Race-free sparse mini-batch updates of embedding-like matrices (word2vec, GloVe).
//
// A batch step is two launches. The compute launch only *reads* the weights; it adds each
// row's update into a delta row with atomicAdd, and the first warp to touch a row claims it
// (atomicExch on a flag) and appends it to the matrix's list of touched rows. The apply launch
// walks the lists, one warp per row, folds each delta into its weights (however the optimizer
// wants) and zeroes the delta and the flag; then the lists' lengths are reset. So no plain
// access to a weight races with a write (ThreadSanitizer under the emulated backend agrees),
// and a batch of one item is exactly the sequential algorithm.
//
// Workspace layout per matrix k: delta (rows[k], width) T, claimed (rows[k],) int32, touched
// (rows[k],) int32, each 256-byte aligned; then K int32 list lengths.
#pragma once
#include <cstddef>
#include <cstdint>

namespace dk::cuda {

template <typename T, int K>
struct RowDeltas {
  T* delta[K];
  int32_t* claimed[K];
  int32_t* touched[K];
  int32_t* count;  // (K,)
  int64_t width;
};

inline size_t row_deltas_align(size_t n) { return (n + 255) / 256 * 256; }

// The workspace at `base` as RowDeltas (base may be null to only measure); *bytes = its size.
template <typename T, int K>
RowDeltas<T, K> carve_row_deltas(uint8_t* base, const int64_t (&rows)[K], int64_t width, size_t* bytes) {
  RowDeltas<T, K> d{};
  size_t off = 0;
  for (int k = 0; k < K; ++k) {
    d.delta[k] = reinterpret_cast<T*>(base + off);
    off += row_deltas_align(sizeof(T) * rows[k] * width);
    d.claimed[k] = reinterpret_cast<int32_t*>(base + off);
    off += row_deltas_align(sizeof(int32_t) * rows[k]);
    d.touched[k] = reinterpret_cast<int32_t*>(base + off);
    off += row_deltas_align(sizeof(int32_t) * rows[k]);
  }
  d.count = reinterpret_cast<int32_t*>(base + off);
  off += row_deltas_align(sizeof(int32_t) * K);
  d.width = width;
  *bytes = off;
  return d;
}

// Puts row `row` of matrix k on the touched list (lane 0 of the calling warp; idempotent).
template <typename T, int K>
__device__ __forceinline__ void claim_row(const RowDeltas<T, K>& d, int k, int64_t row, int lane) {
  if (lane == 0 && atomicExch(d.claimed[k] + row, 1) == 0) d.touched[k][atomicAdd(d.count + k, 1)] = (int32_t)row;
}

// delta[k][row, :n] += scale * x[:n], by the whole warp.
template <typename T, int K>
__device__ __forceinline__ void add_row_delta(const RowDeltas<T, K>& d, int k, int64_t row, T scale, const T* x,
                                              int64_t n, int lane) {
  claim_row(d, k, row, lane);
  T* dst = d.delta[k] + row * d.width;
  for (int64_t i = lane; i < n; i += 32) atomicAdd(dst + i, scale * x[i]);
}

template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}

template <typename T>
__device__ __forceinline__ T warp_dot(const T* x, const T* y, int64_t n, int lane) {
  T s = 0;
  for (int64_t i = lane; i < n; i += 32) s += x[i] * y[i];
  return warp_sum(s);
}

// For each touched row of each matrix, one warp at a time: f(k, row, delta_row, lane), then
// the flag is cleared. The caller zeroes the delta row inside f and resets d.count afterwards.
template <typename T, int K, class F>
__device__ void for_each_touched_row(const RowDeltas<T, K>& d, F&& f) {
  const int lane = threadIdx.x & 31;
  const int64_t warp = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) / 32;
  const int64_t warps = (int64_t)gridDim.x * blockDim.x / 32;
  for (int k = 0; k < K; ++k) {
    const int64_t n = d.count[k];
    for (int64_t t = warp; t < n; t += warps) {
      const int64_t row = d.touched[k][t];
      f(k, row, d.delta[k] + row * d.width, lane);
      if (lane == 0) d.claimed[k][row] = 0;
    }
  }
}

}  // namespace dk::cuda
