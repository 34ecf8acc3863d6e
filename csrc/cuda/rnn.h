#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "core/rnn_kind.h"

namespace dk::cuda {

// Same contracts as dk::cpu::rnn_forward / rnn_backward (csrc/cpu/rnn.h), on `stream`.
// lengths, when given, lives on the device.
template <typename T>
void rnn_forward(Cell cell, const RnnSeq<T>& s, T* hs, T* cs, T* saved, T* work, cudaStream_t stream);

template <typename T>
void rnn_backward(Cell cell, const RnnSeq<T>& s, const T* hs, const T* cs, const T* saved, const T* grad_hs,
                  const T* grad_hn, const T* grad_cn, T* dx, T* dh0, T* dc0, T* dw_ih, T* dw_hh, T* db_ih,
                  T* db_hh, T* work, cudaStream_t stream);

}  // namespace dk::cuda
