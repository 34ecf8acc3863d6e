"""Differentiable recurrent cells and sequences over deepkern.ops.rnn.

``lstm`` / ``gru`` / ``rnn`` run one layer in one direction over a whole sequence as ONE
autograd Function (BPTT inside the backward kernel), not T small ones; ``*_cell`` are single
steps. Weights and gates follow PyTorch's layouts (see deepkern.ops.rnn for the course's
notation). ``lengths`` (B,) are integers (NumPy/CuPy/list): row b takes steps t < lengths[b].
The course's variants (simplified GRU, peephole and coupled LSTM) are single steps composed
from differentiable primitives (linear, sigmoid, tanh, arithmetic), not fused kernels.
"""
from __future__ import annotations

from .. import ops
from ..autograd import Function, Tensor
from .activation import sigmoid, tanh
from .linear import linear

class Sequence(Function):
    """One layer-direction over x (T, B, I): outputs (output, h_n) or (output, h_n, c_n)."""

    def forward(self, x, h0, c0, w_ih, w_hh, b_ih, b_hh, cell="lstm", lengths=None, reverse=False):
        self.cell, self.lengths, self.reverse = cell, lengths, reverse
        self.bias = (b_ih is not None, b_hh is not None)
        if cell == "lstm":
            out, h_n, c_n, saved = ops.lstm_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, reverse)
            self.save_for_backward(x, h0, c0, w_ih, w_hh, saved)
            return out, h_n, c_n
        if cell == "gru":
            out, h_n, saved = ops.gru_forward(x, h0, w_ih, w_hh, b_ih, b_hh, lengths, reverse)
        else:
            out, h_n, saved = ops.rnn_forward(x, h0, w_ih, w_hh, b_ih, b_hh, cell[4:], lengths, reverse)
        self.save_for_backward(x, h0, None, w_ih, w_hh, saved)
        return out, h_n

    def backward(self, g_out, g_hn, g_cn=None):
        x, h0, c0, w_ih, w_hh, saved = self.saved
        need_bias = any(self.bias)
        if self.cell == "lstm":
            dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh = ops.lstm_backward(
                g_out, g_hn, g_cn, x, h0, c0, w_ih, w_hh, saved, self.lengths, self.reverse, need_bias)
        else:
            dc0 = None
            if self.cell == "gru":
                dx, dh0, dw_ih, dw_hh, db_ih, db_hh = ops.gru_backward(
                    g_out, g_hn, x, h0, w_ih, w_hh, saved, self.lengths, self.reverse, need_bias)
            else:
                dx, dh0, dw_ih, dw_hh, db_ih, db_hh = ops.rnn_backward(
                    g_out, g_hn, x, h0, w_ih, w_hh, saved, self.cell[4:], self.lengths, self.reverse, need_bias)
        return (dx, dh0, dc0, dw_ih, dw_hh, db_ih if self.bias[0] else None, db_hh if self.bias[1] else None)


class Cell(Function):
    """One step: outputs h_new, or (h_new, c_new) for LSTM."""

    def forward(self, x, h, c, w_ih, w_hh, b_ih, b_hh, cell="lstm"):
        self.cell = cell
        self.bias = (b_ih is not None, b_hh is not None)
        if cell == "lstm":
            h_new, c_new, gates = ops.lstm_cell(x, h, c, w_ih, w_hh, b_ih, b_hh, return_gates=True)
            self.save_for_backward(x, h, c, w_ih, w_hh, h_new, c_new, gates)
            return h_new, c_new
        if cell == "gru":
            h_new, gates = ops.gru_cell(x, h, w_ih, w_hh, b_ih, b_hh, return_gates=True)
        else:
            h_new, gates = ops.rnn_cell(x, h, w_ih, w_hh, b_ih, b_hh, cell[4:]), None
        self.save_for_backward(x, h, None, w_ih, w_hh, h_new, None, gates)
        return h_new

    def backward(self, g_h, g_c=None):
        x, h, c, w_ih, w_hh, h_new, c_new, gates = self.saved
        need_bias = any(self.bias)
        dc = None
        if self.cell == "lstm":
            dx, dh, dc, dw_ih, dw_hh, db_ih, db_hh = ops.lstm_cell_backward(
                g_h, g_c, x, h, c, w_ih, w_hh, h_new, c_new, gates, need_bias)
        elif self.cell == "gru":
            dx, dh, dw_ih, dw_hh, db_ih, db_hh = ops.gru_cell_backward(g_h, x, h, w_ih, w_hh, h_new, gates,
                                                                       need_bias)
        else:
            dx, dh, dw_ih, dw_hh, db_ih, db_hh = ops.rnn_cell_backward(g_h, x, h, w_ih, w_hh, h_new, self.cell[4:],
                                                                       need_bias)
        return dx, dh, dc, dw_ih, dw_hh, db_ih if self.bias[0] else None, db_hh if self.bias[1] else None


