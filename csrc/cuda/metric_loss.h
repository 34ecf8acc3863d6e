#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "core/triplet_mining.h"

namespace dk::cuda {

// The metric-learning losses of csrc/cpu/metric_loss.h on `stream` (same arguments, device
// pointers; scale and g are device arrays), same definitions and tie rules.

template <typename T>
void triplet_mining_forward(const T* dist, const int64_t* labels, T* row_loss, int64_t* row_count, int64_t N,
                            T margin, TripletMining mining, cudaStream_t stream);

template <typename T>
void triplet_mining_backward(const T* dist, const int64_t* labels, const T* scale, T* grad_dist, int64_t N, T margin,
                             TripletMining mining, cudaStream_t stream);

template <typename T>
void contrastive_loss_forward(const T* x1, const T* x2, const T* target, T* loss, T* dist, int64_t N, int64_t M,
                              T margin, cudaStream_t stream);

template <typename T>
void contrastive_loss_backward(const T* g, bool g_per_row, const T* x1, const T* x2, const T* target, const T* dist,
                               T* gx1, int64_t N, int64_t M, T margin, cudaStream_t stream);

}  // namespace dk::cuda
