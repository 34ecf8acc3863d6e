"""Pure-NumPy recurrent cells and sequences: the ground truth for deepkern.ops.rnn.

Same names and signatures as deepkern.ops.rnn, written step by step from the cell equations
(PyTorch's gate layouts: LSTM i, f, g, o; GRU r, z, n), dtype-generic (they run on long
double for the test baseline). Sequences loop over the cells; a row b with t >= lengths[b]
keeps its state and gets a zero output at step t.
"""
import numpy as np


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _affine(x, w, b):
    y = x @ w.T
    return y if b is None else y + b


def _act(nonlinearity):
    if nonlinearity == "tanh":
        return np.tanh
    return lambda a: np.maximum(a, 0)


def rnn_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    return _act(nonlinearity)(_affine(x, w_ih, b_ih) + _affine(h, w_hh, b_hh))


def gru_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None, return_gates=False):
    H = h.shape[1]
    gx, gh = _affine(x, w_ih, b_ih), _affine(h, w_hh, b_hh)
    r = _sigmoid(gx[:, :H] + gh[:, :H])
    z = _sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])
    ghn = gh[:, 2 * H:]
    n = np.tanh(gx[:, 2 * H:] + r * ghn)
    h_new = (1 - z) * n + z * h
    if return_gates:
        return h_new, np.concatenate([r, z, n, ghn], axis=1)
    return h_new


def lstm_cell(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None, return_gates=False):
    H = h.shape[1]
    a = _affine(x, w_ih, b_ih) + _affine(h, w_hh, b_hh)
    i, f = _sigmoid(a[:, :H]), _sigmoid(a[:, H:2 * H])
    g, o = np.tanh(a[:, 2 * H:3 * H]), _sigmoid(a[:, 3 * H:])
    c_new = f * c + i * g
    h_new = o * np.tanh(c_new)
    if return_gates:
        return h_new, c_new, np.concatenate([i, f, g, o], axis=1)
    return h_new, c_new


def _zeros_if_none(g, like):
    return np.zeros_like(like) if g is None else g


def _weight_grads(da_x, da_h, x, h, need_bias):
    db_ih = da_x.sum(axis=0) if need_bias else None
    db_hh = da_h.sum(axis=0) if need_bias else None
    return da_x.T @ x, da_h.T @ h, db_ih, db_hh


def rnn_cell_backward(grad_h, x, h, w_ih, w_hh, h_new, nonlinearity="tanh", need_bias=True):
    gh = _zeros_if_none(grad_h, h_new)
    da = gh * (1 - h_new * h_new) if nonlinearity == "tanh" else np.where(h_new > 0, gh, 0)
    return (da @ w_ih, da @ w_hh) + _weight_grads(da, da, x, h, need_bias)


def gru_cell_backward(grad_h, x, h, w_ih, w_hh, h_new, gates, need_bias=True):
    H = h.shape[1]
    gh = _zeros_if_none(grad_h, h_new)
    r, z, n, ghn = (gates[:, k * H:(k + 1) * H] for k in range(4))
    dan = gh * (1 - z) * (1 - n * n)
    dar = dan * ghn * r * (1 - r)
    daz = gh * (h - n) * z * (1 - z)
    da_x = np.concatenate([dar, daz, dan], axis=1)
    da_h = np.concatenate([dar, daz, dan * r], axis=1)
    return (da_x @ w_ih, da_h @ w_hh + gh * z) + _weight_grads(da_x, da_h, x, h, need_bias)


def lstm_cell_backward(grad_h, grad_c, x, h, c, w_ih, w_hh, h_new, c_new, gates, need_bias=True):
    H = h.shape[1]
    gh, gc = _zeros_if_none(grad_h, h_new), _zeros_if_none(grad_c, c_new)
    i, f, g, o = (gates[:, k * H:(k + 1) * H] for k in range(4))
    tc = np.tanh(c_new)
    dc = gc + gh * o * (1 - tc * tc)
    da = np.concatenate([dc * g * i * (1 - i), dc * c * f * (1 - f), dc * i * (1 - g * g),
                         gh * tc * o * (1 - o)], axis=1)
    return (da @ w_ih, da @ w_hh, dc * f) + _weight_grads(da, da, x, h, need_bias)


