#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "core/word2vec_params.h"

namespace dk::cuda {

// Same contract as dk::cpu::word2vec_train (csrc/cpu/word2vec.h), on `stream`; a.workspace
// holds word2vec_workspace_size() bytes, a.stats is device memory. a.workers is the number of
// consecutive corpus positions per synchronous batch (1: the sequential order).
template <typename T>
void word2vec_train(const Word2VecArgs<T>& a, cudaStream_t stream);

int64_t word2vec_workspace_size(int64_t vocab_size, int64_t dim, bool hs, int negative, int64_t itemsize);

}  // namespace dk::cuda
