// word2vec's random choices as pure functions of (seed, epoch, token position), shared by the
// CPU and CUDA kernels and mirrored by deepkern.reference.word2vec_train.
//
// Every token of the corpus owns `2 + negative` consecutive counter draws (core/counter_rng.h)
// in the stream of its epoch: draw 0 decides whether frequent-word subsampling keeps it, draw 1
// shrinks its window, draws 2.. pick its negative samples. Because no draw depends on which
// thread, block or call reaches the token first, the single-thread CPU kernel, the CUDA kernel
// and the NumPy reference make identical choices, and Hogwild runs differ from the
// single-thread run only through the order of their updates.
//
// Negative samples come from the unigram^0.75 distribution through Walker's alias table:
// bucket b = floor(u * V) for a uniform 32-bit u; the bucket's own word when a second 32-bit
// draw is below threshold[b] (a probability scaled by 2^32), else alias[b]. Two lookups per
// sample, and the distribution is exact up to the 2^-32 quantization of the thresholds.
#pragma once
#include <cstdint>

#include "core/counter_rng.h"

namespace dk::w2v {

// The draw stream of one epoch.
DK_HOST_DEVICE uint64_t epoch_stream(uint64_t seed, int64_t epoch) {
  return counter_draw(seed, static_cast<uint64_t>(epoch));
}

// Draw `slot` of the token at corpus position `pos`; each token owns `slots` draws.
DK_HOST_DEVICE uint64_t token_draw(uint64_t stream, int64_t pos, int slots, int slot) {
  return counter_draw(stream, static_cast<uint64_t>(pos) * static_cast<uint64_t>(slots) + static_cast<uint64_t>(slot));
}

// Subsampling: the token is kept when its 32-bit draw is below keep_threshold[word]
// (the keep probability times 2^32; 2^32 keeps every occurrence).
DK_HOST_DEVICE bool keep(uint64_t stream, int64_t pos, int slots, int64_t threshold) {
  return static_cast<int64_t>(token_draw(stream, pos, slots, 0) >> 32) < threshold;
}

// The window actually used around the token: window - b for b uniform in [0, window).
DK_HOST_DEVICE int effective_window(uint64_t stream, int64_t pos, int slots, int window) {
  return window - static_cast<int>((token_draw(stream, pos, slots, 1) >> 32) % static_cast<uint64_t>(window));
}

// The k-th negative sample (k < negative) drawn for the token at `pos`.
DK_HOST_DEVICE int32_t noise_word(uint64_t stream, int64_t pos, int slots, int k, const int64_t* threshold,
                                  const int32_t* alias, int64_t vocab_size) {
  const uint64_t u = token_draw(stream, pos, slots, 2 + k);
  const int64_t bucket = static_cast<int64_t>(((u & 0xffffffffull) * static_cast<uint64_t>(vocab_size)) >> 32);
  return static_cast<int64_t>(u >> 32) < threshold[bucket] ? static_cast<int32_t>(bucket) : alias[bucket];
}

// Linearly decaying learning rate at a sentence starting `done` words into `total` words of
// training (all epochs): alpha -> min_alpha, never below min_alpha. Computed in double.
DK_HOST_DEVICE double learning_rate(double alpha, double min_alpha, int64_t done, int64_t total) {
  const double a = alpha - (alpha - min_alpha) * (static_cast<double>(done) / static_cast<double>(total));
  return a > min_alpha ? a : min_alpha;
}

}  // namespace dk::w2v
