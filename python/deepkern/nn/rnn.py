"""Recurrent layers: RNN, GRU, LSTM (multi-layer, bidirectional) and RNNCell, GRUCell, LSTMCell.

PyTorch's classes, arguments, return values, parameter names and shapes (``weight_ih_l0``
(G*H, I), ``weight_hh_l0`` (G*H, H), ``bias_ih_l0``, ``bias_hh_l0``, ``..._reverse``) and init
U(−1/√H, 1/√H), so ``load_state_dict`` of a converted torch state dict reproduces torch's
outputs. Inputs are (T, B, I), (B, T, I) with ``batch_first``, or unbatched (T, I).

Each layer-direction over the whole sequence is ONE autograd Function running the fused
sequence kernels (deepkern.ops.rnn), so backward is BPTT with the weight gradients as single
GEMMs. ``dropout`` applies between layers only, never on the recurrent connection.
``forward(input, hx=None, lengths=None)``: with ``lengths`` (B,) the padded steps of row b
(t >= lengths[b]) change neither its outputs (zeros there) nor its final state, in both
directions (as a PyTorch PackedSequence would).

Course variants (run through the generic functional path, one step at a time):
``GRU(..., variant='simple')`` — the one-gate GRU (Γu, c̃; gate blocks u, c);
``LSTM(..., variant='peephole')`` — gates see the cell through diagonal peepholes
``weight_ch_l{k}`` (3H,) = (p_i, p_f, p_o); ``LSTM(..., variant='coupled')`` — Γi = 1 − Γf
(gate blocks f, g, o).
"""
from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from .._backend import array_module
from ..autograd import Tensor
from ..ops.rnn import _lengths
from . import init
from .module import Module, Parameter

__all__ = ["RNN", "GRU", "LSTM", "RNNCell", "GRUCell", "LSTMCell"]

# gate blocks per (mode, variant)
_GATES = {("RNN_TANH", None): 1, ("RNN_RELU", None): 1, ("GRU", None): 3, ("GRU", "simple"): 2,
          ("LSTM", None): 4, ("LSTM", "peephole"): 4, ("LSTM", "coupled"): 3}


def _positive_int(cls, name, v):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{cls}: {name} must be a positive int, got {v!r}")
    return int(v)


def _data(t):
    return t.data if isinstance(t, Tensor) else t


