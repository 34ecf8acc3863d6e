#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "core/loss_kind.h"

namespace dk::cuda {

// Same contracts as the dk::cpu functions of cpu/loss.h, on `stream`. Labels live on the
// GPU and are checked by deepkern.ops before the launch; a label outside [0, C) that is not
// ignore_index still never indexes out of bounds: its row's loss and gradient are NaN.
template <typename T>
void cross_entropy_forward(const T* logits, const int64_t* target, const T* weight, T* loss, T* row_max,
                           T* row_logsum, int64_t outer, int64_t C, int64_t inner, int64_t ignore_index,
                           cudaStream_t stream);
template <typename T>
void cross_entropy_backward(const T* logits, const int64_t* target, const T* weight, const T* row_max,
                            const T* row_logsum, const T* g, bool g_per_row, T* grad, int64_t outer, int64_t C,
                            int64_t inner, int64_t ignore_index, cudaStream_t stream);
template <typename T>
void pointwise_loss_forward(PointwiseLoss kind, const T* a, const T* b, const T* weight, const T* pos_weight,
                            T param, T* out, int64_t n, cudaStream_t stream);
template <typename T>
void pointwise_loss_backward(PointwiseLoss kind, const T* a, const T* b, const T* weight, const T* pos_weight,
                             T param, const T* g, bool g_per_elem, T* grad, int64_t n, cudaStream_t stream);

}  // namespace dk::cuda
