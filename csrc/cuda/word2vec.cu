// word2vec on the GPU: skip-gram and CBOW, negative sampling and hierarchical softmax.
//
// Same model, random choices (core/word2vec_sampling.h) and learning rate as the CPU kernel
// (csrc/cpu/word2vec.cpp); what differs is the parallel schedule. The corpus positions of the
// call are taken in batches of `workers` consecutive positions, and each batch is one
// synchronous mini-batch step (cuda/row_deltas.cuh) in two launches:
//   1. compute: one warp per position. A position whose word subsampling keeps is a center
//      word; its warp finds its contexts (scanning out from the position over kept words of its
//      sentence, into 2 * window ints of shared memory), draws its outputs, computes every
//      logit as a warp-wide dot product over lane-strided elements, and atomically adds the
//      updates G Out / G^T In into the delta rows of syn0, syn1neg and syn1. The weights are
//      only read.
//   2. apply: one warp per touched row adds the row's delta to the weights.
// With workers == 1 every center word is applied before the next is computed: the exact
// sequential order of the single-thread CPU kernel and of deepkern.reference.word2vec_train
// (which mirrors the batches for workers > 1 too). The order of the float atomic adds within a
// batch is unspecified, so batches > 1 agree with the reference to rounding, not bit for bit.
// Hogwild-style unsynchronized updates would save the delta traffic, but race by design.
//
// Layouts: weights row-major (rows, D); the workspace is row_deltas.cuh's for the three
// matrices. Indices read from memory (word ids, noise words, Huffman nodes) are range-checked:
// an invalid one is skipped.
#include <algorithm>
#include <cstdint>

#include "core/word2vec_sampling.h"
#include "cuda/cuda_check.h"
#include "cuda/launch.cuh"
#include "cuda/row_deltas.cuh"
#include "cuda/word2vec.h"

