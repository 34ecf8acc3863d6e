#pragma once
#include <cstdint>

namespace dk::cpu {

// out[i, :] = weight[ids[i], :] for i < n. weight is (V, D), ids (n,) with 0 <= ids[i] < V
// (checked by the caller), out (n, D); all contiguous.
template <typename T>
void embedding_forward(const T* weight, const int64_t* ids, T* out, int64_t n, int64_t V, int64_t D);

// grad_weight[v, :] = sum over i with ids[i] == v of grad_out[i, :]; rows never referenced,
// and the row padding_idx (when >= 0), are zero. grad_out is (n, D), grad_weight (V, D),
// overwritten. Deterministic: each row is summed in increasing i.
template <typename T>
void embedding_backward(const T* grad_out, const int64_t* ids, T* grad_weight, int64_t n, int64_t V, int64_t D,
                        int64_t padding_idx);

}  // namespace dk::cpu
