// The word2vec training call shared by the CPU and CUDA kernels (csrc/{cpu,cuda}/word2vec.*):
// one call trains on a range of sentences, updating the weights in place.
#pragma once
#include <cstdint>

namespace dk {

template <typename T>
struct Word2VecArgs {
  // Weights, updated in place. V words, D dimensions.
  T* syn0;     // (V, D) input ("word") vectors: wv.vectors
  T* syn1neg;  // (V, D) output vectors of negative sampling (unused when negative == 0)
  T* syn1;     // (V - 1, D) vectors of the Huffman tree's inner nodes (unused when !hs)

  // The corpus: word ids in [0, V), sentences back to back. The call trains the sentences
  // corpus[sentence_starts[s] : sentence_starts[s + 1]] for s < num_sentences; offsets are
  // absolute positions in the corpus (they key the random draws and the learning rate).
  const int32_t* corpus;
  const int64_t* sentence_starts;  // (num_sentences + 1,)
  int64_t num_sentences;

  // Vocabulary tables, (V,) each (core/word2vec_sampling.h).
  const int64_t* keep_threshold;   // subsampling: keep probability * 2^32
  const int64_t* noise_threshold;  // alias table of the unigram^0.75 noise distribution
  const int32_t* noise_alias;
  // Huffman tree: word w's path from the root is hs_points[w, :hs_lengths[w]] (inner nodes,
  // rows of syn1) with branch bits hs_codes[w, :hs_lengths[w]]; the label of a node is 1 - code.
  const int32_t* hs_points;  // (V, hs_max_length)
  const uint8_t* hs_codes;   // (V, hs_max_length)
  const int32_t* hs_lengths;  // (V,)
  int64_t hs_max_length;

  int64_t vocab_size, dim;
  bool sg;         // skip-gram (true) or CBOW (false)
  bool hs;         // hierarchical softmax
  bool cbow_mean;  // CBOW input: mean (true) or sum (false) of the context vectors
  int window;      // maximal window; the one used around each word is drawn in [1, window]
  int negative;    // negative samples per word (0: none)

  // Learning rate alpha -> min_alpha linearly over total_words, at a sentence starting at
  // corpus offset o: words_before + o words are done (words_before = epoch * corpus length).
  double alpha, min_alpha;
  int64_t words_before, total_words;
  uint64_t seed;
  int64_t epoch;

  // Parallelism. CPU: threads (Hogwild, lock-free). CUDA: center words whose updates are
  // computed from the same weights before any is applied. 1 on either: one center word after
  // another, exactly the NumPy reference's order.
  int workers;
  bool compute_loss;
  uint8_t* workspace;  // CUDA: word2vec_workspace_size() bytes of scratch; CPU: unused
  double* stats;  // (2,) out: [words kept by subsampling, summed loss (0 unless compute_loss)]
};

}  // namespace dk
