// Recurrent cells shared by the CPU and CUDA rnn kernels: which cell, and the arguments of a
// sequence (one layer, one direction) — plain pointers and sizes, no allocation.
#pragma once
#include <cstdint>

namespace dk {

enum class Cell { rnn_tanh, rnn_relu, gru, lstm };

// Rows of W_ih / W_hh per hidden unit: 1 (Elman), 3 (GRU: r, z, n), 4 (LSTM: i, f, g, o).
constexpr int64_t cell_gates(Cell c) { return c == Cell::lstm ? 4 : c == Cell::gru ? 3 : 1; }

// Columns of the saved-activations array per hidden unit: the Elman cell saves nothing but
// its states; GRU saves r, z, n and W_hn h + b_hn; LSTM saves i, f, g, o.
constexpr int64_t cell_saved(Cell c) { return c == Cell::rnn_tanh || c == Cell::rnn_relu ? 0 : 4; }

// Scratch elements the sequence kernels need (CPU and CUDA alike): the forward GRU keeps
// W_hh h + b_hh of one step (batch, 3H); backward keeps the pre-activation gradients of every
// step, (steps, batch, G*H) — twice for GRU, whose input and recurrent halves differ in n.
constexpr int64_t rnn_forward_workspace(Cell c, int64_t steps, int64_t batch, int64_t hidden) {
  return c == Cell::gru && steps > 0 ? batch * 3 * hidden : 0;
}
constexpr int64_t rnn_backward_workspace(Cell c, int64_t steps, int64_t batch, int64_t hidden) {
  return (c == Cell::gru ? 2 : 1) * steps * batch * cell_gates(c) * hidden;
}

template <typename T>
struct RnnSeq {
  int64_t steps = 0, batch = 0, input = 0, hidden = 0;
  bool reverse = false;             // process t = steps-1 ... 0
  const int64_t* lengths = nullptr; // (batch,) or null: row b takes step t iff t < lengths[b]
  const T* x = nullptr;             // (steps, batch, input)
  const T* h0 = nullptr;            // (batch, hidden)
  const T* c0 = nullptr;            // (batch, hidden), LSTM only
  const T* w_ih = nullptr;          // (G*hidden, input)
  const T* w_hh = nullptr;          // (G*hidden, hidden)
  const T* b_ih = nullptr;          // (G*hidden,) or null
  const T* b_hh = nullptr;          // (G*hidden,) or null
};

}  // namespace dk
