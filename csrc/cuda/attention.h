#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "core/attention_params.h"

namespace dk::cuda {

// Same contracts as dk::cpu::attention_forward / attention_backward (csrc/cpu/attention.h), on
// `stream`. A mask_index outside [0, d.M) (only possible in a direct call, the values live on
// the device) makes that item's keys all forbidden.
// The backward takes a (batch, L) workspace `delta`.
template <typename T>
void attention_forward(const AttnDims& d, const T* q, const T* k, const T* v, AttnMask mask_kind, const void* mask,
                       const int64_t* mask_index, bool causal, T scale, T* out, double* lse, cudaStream_t stream);

template <typename T>
void attention_backward(const AttnDims& d, const T* q, const T* k, const T* v, const T* out, const double* lse,
                        const T* grad_out, AttnMask mask_kind, const void* mask, const int64_t* mask_index,
                        bool causal, T scale, T* delta, T* dq, T* dk, T* dv, cudaStream_t stream);

}  // namespace dk::cuda
