#pragma once
#include <cstdint>

#include "core/rnn_kind.h"

namespace dk::cpu {

// One layer, one direction of an Elman RNN / GRU / LSTM over a whole sequence (PyTorch's gate
// layouts). Writes hs (steps, batch, H): the state after each step (a row that skips step t
// because t >= lengths[b] carries its previous state); for LSTM also cs (steps, batch, H);
// for GRU/LSTM `saved` (steps, batch, 4H): the gate activations backward reads. `work` holds
// rnn_forward_workspace(...) elements. The final state is hs[steps-1] (hs[0] when reverse).
template <typename T>
void rnn_forward(Cell cell, const RnnSeq<T>& s, T* hs, T* cs, T* saved, T* work);

// Backpropagation through time for rnn_forward. grad_hs (steps, batch, H) is the gradient of
// the output sequence (entries of skipped steps are ignored: the output there is a constant
// 0), grad_hn / grad_cn (batch, H) of the final states; any may be null (zero). Writes dx
// (steps, batch, input), dh0, dc0 (LSTM), dw_ih, dw_hh, and db_ih, db_hh unless null. `work`
// holds rnn_backward_workspace(...) elements.
template <typename T>
void rnn_backward(Cell cell, const RnnSeq<T>& s, const T* hs, const T* cs, const T* saved, const T* grad_hs,
                  const T* grad_hn, const T* grad_cn, T* dx, T* dh0, T* dc0, T* dw_ih, T* dw_hh, T* db_ih,
                  T* db_hh, T* work);

}  // namespace dk::cpu
