"""Recurrent cells and sequences (array in, array out): Elman RNN, GRU and LSTM.

Weights use PyTorch's layouts: ``w_ih`` (G*H, I), ``w_hh`` (G*H, H), ``b_ih``/``b_hh`` (G*H,),
with the gate blocks stacked in PyTorch's order. In the course's notation (a⟨t⟩ the state,
c⟨t⟩ the memory cell):

- LSTM, blocks i, f, g, o:  Γi = σ(W_ii x + b_ii + W_hi a⟨t−1⟩ + b_hi) (input/update gate),
  Γf (forget), c̃ = tanh(W_ig x + ... ) (the candidate g), Γo (output);
  c⟨t⟩ = Γf * c⟨t−1⟩ + Γi * c̃,  a⟨t⟩ = Γo * tanh(c⟨t⟩).
- GRU, blocks r, z, n:  Γr = r = σ(...), PyTorch's z gates the *old* state, so the course's
  update gate is Γu = 1 − z;  c̃ = n = tanh(W_in x + b_in + Γr * (W_hn a⟨t−1⟩ + b_hn));
  a⟨t⟩ = (1 − z) * n + z * a⟨t−1⟩ = Γu * c̃ + (1 − Γu) * a⟨t−1⟩.
- Elman: a⟨t⟩ = tanh (or relu)(W_ih x + b_ih + W_hh a⟨t−1⟩ + b_hh).

Sequence ops (``*_forward`` / ``*_backward``) run one layer in one direction over x (T, B, I):
the input projection of all T steps is one GEMM, then per step one recurrent GEMM and one
fused kernel (gate nonlinearities + state update, saving what backward needs); backward is
BPTT with the weight gradients as single GEMMs over the sequence. ``lengths`` (B,) makes row b
take only steps t < lengths[b]: its output is 0 at later steps and its final state is the
state after its last real step (the reverse direction starts at each row's last real step).
The cell ops are the sequence ops with T = 1.
"""
from __future__ import annotations

import numpy as np

from .. import _checks
from .._backend import array_module, is_array, kernels, scratch

_GATES = {"rnn_tanh": 1, "rnn_relu": 1, "gru": 3, "lstm": 4}
_SAVED = {"rnn_tanh": 0, "rnn_relu": 0, "gru": 4, "lstm": 4}


def _elman(op, nonlinearity):
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"{op}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    return "rnn_" + nonlinearity


def _lengths(op, lengths, steps, batch, xp):
    """lengths as a contiguous int64 array on the data's device, each in [1, steps]."""
    if lengths is None:
        return None
    host = lengths.get() if (is_array(lengths) and array_module(lengths) is not np) else lengths
    host = np.asarray(host)
    if host.dtype.kind not in "iu":
        raise TypeError(f"{op}: lengths must be integers, got dtype {host.dtype}")
    if host.shape != (batch,):
        raise ValueError(f"{op}: lengths must have shape ({batch},) (one per batch row), got {host.shape}")
    if batch and (host.min() < 1 or host.max() > steps):
        raise ValueError(f"{op}: lengths must be in [1, {steps}] (the sequence length), got min "
                         f"{host.min()} and max {host.max()}")
    return xp.asarray(host.astype(np.int64))


def _inputs(op, cell, x, h0, c0, w_ih, w_hh, b_ih, b_hh, x_ndim=3):
    """Validate a call's inputs; returns (xp, arrays, (T, B, I, H)). x is (T, B, I) or (B, I)."""
    xp, arrs = _checks.arrays(op, x=x, h0=h0, c0=c0, w_ih=w_ih, w_hh=w_hh, b_ih=b_ih, b_hh=b_hh)
    x, h0, c0, w_ih, w_hh, b_ih, b_hh = arrs
    _checks.ndim(op, "x", x, x_ndim, "(T, B, input_size)" if x_ndim == 3 else "(B, input_size)")
    _checks.ndim(op, "w_hh", w_hh, 2, "(gates*hidden_size, hidden_size)")
    G = _GATES[cell]
    H = w_hh.shape[1]
    if H < 1:
        raise ValueError(f"{op}: hidden size must be >= 1, got w_hh.shape={tuple(w_hh.shape)}")
    _checks.shape(op, "w_hh", w_hh, (G * H, H))
    _checks.ndim(op, "w_ih", w_ih, 2, "(gates*hidden_size, input_size)")
    if w_ih.shape != (G * H, x.shape[-1]):
        raise ValueError(f"{op}: w_ih must have shape {(G * H, x.shape[-1])} (gates*hidden, input_size), "
                         f"got {tuple(w_ih.shape)} (x.shape={tuple(x.shape)})")
    B = x.shape[-2]
    _checks.shape(op, "h0" if x_ndim == 3 else "h", h0, (B, H))
    if c0 is not None:
        _checks.shape(op, "c0" if x_ndim == 3 else "c", c0, (B, H))
    for name, b in (("b_ih", b_ih), ("b_hh", b_hh)):
        if b is not None:
            _checks.shape(op, name, b, (G * H,))
    T = x.shape[0] if x_ndim == 3 else 1
    return xp, (x, h0, c0, w_ih, w_hh, b_ih, b_hh), (T, B, x.shape[-1], H)


