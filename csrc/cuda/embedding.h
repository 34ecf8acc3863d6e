#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace dk::cuda {

// Same contracts as dk::cpu::embedding_forward / embedding_backward (V = rows of weight), on
// `stream`. Out-of-range
// ids (which the Python layer rejects before launching) read as zero rows in the forward pass
// and are skipped in the backward pass, so no call can touch memory outside the arrays.
// embedding_backward sums with atomicAdd: the order of the additions into one row, and hence
// the last bits of a row hit by several ids, may differ between runs.
template <typename T>
void embedding_forward(const T* weight, const int64_t* ids, T* out, int64_t n, int64_t V, int64_t D,
                       cudaStream_t stream);
template <typename T>
void embedding_backward(const T* grad_out, const int64_t* ids, T* grad_weight, int64_t n, int64_t V, int64_t D,
                        int64_t padding_idx, cudaStream_t stream);

}  // namespace dk::cuda
