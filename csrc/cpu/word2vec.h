#pragma once
#include <cstdint>

#include "core/word2vec_params.h"

namespace dk::cpu {

// Trains word2vec on the sentences of `a` (core/word2vec_params.h), updating a.syn0 and
// a.syn1neg / a.syn1 in place; writes a.stats.
template <typename T>
void word2vec_train(const Word2VecArgs<T>& a);

// Scratch bytes word2vec_train needs in a.workspace: none on the CPU.
int64_t word2vec_workspace_size(int64_t vocab_size, int64_t dim, bool hs, int negative, int64_t itemsize);

}  // namespace dk::cpu