def _run_forward(op, cell, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, reverse):
    xp, (x, h0, c0, w_ih, w_hh, b_ih, b_hh), (T, B, I, H) = _inputs(op, cell, x, h0, c0, w_ih, w_hh, b_ih, b_hh)
    lengths = _lengths(op, lengths, T, B, xp)
    k = kernels(xp)
    hs = xp.empty((T, B, H), dtype=x.dtype)
    cs = xp.empty((T, B, H), dtype=x.dtype) if cell == "lstm" else None
    saved = xp.empty((T, B, _SAVED[cell] * H), dtype=x.dtype) if _SAVED[cell] else None
    n_work = k.rnn_workspace_size(cell, T, B, H, False)
    work = scratch(xp, n_work, x.dtype) if n_work else None
    k.rnn_forward(cell, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, bool(reverse), hs, cs, saved, work)
    last = 0 if reverse else T - 1
    h_n = hs[last].copy() if T else h0.copy()
    c_n = (cs[last].copy() if T else c0.copy()) if cell == "lstm" else None
    if lengths is None:
        output = hs
    else:
        mask = xp.arange(T)[:, None] < lengths[None, :]
        output = hs * mask[:, :, None].astype(x.dtype)
    saved_all = tuple(a for a in (hs, cs, saved) if a is not None)
    return output, h_n, c_n, saved_all


def _run_backward(op, cell, grad_output, grad_h_n, grad_c_n, x, h0, c0, w_ih, w_hh, saved, lengths, reverse,
                  need_bias):
    xp, (x, h0, c0, w_ih, w_hh, _, _), (T, B, I, H) = _inputs(op, cell, x, h0, c0, w_ih, w_hh, None, None)
    lengths = _lengths(op, lengths, T, B, xp)
    n_saved = 1 + (cell == "lstm") + (_SAVED[cell] > 0)
    if not isinstance(saved, tuple) or len(saved) != n_saved:
        raise ValueError(f"{op}: saved must be the tuple of {n_saved} arrays returned by the forward op")
    names = {"grad_output": grad_output, "grad_h_n": grad_h_n, "grad_c_n": grad_c_n}
    names.update({f"saved[{i}]": s for i, s in enumerate(saved)})
    _, arrs = _checks.arrays(op, x=x, **names)
    grad_output, grad_h_n, grad_c_n, *saved = arrs[1:]
    hs = saved[0]
    cs = saved[1] if cell == "lstm" else None
    gates = saved[-1] if _SAVED[cell] else None
    expected = [("saved[0] (hs)", hs, (T, B, H)), ("saved[1] (cs)", cs, (T, B, H)),
                ("saved[-1] (gates)", gates, (T, B, _SAVED[cell] * H)), ("grad_output", grad_output, (T, B, H)),
                ("grad_h_n", grad_h_n, (B, H)), ("grad_c_n", grad_c_n, (B, H))]
    for name, a, shape in expected:
        if a is not None:
            _checks.shape(op, name, a, shape)
    if grad_c_n is not None and cell != "lstm":
        raise ValueError(f"{op}: grad_c_n is for lstm only")
    k = kernels(xp)
    G = _GATES[cell]
    dx = xp.empty_like(x)
    dh0 = xp.empty_like(h0)
    dc0 = xp.empty_like(c0) if cell == "lstm" else None
    dw_ih, dw_hh = xp.empty_like(w_ih), xp.empty_like(w_hh)
    db_ih = xp.empty(G * H, dtype=x.dtype) if need_bias else None
    db_hh = xp.empty(G * H, dtype=x.dtype) if need_bias else None
    n_work = k.rnn_workspace_size(cell, T, B, H, True)
    work = scratch(xp, n_work, x.dtype) if n_work else None
    k.rnn_backward(cell, x, h0, c0, w_ih, w_hh, lengths, bool(reverse), hs, cs, gates, grad_output, grad_h_n,
                   grad_c_n, dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh, work)
    return dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh


# ---- sequences ---------------------------------------------------------------------------------

def rnn_forward(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh", lengths=None, reverse=False):
    """Elman RNN over a sequence. x (T, B, I), h0 (B, H) -> (output (T, B, H), h_n (B, H), saved).

    ``saved`` = (hs,), the state after every step, for ``rnn_backward``.
    """
    cell = _elman("rnn_forward", nonlinearity)
    out, h_n, _, saved = _run_forward("rnn_forward", cell, x, h0, None, w_ih, w_hh, b_ih, b_hh, lengths, reverse)
    return out, h_n, saved


def gru_forward(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, lengths=None, reverse=False):
    """GRU over a sequence. x (T, B, I), h0 (B, H) -> (output (T, B, H), h_n (B, H), saved).

    ``saved`` = (hs (T, B, H), gates (T, B, 4H) = r, z, n, W_hn h + b_hn) for ``gru_backward``.
    """
    out, h_n, _, saved = _run_forward("gru_forward", "gru", x, h0, None, w_ih, w_hh, b_ih, b_hh, lengths, reverse)
    return out, h_n, saved


def lstm_forward(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, lengths=None, reverse=False):
    """LSTM over a sequence. x (T, B, I), h0, c0 (B, H) -> (output (T, B, H), h_n, c_n, saved).

    ``saved`` = (hs, cs (T, B, H), gates (T, B, 4H) = Γi, Γf, c̃, Γo) for ``lstm_backward``.
    """
    return _run_forward("lstm_forward", "lstm", x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, reverse)


def rnn_backward(grad_output, grad_h_n, x, h0, w_ih, w_hh, saved, nonlinearity="tanh", lengths=None,
                 reverse=False, need_bias=True):
    """Gradients of rnn_forward (either grad may be None):
    (dx (T, B, I), dh0 (B, H), dw_ih, dw_hh, db_ih, db_hh) — the bias grads None unless need_bias."""
    cell = _elman("rnn_backward", nonlinearity)
    dx, dh0, _, dw_ih, dw_hh, db_ih, db_hh = _run_backward(
        "rnn_backward", cell, grad_output, grad_h_n, None, x, h0, None, w_ih, w_hh, saved, lengths, reverse,
        need_bias)
    return dx, dh0, dw_ih, dw_hh, db_ih, db_hh


def gru_backward(grad_output, grad_h_n, x, h0, w_ih, w_hh, saved, lengths=None, reverse=False, need_bias=True):
    """Gradients of gru_forward: (dx, dh0, dw_ih, dw_hh, db_ih, db_hh)."""
    dx, dh0, _, dw_ih, dw_hh, db_ih, db_hh = _run_backward(
        "gru_backward", "gru", grad_output, grad_h_n, None, x, h0, None, w_ih, w_hh, saved, lengths, reverse,
        need_bias)
    return dx, dh0, dw_ih, dw_hh, db_ih, db_hh


def lstm_backward(grad_output, grad_h_n, grad_c_n, x, h0, c0, w_ih, w_hh, saved, lengths=None, reverse=False,
                  need_bias=True):
    """Gradients of lstm_forward: (dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh)."""
    return _run_backward("lstm_backward", "lstm", grad_output, grad_h_n, grad_c_n, x, h0, c0, w_ih, w_hh, saved,
                         lengths, reverse, need_bias)


# ---- cells: the sequence kernels with T = 1 -------------------------------------------------------

def _cell_inputs(op, cell, x, h, c, w_ih, w_hh, b_ih=None, b_hh=None):
    xp, arrs, _ = _inputs(op, cell, x, h, c, w_ih, w_hh, b_ih, b_hh, x_ndim=2)
    return arrs


def rnn_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    """One Elman step: x (B, I), h (B, H) -> h_new (B, H) = act(W_ih x + b_ih + W_hh h + b_hh)."""
    op = "rnn_cell"
    cell = _elman(op, nonlinearity)
    x, h, _, w_ih, w_hh, b_ih, b_hh = _cell_inputs(op, cell, x, h, None, w_ih, w_hh, b_ih, b_hh)
    _, h_new, _, _ = _run_forward(op, cell, x[None], h, None, w_ih, w_hh, b_ih, b_hh, None, False)
    return h_new


def gru_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None, return_gates=False):
    """One GRU step: x (B, I), h (B, H) -> h_new (B, H) (see the module docstring for the gates).

    With ``return_gates`` also the saved activations (B, 4H) = r, z, n, W_hn h + b_hn that
    ``gru_cell_backward`` reads.
    """
    op = "gru_cell"
    x, h, _, w_ih, w_hh, b_ih, b_hh = _cell_inputs(op, "gru", x, h, None, w_ih, w_hh, b_ih, b_hh)
    _, h_new, _, (_, gates) = _run_forward(op, "gru", x[None], h, None, w_ih, w_hh, b_ih, b_hh, None, False)
    return (h_new, gates[0]) if return_gates else h_new