def lstm(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, lengths=None, reverse=False):
    """LSTM layer-direction: x (T, B, I), h0, c0 (B, H) -> (output (T, B, H), h_n, c_n)."""
    return Sequence.apply(x, h0, c0, w_ih, w_hh, b_ih, b_hh, cell="lstm", lengths=lengths, reverse=reverse)


def gru(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, lengths=None, reverse=False):
    """GRU layer-direction: x (T, B, I), h0 (B, H) -> (output (T, B, H), h_n)."""
    return Sequence.apply(x, h0, None, w_ih, w_hh, b_ih, b_hh, cell="gru", lengths=lengths, reverse=reverse)


def rnn(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh", lengths=None, reverse=False):
    """Elman layer-direction (tanh or relu): x (T, B, I), h0 (B, H) -> (output (T, B, H), h_n)."""
    return Sequence.apply(x, h0, None, w_ih, w_hh, b_ih, b_hh, cell="rnn_" + str(nonlinearity), lengths=lengths,
                          reverse=reverse)


def _cell(x, h, c, w_ih, w_hh, b_ih, b_hh, cell):
    """A batch of steps; an unbatched x (I,) with h, c (H,) is a batch of one, as in PyTorch."""
    if x.ndim != 1:
        return Cell.apply(x, h, c, w_ih, w_hh, b_ih, b_hh, cell=cell)
    from .basic import reshape
    row = [None if s is None else reshape(s if isinstance(s, Tensor) else Tensor(s), (1, -1)) for s in (h, c)]
    out = Cell.apply(reshape(x, (1, -1)), row[0], row[1], w_ih, w_hh, b_ih, b_hh, cell=cell)
    return tuple(reshape(o, (-1,)) for o in out) if isinstance(out, tuple) else reshape(out, (-1,))


def lstm_cell(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step: x (B, I), h, c (B, H) -> (h_new, c_new); or unbatched x (I,), h, c (H,)."""
    return _cell(x, h, c, w_ih, w_hh, b_ih, b_hh, "lstm")


def gru_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """One GRU step: x (B, I), h (B, H) -> h_new; or unbatched x (I,), h (H,)."""
    return _cell(x, h, None, w_ih, w_hh, b_ih, b_hh, "gru")


def rnn_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    """One Elman step: x (B, I), h (B, H) -> h_new; or unbatched x (I,), h (H,)."""
    return _cell(x, h, None, w_ih, w_hh, b_ih, b_hh, "rnn_" + str(nonlinearity))


# ---- the course's variants: composed from differentiable primitives, one step at a time -----------

def simple_gru_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """Simplified GRU step, gate blocks (u, c) in w_ih (2H, I), w_hh (2H, H):
    Γu = σ(W_iu x + b_iu + W_hu a + b_hu), c̃ = tanh(W_ic x + b_ic + W_hc a + b_hc),
    a⟨t⟩ = Γu * c̃ + (1 − Γu) * a⟨t−1⟩. x (B, I), h (B, H) -> (B, H)."""
    H = h.shape[1]
    a = linear(x, w_ih, b_ih) + linear(h, w_hh, b_hh)
    u, c_tilde = sigmoid(a[:, :H]), tanh(a[:, H:])
    return u * c_tilde + (1 - u) * h


def peephole_lstm_cell(x, h, c, w_ih, w_hh, w_ch, b_ih=None, b_hh=None):
    """Peephole LSTM step (gates i, f, g, o as lstm_cell) with diagonal peepholes w_ch (3H,) =
    (p_i, p_f, p_o): Γi = σ(... + p_i * c⟨t−1⟩), Γf = σ(... + p_f * c⟨t−1⟩),
    c⟨t⟩ = Γf * c⟨t−1⟩ + Γi * c̃, Γo = σ(... + p_o * c⟨t⟩) (Gers), a⟨t⟩ = Γo * tanh(c⟨t⟩).
    -> (h_new, c_new)."""
    H = h.shape[1]
    a = linear(x, w_ih, b_ih) + linear(h, w_hh, b_hh)
    i = sigmoid(a[:, :H] + w_ch[:H] * c)
    f = sigmoid(a[:, H:2 * H] + w_ch[H:2 * H] * c)
    c_new = f * c + i * tanh(a[:, 2 * H:3 * H])
    o = sigmoid(a[:, 3 * H:] + w_ch[2 * H:] * c_new)
    return o * tanh(c_new), c_new


def coupled_lstm_cell(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None):
    """Coupled input-forget LSTM step, gate blocks (f, g, o) in w_ih (3H, I), w_hh (3H, H):
    Γi = 1 − Γf, c⟨t⟩ = Γf * c⟨t−1⟩ + (1 − Γf) * c̃, a⟨t⟩ = Γo * tanh(c⟨t⟩). -> (h_new, c_new)."""
    H = h.shape[1]
    a = linear(x, w_ih, b_ih) + linear(h, w_hh, b_hh)
    f, g, o = sigmoid(a[:, :H]), tanh(a[:, H:2 * H]), sigmoid(a[:, 2 * H:])
    c_new = f * c + (1 - f) * g
    return o * tanh(c_new), c_new