# ---- sequences (one layer, one direction) ------------------------------------------------------

def _active(lengths, t, batch):
    if lengths is None:
        return np.ones((batch, 1), dtype=bool)
    return (np.asarray(lengths) > t)[:, None]


def _order(steps, reverse, backward=False):
    forward_order = range(steps - 1, -1, -1) if reverse else range(steps)
    return list(forward_order)[::-1] if backward else list(forward_order)


def _masked_output(hs, lengths):
    if lengths is None:
        return hs
    mask = np.arange(hs.shape[0])[:, None] < np.asarray(lengths)[None, :]
    return np.where(mask[:, :, None], hs, 0).astype(hs.dtype)


def _sequence(step, x, states, lengths, reverse, n_saved):
    """Run ``step(x_t, *states) -> (*new_states, gates)`` over the sequence with masking."""
    T, B = x.shape[:2]
    H = states[0].shape[1]
    hs = np.zeros((T, B, H), dtype=x.dtype)
    cs = np.zeros((T, B, H), dtype=x.dtype) if len(states) == 2 else None
    gates = np.zeros((T, B, n_saved), dtype=x.dtype) if n_saved else None
    for t in _order(T, reverse):
        new = step(x[t], *states)
        act = _active(lengths, t, B)
        states = tuple(np.where(act, n, s) for n, s in zip(new[:len(states)], states))
        hs[t] = states[0]
        if cs is not None:
            cs[t] = states[1]
        if gates is not None:
            gates[t] = new[-1]
    return states, hs, cs, gates


