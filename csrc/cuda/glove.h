#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "core/glove_params.h"

namespace dk::cuda {

// Same contract as dk::cpu::glove_train (csrc/cpu/glove.h), on `stream`; a.workspace holds
// glove_workspace_size() bytes, a.stats is device memory. a.workers is the number of pairs per
// synchronous batch (1: the pairs in order). The co-occurrence counting runs on the CPU only.
template <typename T>
void glove_train(const GloveArgs<T>& a, cudaStream_t stream);

int64_t glove_workspace_size(int64_t vocab_size, int64_t dim, int64_t itemsize);

}  // namespace dk::cuda