namespace dk::cuda {
namespace {

constexpr int kWarpsPerBlock = 4;
constexpr int kMatrices = 3;  // syn0, syn1neg, syn1
template <typename T>
using Deltas = RowDeltas<T, kMatrices>;

// The outputs of a center word, in the CPU kernel's order: the Huffman path, then the word's
// own negative-sampling row and its noise words. f(matrix, row, label) for each.
template <typename T, class F>
__device__ void for_each_output(const Word2VecArgs<T>& a, uint64_t stream, int64_t pos, int32_t word, F&& f) {
  const int slots = 2 + a.negative;
  if (a.hs) {
    const int64_t len = a.hs_lengths[word] < a.hs_max_length ? a.hs_lengths[word] : a.hs_max_length;
    for (int64_t l = 0; l < len; ++l) {
      const int32_t node = a.hs_points[word * a.hs_max_length + l];
      if (node >= 0 && node < a.vocab_size - 1) f(2, node, T(1) - T(a.hs_codes[word * a.hs_max_length + l]));
    }
  }
  if (a.negative > 0) {
    f(1, word, T(1));
    for (int k = 0; k < a.negative; ++k) {
      const int32_t noise = w2v::noise_word(stream, pos, slots, k, a.noise_threshold, a.noise_alias, a.vocab_size);
      if (noise != word && noise >= 0 && noise < a.vocab_size) f(1, noise, T(0));
    }
  }
}

template <typename T>
__device__ bool kept_at(const Word2VecArgs<T>& a, uint64_t stream, int64_t q, int slots) {
  const int32_t w = a.corpus[q];
  return w >= 0 && w < a.vocab_size && w2v::keep(stream, q, slots, a.keep_threshold[w]);
}

// Writes the word ids of the kept neighbours of position p within [begin, end) — up to b on
// each side — to ctx (when given) and returns how many there are.
template <typename T>
__device__ int contexts(const Word2VecArgs<T>& a, uint64_t stream, int64_t p, int64_t begin, int64_t end, int b,
                        int32_t* ctx) {
  const int slots = 2 + a.negative;
  int m = 0, found = 0;
  for (int64_t q = p - 1; q >= begin && found < b; --q)
    if (kept_at(a, stream, q, slots)) {
      if (ctx) ctx[m] = a.corpus[q];
      ++m, ++found;
    }
  found = 0;
  for (int64_t q = p + 1; q < end && found < b; ++q)
    if (kept_at(a, stream, q, slots)) {
      if (ctx) ctx[m] = a.corpus[q];
      ++m, ++found;
    }
  return m;
}

template <typename T>
__device__ T* matrix(const Word2VecArgs<T>& a, int k) {
  return k == 0 ? a.syn0 : k == 1 ? a.syn1neg : a.syn1;
}

__device__ __forceinline__ double softplus(double t) { return t > 30.0 ? t : log1p(exp(t)); }

// One warp per corpus position of [p0, p1). Dynamic shared memory: 2 * window context ids per
// warp, written by lane 0.
template <typename T>
__global__ void compute_kernel(Word2VecArgs<T> a, Deltas<T> d, int64_t p0, int64_t p1) {
  DK_DYNAMIC_SHARED(int32_t, shared_ctx);
  const int lane = threadIdx.x & 31;
  int32_t* ctx = shared_ctx + (threadIdx.x / 32) * 2 * a.window;
  const int64_t p = p0 + (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) / 32;
  if (p >= p1) return;  // the whole warp: p is the same on its lanes
  const int slots = 2 + a.negative;
  const uint64_t stream = w2v::epoch_stream(a.seed, a.epoch);
  if (!kept_at(a, stream, p, slots)) return;
  // The sentence holding p: the last s with sentence_starts[s] <= p.
  int64_t lo = 0, hi = a.num_sentences;
  while (hi - lo > 1) {
    const int64_t mid = (lo + hi) / 2;
    if (a.sentence_starts[mid] <= p) lo = mid; else hi = mid;
  }
  const int64_t begin = a.sentence_starts[lo], end = a.sentence_starts[lo + 1];
  const T alpha = static_cast<T>(w2v::learning_rate(a.alpha, a.min_alpha, a.words_before + begin, a.total_words));
  const int32_t word = a.corpus[p];
  const int b = w2v::effective_window(stream, p, slots, a.window);
  const int M = contexts(a, stream, p, begin, end, b, lane == 0 ? ctx : nullptr);
  __syncwarp();
  const int64_t D = a.dim;
  double loss = 0;
  auto scale = [&](T logit, T label) {
    if (a.compute_loss) loss += softplus(label > T(0.5) ? -double(logit) : double(logit));
    return alpha * (label - T(1) / (T(1) + exp(-logit)));
  };
  if (a.sg) {
    for (int m = 0; m < M; ++m) {
      const T* in = a.syn0 + int64_t(ctx[m]) * D;
      for_each_output(a, stream, p, word, [&](int k, int64_t row, T label) {
        const T* out = matrix(a, k) + row * D;
        const T g = scale(warp_dot(in, out, D, lane), label);
        add_row_delta(d, 0, ctx[m], g, out, D, lane);
        add_row_delta(d, k, row, g, in, D, lane);
      });
    }
  } else if (M > 0) {
    // h = mean (or sum) of the context rows; element i is summed where needed (L1-resident).
    const T h_scale = a.cbow_mean ? T(1) / T(M) : T(1);
    const T in_scale = a.cbow_mean ? T(1) : T(1) / T(M);
    auto h_at = [&](int64_t i) {
      T s = 0;
      for (int m = 0; m < M; ++m) s += a.syn0[int64_t(ctx[m]) * D + i];
      return s * h_scale;
    };
    for_each_output(a, stream, p, word, [&](int k, int64_t row, T label) {
      const T* out = matrix(a, k) + row * D;
      T part = 0;
      for (int64_t i = lane; i < D; i += 32) part += h_at(i) * out[i];
      const T g = scale(warp_sum(part), label);
      claim_row(d, k, row, lane);
      for (int64_t i = lane; i < D; i += 32) atomicAdd(d.delta[k] + row * D + i, g * h_at(i));
      for (int m = 0; m < M; ++m) add_row_delta(d, 0, ctx[m], g * in_scale, out, D, lane);
    });
  }
  if (lane == 0) {
    atomicAdd(a.stats, 1.0);
    if (a.compute_loss) atomicAdd(a.stats + 1, loss);
  }
}

template <typename T>
__global__ void apply_kernel(Word2VecArgs<T> a, Deltas<T> d) {
  const int64_t D = a.dim;
  for_each_touched_row(d, [&](int k, int64_t row, T* delta, int lane) {
    T* w = matrix(a, k) + row * D;
    for (int64_t i = lane; i < D; i += 32) {
      w[i] += delta[i];
      delta[i] = T(0);
    }
  });
}

void matrix_rows(int64_t V, bool hs, int negative, int64_t (&rows)[kMatrices]) {
  rows[0] = V;
  rows[1] = negative > 0 ? V : 0;
  rows[2] = hs && V > 1 ? V - 1 : 0;
}

}  // namespace

int64_t word2vec_workspace_size(int64_t vocab_size, int64_t dim, bool hs, int negative, int64_t itemsize) {
  int64_t rows[kMatrices];
  matrix_rows(vocab_size, hs, negative, rows);
  size_t total = 0;
  if (itemsize == 8)
    carve_row_deltas<double>(nullptr, rows, dim, &total);
  else
    carve_row_deltas<float>(nullptr, rows, dim, &total);
  return static_cast<int64_t>(total);
}

template <typename T>
void word2vec_train(const Word2VecArgs<T>& a, cudaStream_t stream) {
  DK_CUDA_CHECK(cudaMemsetAsync(a.stats, 0, 2 * sizeof(double), stream));
  if (a.num_sentences <= 0) return;
  int64_t bounds[2];  // the call's corpus range: sentence_starts[0] and [num_sentences]
  DK_CUDA_CHECK(cudaMemcpyAsync(bounds, a.sentence_starts, sizeof(int64_t), cudaMemcpyDeviceToHost, stream));
  DK_CUDA_CHECK(cudaMemcpyAsync(bounds + 1, a.sentence_starts + a.num_sentences, sizeof(int64_t),
                                cudaMemcpyDeviceToHost, stream));
  DK_CUDA_CHECK(cudaStreamSynchronize(stream));
  if (bounds[1] <= bounds[0]) return;
  int64_t rows[kMatrices];
  matrix_rows(a.vocab_size, a.hs, a.negative, rows);
  size_t total = 0;
  const Deltas<T> d = carve_row_deltas<T>(a.workspace, rows, a.dim, &total);
  DK_CUDA_CHECK(cudaMemsetAsync(a.workspace, 0, total, stream));
  const unsigned block = 32 * kWarpsPerBlock;
  const size_t smem = sizeof(int32_t) * 2 * a.window * kWarpsPerBlock;
  const int64_t batch = a.workers > 0 ? a.workers : 1;
  // apply: enough warps for a batch's rows without idling most of them on small batches.
  const unsigned apply_grid = grid_for(std::min<int64_t>(batch * 16, 1 << 16) * 32, block);
  for (int64_t p = bounds[0]; p < bounds[1]; p += batch) {
    const int64_t p_end = p + batch < bounds[1] ? p + batch : bounds[1];
    DK_LAUNCH(compute_kernel<T>, grid_for((p_end - p) * 32, block), block, smem, stream)(a, d, p, p_end);
    DK_CUDA_CHECK_LAUNCH();
    DK_LAUNCH(apply_kernel<T>, apply_grid, block, 0, stream)(a, d);
    DK_CUDA_CHECK_LAUNCH();
    DK_CUDA_CHECK(cudaMemsetAsync(d.count, 0, sizeof(int32_t) * kMatrices, stream));
  }
}

template void word2vec_train<float>(const Word2VecArgs<float>&, cudaStream_t);
template void word2vec_train<double>(const Word2VecArgs<double>&, cudaStream_t);

}  // namespace dk::cuda