def rnn_forward(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh", lengths=None, reverse=False):
    def step(xt, h):
        return (rnn_cell(xt, h, w_ih, w_hh, b_ih, b_hh, nonlinearity),)
    (h,), hs, _, _ = _sequence(step, x, (h0,), lengths, reverse, 0)
    return _masked_output(hs, lengths), h.copy(), (hs,)


def gru_forward(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, lengths=None, reverse=False):
    def step(xt, h):
        return gru_cell(xt, h, w_ih, w_hh, b_ih, b_hh, return_gates=True)
    (h,), hs, _, gates = _sequence(step, x, (h0,), lengths, reverse, 4 * h0.shape[1])
    return _masked_output(hs, lengths), h.copy(), (hs, gates)


def lstm_forward(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, lengths=None, reverse=False):
    def step(xt, h, c):
        return lstm_cell(xt, h, c, w_ih, w_hh, b_ih, b_hh, return_gates=True)
    (h, c), hs, cs, gates = _sequence(step, x, (h0, c0), lengths, reverse, 4 * h0.shape[1])
    return _masked_output(hs, lengths), h.copy(), c.copy(), (hs, cs, gates)


def _backward(cell_backward, grad_output, final_grads, x, init, w_ih, w_hh, saved, lengths, reverse,
              need_bias):
    """BPTT by cell backward steps: a row skipping step t passes its state gradients through."""
    T, B = x.shape[:2]
    hs = saved[0]
    grads = [np.zeros_like(s) if g is None else g.copy() for g, s in zip(final_grads, init)]
    dx = np.zeros_like(x)
    dw_ih, dw_hh = np.zeros_like(w_ih), np.zeros_like(w_hh)
    db_ih = np.zeros(w_ih.shape[0], dtype=x.dtype) if need_bias else None
    db_hh = np.zeros(w_ih.shape[0], dtype=x.dtype) if need_bias else None
    first = T - 1 if reverse else 0
    for t in _order(T, reverse, backward=True):
        tp = t + 1 if reverse else t - 1
        prev = init if t == first else tuple(s[tp] for s in saved[:len(init)])
        act = _active(lengths, t, B)
        g = [np.where(act, d, 0) for d in grads]
        if grad_output is not None:
            g[0] = g[0] + np.where(act, grad_output[t], 0)
        out = cell_backward(g, x[t], prev, t)
        n = len(init)
        dx[t] = out[0]
        d_prev = out[1:1 + n]
        dwi, dwh, dbi, dbh = out[1 + n:]
        dw_ih += dwi
        dw_hh += dwh
        if need_bias:
            db_ih += dbi
            db_hh += dbh
        grads = [dp + np.where(act, 0, d) for dp, d in zip(d_prev, grads)]
    return (dx, *grads, dw_ih, dw_hh, db_ih, db_hh)


def rnn_backward(grad_output, grad_h_n, x, h0, w_ih, w_hh, saved, nonlinearity="tanh", lengths=None,
                 reverse=False, need_bias=True):
    (hs,) = saved

    def cell(g, xt, prev, t):
        return rnn_cell_backward(g[0], xt, prev[0], w_ih, w_hh, hs[t], nonlinearity, need_bias)
    return _backward(cell, grad_output, (grad_h_n,), x, (h0,), w_ih, w_hh, saved, lengths, reverse, need_bias)


def gru_backward(grad_output, grad_h_n, x, h0, w_ih, w_hh, saved, lengths=None, reverse=False, need_bias=True):
    hs, gates = saved

    def cell(g, xt, prev, t):
        return gru_cell_backward(g[0], xt, prev[0], w_ih, w_hh, hs[t], gates[t], need_bias)
    return _backward(cell, grad_output, (grad_h_n,), x, (h0,), w_ih, w_hh, saved, lengths, reverse, need_bias)


def lstm_backward(grad_output, grad_h_n, grad_c_n, x, h0, c0, w_ih, w_hh, saved, lengths=None, reverse=False,
                  need_bias=True):
    hs, cs, gates = saved

    def cell(g, xt, prev, t):
        return lstm_cell_backward(g[0], g[1], xt, prev[0], prev[1], w_ih, w_hh, hs[t], cs[t], gates[t],
                                  need_bias)
    return _backward(cell, grad_output, (grad_h_n, grad_c_n), x, (h0, c0), w_ih, w_hh, saved, lengths, reverse,
                     need_bias)


# ---- the course's variants (run through deepkern.functional's generic path) ---------------------

def simple_gru_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """Simplified GRU, blocks (u, c): Γu = σ(W_u[a, x] + b_u), c̃ = tanh(W_c[a, x] + b_c),
    a⟨t⟩ = Γu * c̃ + (1 − Γu) * a⟨t−1⟩."""
    H = h.shape[1]
    a = _affine(x, w_ih, b_ih) + _affine(h, w_hh, b_hh)
    u, c_tilde = _sigmoid(a[:, :H]), np.tanh(a[:, H:])
    return u * c_tilde + (1 - u) * h


def peephole_lstm_cell(x, h, c, w_ih, w_hh, w_ch, b_ih=None, b_hh=None):
    """Peephole LSTM (Gers & Schmidhuber), blocks i, f, g, o; w_ch (3H,) = diagonal peepholes
    (p_i, p_f, p_o): Γi, Γf see c⟨t−1⟩, Γo sees c⟨t⟩."""
    H = h.shape[1]
    a = _affine(x, w_ih, b_ih) + _affine(h, w_hh, b_hh)
    i = _sigmoid(a[:, :H] + w_ch[:H] * c)
    f = _sigmoid(a[:, H:2 * H] + w_ch[H:2 * H] * c)
    c_new = f * c + i * np.tanh(a[:, 2 * H:3 * H])
    o = _sigmoid(a[:, 3 * H:] + w_ch[2 * H:] * c_new)
    return o * np.tanh(c_new), c_new


def coupled_lstm_cell(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None):
    """Coupled input-forget LSTM, blocks f, g, o: Γi = 1 − Γf."""
    H = h.shape[1]
    a = _affine(x, w_ih, b_ih) + _affine(h, w_hh, b_hh)
    f, g, o = _sigmoid(a[:, :H]), np.tanh(a[:, H:2 * H]), _sigmoid(a[:, 2 * H:])
    c_new = f * c + (1 - f) * g
    return o * np.tanh(c_new), c_new