def lstm_cell(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None, return_gates=False):
    """One LSTM step: x (B, I), h, c (B, H) -> (h_new, c_new) (B, H) each.

    With ``return_gates`` also the gate activations (B, 4H) = Γi, Γf, c̃, Γo that
    ``lstm_cell_backward`` reads.
    """
    op = "lstm_cell"
    x, h, c, w_ih, w_hh, b_ih, b_hh = _cell_inputs(op, "lstm", x, h, c, w_ih, w_hh, b_ih, b_hh)
    _, h_new, c_new, (_, _, gates) = _run_forward(op, "lstm", x[None], h, c, w_ih, w_hh, b_ih, b_hh, None, False)
    return (h_new, c_new, gates[0]) if return_gates else (h_new, c_new)


def rnn_cell_backward(grad_h, x, h, w_ih, w_hh, h_new, nonlinearity="tanh", need_bias=True):
    """Gradients of rnn_cell: (dx (B, I), dh (B, H), dw_ih, dw_hh, db_ih, db_hh)."""
    op = "rnn_cell_backward"
    cell = _elman(op, nonlinearity)
    x, h, _, w_ih, w_hh, _, _ = _cell_inputs(op, cell, x, h, None, w_ih, w_hh)
    dx, dh, _, dw_ih, dw_hh, db_ih, db_hh = _run_backward(
        op, cell, None, grad_h, None, x[None], h, None, w_ih, w_hh, (h_new[None],), None, False, need_bias)
    return dx[0], dh, dw_ih, dw_hh, db_ih, db_hh


def gru_cell_backward(grad_h, x, h, w_ih, w_hh, h_new, gates, need_bias=True):
    """Gradients of gru_cell from its saved gates: (dx, dh, dw_ih, dw_hh, db_ih, db_hh)."""
    op = "gru_cell_backward"
    x, h, _, w_ih, w_hh, _, _ = _cell_inputs(op, "gru", x, h, None, w_ih, w_hh)
    dx, dh, _, dw_ih, dw_hh, db_ih, db_hh = _run_backward(
        op, "gru", None, grad_h, None, x[None], h, None, w_ih, w_hh, (h_new[None], gates[None]), None, False,
        need_bias)
    return dx[0], dh, dw_ih, dw_hh, db_ih, db_hh


def lstm_cell_backward(grad_h, grad_c, x, h, c, w_ih, w_hh, h_new, c_new, gates, need_bias=True):
    """Gradients of lstm_cell from its saved gates: (dx, dh, dc, dw_ih, dw_hh, db_ih, db_hh)."""
    op = "lstm_cell_backward"
    x, h, c, w_ih, w_hh, _, _ = _cell_inputs(op, "lstm", x, h, c, w_ih, w_hh)
    dx, dh, dc, dw_ih, dw_hh, db_ih, db_hh = _run_backward(
        op, "lstm", None, grad_h, grad_c, x[None], h, c, w_ih, w_hh, (h_new[None], c_new[None], gates[None]),
        None, False, need_bias)
    return dx[0], dh, dc, dw_ih, dw_hh, db_ih, db_hh