class RNNBase(Module):
    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, variant=None, dtype=None):
        super().__init__()
        name = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(mode, mode)
        if (mode, variant) not in _GATES:
            choices = sorted(v for m, v in _GATES if m == mode and v)
            raise ValueError(f"{name}: variant must be None{''.join(', ' + repr(c) for c in choices)}, "
                             f"got {variant!r}")
        self.mode, self.variant = mode, variant
        self.input_size = _positive_int(name, "input_size", input_size)
        self.hidden_size = _positive_int(name, "hidden_size", hidden_size)
        self.num_layers = _positive_int(name, "num_layers", num_layers)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout must be a number in [0, 1], got {dropout!r}")
        self.bias, self.batch_first, self.bidirectional = bool(bias), bool(batch_first), bool(bidirectional)
        self.dropout = float(dropout)
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        G, H = _GATES[(mode, variant)], self.hidden_size
        D = 2 if bidirectional else 1
        for layer in range(self.num_layers):
            in_size = self.input_size if layer == 0 else H * D
            for d in range(D):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                setattr(self, "weight_ih" + sfx, Parameter(np.empty((G * H, in_size), dtype=dtype)))
                setattr(self, "weight_hh" + sfx, Parameter(np.empty((G * H, H), dtype=dtype)))
                if self.bias:
                    setattr(self, "bias_ih" + sfx, Parameter(np.empty(G * H, dtype=dtype)))
                    setattr(self, "bias_hh" + sfx, Parameter(np.empty(G * H, dtype=dtype)))
                if variant == "peephole":
                    setattr(self, "weight_ch" + sfx, Parameter(np.empty(3 * H, dtype=dtype)))
        self.reset_parameters()

    @property
    def _name(self):
        return type(self).__name__

    def reset_parameters(self):
        """Every weight and bias ~ U(−1/√H, 1/√H), as PyTorch."""
        k = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -k, k)

    def _weights(self, layer, d):
        sfx = f"_l{layer}" + ("_reverse" if d else "")
        w = [getattr(self, "weight_ih" + sfx), getattr(self, "weight_hh" + sfx)]
        w += [getattr(self, "bias_ih" + sfx), getattr(self, "bias_hh" + sfx)] if self.bias else [None, None]
        if self.variant == "peephole":
            w.append(getattr(self, "weight_ch" + sfx))
        return w

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity='relu'"
        for key, default in (("bias", True), ("batch_first", False), ("dropout", 0.0), ("bidirectional", False),
                             ("variant", None)):
            if getattr(self, key) != default:
                s += f", {key}={getattr(self, key)!r}"
        return s

    # ---- forward ----------------------------------------------------------------------------
    def _check_input(self, x):
        if not isinstance(x, Tensor):
            x = Tensor(x)
        if x.ndim not in (2, 3):
            raise ValueError(f"{self._name}: input must be 3-D (T, B, input_size) (batch_first: (B, T, "
                             f"input_size)) or 2-D unbatched (T, input_size), got shape {x.shape}")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"{self._name}: input has {x.shape[-1]} features but input_size={self.input_size} "
                             f"(input.shape={x.shape})")
        if x.dtype != self.weight_ih_l0.dtype:
            raise TypeError(f"{self._name}: input is {x.dtype} but the weights are {self.weight_ih_l0.dtype} "
                            "(cast the input, or the module with .double()/.float())")
        return x

    def _initial(self, hx, name, batch, unbatched, xp, dtype):
        D = 2 if self.bidirectional else 1
        shape = (self.num_layers * D, batch, self.hidden_size)
        if hx is None:
            return xp.zeros(shape, dtype=dtype)
        want = (shape[0], shape[2]) if unbatched else shape
        if tuple(hx.shape) != want:
            raise ValueError(f"{self._name}: {name} must have shape {want} (num_layers*num_directions, "
                             f"{'' if unbatched else 'batch, '}hidden_size), got {tuple(hx.shape)}")
        if _data(hx).dtype != dtype:
            raise TypeError(f"{self._name}: {name} is {_data(hx).dtype} but the weights are {dtype}")
        return hx.reshape(shape) if unbatched else hx

    def forward(self, input, hx=None, lengths=None):
        """input (T, B, I) [(B, T, I) if batch_first, or unbatched (T, I)]; hx (L*D, B, H) or for
        LSTM a pair (h0, c0); lengths (B,) ints or None.
        Returns (output (T, B, D*H), h_n (L*D, B, H)), for LSTM (output, (h_n, c_n))."""
        x = self._check_input(input)
        unbatched = x.ndim == 2
        if unbatched:
            x = x.reshape(x.shape[0], 1, x.shape[1])
        elif self.batch_first:
            x = x.transpose(1, 0, 2)
        T, B = x.shape[0], x.shape[1]
        xp, dtype = array_module(x.data), x.dtype
        lstm = self.mode == "LSTM"
        if lstm:
            if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
                raise ValueError(f"{self._name}: hx must be a pair (h0, c0), got {type(hx).__name__}")
            h0 = self._initial(None if hx is None else hx[0], "h0", B, unbatched, xp, dtype)
            c0 = self._initial(None if hx is None else hx[1], "c0", B, unbatched, xp, dtype)
        else:
            h0 = self._initial(hx, "hx", B, unbatched, xp, dtype)
            c0 = None
        if lengths is not None and unbatched:
            raise ValueError(f"{self._name}: lengths needs a batched input")
        D = 2 if self.bidirectional else 1
        layer_in, h_n, c_n = x, [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(D):
                k = layer * D + d
                out, h, c = self._direction(layer_in, h0[k], None if c0 is None else c0[k],
                                            self._weights(layer, d), lengths, bool(d))
                outs.append(out)
                h_n.append(h)
                c_n.append(c)
            layer_in = outs[0] if D == 1 else F.cat(outs, axis=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_in = F.dropout(layer_in, p=self.dropout, training=True)
        output, h_n = layer_in, F.stack(h_n, axis=0)
        c_n = F.stack(c_n, axis=0) if lstm else None
        if unbatched:
            output = output.reshape(T, output.shape[2])
            h_n = h_n.reshape(h_n.shape[0], h_n.shape[2])
            c_n = c_n.reshape(c_n.shape[0], c_n.shape[2]) if lstm else None
        elif self.batch_first:
            output = output.transpose(1, 0, 2)
        return (output, (h_n, c_n)) if lstm else (output, h_n)

    def _direction(self, x, h0, c0, w, lengths, reverse):
        """One layer-direction -> (output (T, B, H), h_n, c_n or None)."""
        if self.variant is not None:
            return self._generic_direction(x, h0, c0, w, lengths, reverse)
        if self.mode == "LSTM":
            return F.lstm(x, h0, c0, *w, lengths=lengths, reverse=reverse)
        if self.mode == "GRU":
            out, h = F.gru(x, h0, *w, lengths=lengths, reverse=reverse)
        else:
            out, h = F.rnn(x, h0, *w, nonlinearity=self.mode[4:].lower(), lengths=lengths, reverse=reverse)
        return out, h, None

    def _generic_direction(self, x, h, c, w, lengths, reverse):
        """The variants: a Python loop of differentiable steps; padded steps keep the state."""
        T, B = x.shape[0], x.shape[1]
        xp, dtype = array_module(x.data), x.dtype
        h = h if isinstance(h, Tensor) else Tensor(h)
        c = c if c is None or isinstance(c, Tensor) else Tensor(c)
        lens = _lengths(self._name, lengths, T, B, np)
        outs = [None] * T
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            if self.variant == "simple":
                h_new, c_new = F.simple_gru_cell(x[t], h, *w), None
            elif self.variant == "peephole":
                h_new, c_new = F.peephole_lstm_cell(x[t], h, c, w[0], w[1], w[4], w[2], w[3])
            else:
                h_new, c_new = F.coupled_lstm_cell(x[t], h, c, *w)
            if lens is None:
                h, c, outs[t] = h_new, c_new, h_new
                continue
            m = xp.asarray((t < lens).astype(dtype)[:, None])
            h = h_new * m + h * (1 - m)
            c = None if c is None else c_new * m + c * (1 - m)
            outs[t] = h * m
        return F.stack(outs, axis=0), h, c


class RNN(RNNBase):
    """Elman RNN: a⟨t⟩ = tanh(W_ih x⟨t⟩ + b_ih + W_hh a⟨t−1⟩ + b_hh) (or relu).
    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True, batch_first=False,
    dropout=0.0, bidirectional=False, dtype=None)``."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__("RNN_" + nonlinearity.upper(), input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, None, dtype)


class GRU(RNNBase):
    """GRU with PyTorch's gates r, z, n (course: Γr = r, Γu = 1 − z, c̃ = n);
    ``variant='simple'`` is the course's one-gate GRU (blocks u, c)."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, variant=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         variant, dtype)


class LSTM(RNNBase):
    """LSTM with PyTorch's gates i, f, g, o (course: Γi, Γf, c̃, Γo); ``variant='peephole'`` or
    ``'coupled'`` for the course's variants. Returns (output, (h_n, c_n))."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, variant=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         variant, dtype)


# ---- single steps --------------------------------------------------------------------------------

class _CellBase(Module):
    def __init__(self, input_size, hidden_size, bias, gates, dtype):
        super().__init__()
        name = type(self).__name__
        self.input_size = _positive_int(name, "input_size", input_size)
        self.hidden_size = _positive_int(name, "hidden_size", hidden_size)
        self.bias = bool(bias)
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        H = self.hidden_size
        self.weight_ih = Parameter(np.empty((gates * H, self.input_size), dtype=dtype))
        self.weight_hh = Parameter(np.empty((gates * H, H), dtype=dtype))
        if self.bias:
            self.bias_ih = Parameter(np.empty(gates * H, dtype=dtype))
            self.bias_hh = Parameter(np.empty(gates * H, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        k = 1.0 / math.sqrt(H)
        for p in self.parameters():
            init.uniform_(p, -k, k)

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")

    def _prepare(self, x, states):
        """x (B, I) or unbatched (I,); states None or arrays/Tensors (B, H) / (H,)."""
        name = type(self).__name__
        x = x if isinstance(x, Tensor) else Tensor(x)
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input must be (B, {self.input_size}) or ({self.input_size},), got shape "
                             f"{x.shape}")
        unbatched = x.ndim == 1
        if unbatched:
            x = x.reshape(1, self.input_size)
        B, xp = x.shape[0], array_module(x.data)
        out = []
        for s in states:
            if s is None:
                out.append(xp.zeros((B, self.hidden_size), dtype=x.dtype))
                continue
            want = (self.hidden_size,) if unbatched else (B, self.hidden_size)
            if tuple(s.shape) != want:
                raise ValueError(f"{name}: hidden state must have shape {want}, got {tuple(s.shape)}")
            out.append(s.reshape(1, self.hidden_size) if unbatched else s)
        return x, out, unbatched

    def _args(self):
        return (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)


class RNNCell(_CellBase):
    """One Elman step: h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu). forward(input, hx=None)."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, 1, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        x, (h,), unbatched = self._prepare(input, [hx])
        h = F.rnn_cell(x, h, *self._args(), nonlinearity=self.nonlinearity)
        return h.reshape(self.hidden_size) if unbatched else h


class GRUCell(_CellBase):
    """One GRU step (gates r, z, n). forward(input, hx=None) -> h'."""

    def __init__(self, input_size, hidden_size, bias=True, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, dtype)

    def forward(self, input, hx=None):
        x, (h,), unbatched = self._prepare(input, [hx])
        h = F.gru_cell(x, h, *self._args())
        return h.reshape(self.hidden_size) if unbatched else h


class LSTMCell(_CellBase):
    """One LSTM step (gates i, f, g, o). forward(input, hx=None) with hx = (h, c) -> (h', c')."""

    def __init__(self, input_size, hidden_size, bias=True, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, dtype)

    def forward(self, input, hx=None):
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise ValueError(f"LSTMCell: hx must be a pair (h, c), got {type(hx).__name__}")
        x, (h, c), unbatched = self._prepare(input, [None, None] if hx is None else list(hx))
        h, c = F.lstm_cell(x, h, c, *self._args())
        if unbatched:
            return h.reshape(self.hidden_size), c.reshape(self.hidden_size)
        return h, c
