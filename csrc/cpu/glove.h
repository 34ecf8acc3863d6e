#pragma once
#include <cstdint>

#include "core/glove_params.h"

namespace dk::cpu {

// Writes one record per pair of tokens at distance <= window within a sentence of
// corpus[starts[s] : starts[s + 1]] (s < num_sentences): keys[k] = min * V + max of the two word
// ids, values[k] = 1/d (2/d for a word next to itself). Returns the number of records; keys /
// values must hold that many (sum over sentences of the pairs within the window).
int64_t glove_pairs(const int32_t* corpus, const int64_t* starts, int64_t num_sentences, int64_t window,
                    int64_t vocab_size, int64_t* keys, double* values);

// Sorts n records by key (keys in [0, key_bound)) and sums the values of equal keys; the m
// distinct keys and their sums end up in keys[:m], values[:m]; returns m. scratch_* hold n each.
int64_t glove_sort_reduce(int64_t* keys, double* values, int64_t n, int64_t key_bound, int64_t* scratch_keys,
                          double* scratch_values);

// One pass of GloVe's AdaGrad over the pairs of `a` (core/glove_params.h), in place.
template <typename T>
void glove_train(const GloveArgs<T>& a);

// Scratch bytes glove_train needs in a.workspace: none on the CPU.
int64_t glove_workspace_size(int64_t vocab_size, int64_t dim, int64_t itemsize);

}  // namespace dk::cpu
