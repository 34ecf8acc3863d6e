#pragma once
#include <cstdint>

#include "core/attention_params.h"

namespace dk::cpu {

// Fused scaled dot-product attention, forward: for each batch item b and query row i,
// lse is float64 whatever T is (see attention.cpp).
//   s_ij = scale * <q_i, k_j> (+ mask_ij if additive; -inf where a boolean mask is 0 or, when
//   causal, where j > i), out_i = sum_j softmax_j(s_i) v_j, lse_i = log sum_j exp(s_ij).
// A row with every key forbidden gets out_i = 0 and lse_i = -inf. `mask` is nullptr when
// mask_kind is none; otherwise (M, L, S) uint8 (boolean) or T (additive), see AttnDims.
template <typename T>
void attention_forward(const AttnDims& d, const T* q, const T* k, const T* v, AttnMask mask_kind, const void* mask,
                       const int64_t* mask_index, bool causal, T scale, T* out, double* lse);

// Gradients of attention_forward wrt q, k and v, from the forward's out and lse
// (probabilities are recomputed tile by tile as exp(s - lse), never stored whole).
// delta is a (batch, L) workspace; dq, dk, dv have the shapes of q, k, v and are overwritten.
template <typename T>
void attention_backward(const AttnDims& d, const T* q, const T* k, const T* v, const T* out, const double* lse,
                        const T* grad_out, AttnMask mask_kind, const void* mask, const int64_t* mask_index,
                        bool causal, T scale, T* delta, T* dq, T* dk, T* dv);

}  // namespace dk::cpu
