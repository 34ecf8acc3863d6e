"""Fused scaled dot-product attention (array in, array out), forward and backward.

Shapes: q (..., L, D), k (..., S, D), v (..., S, Dv) -> out (..., L, Dv), where the batch dims
``...`` (any number, including none) of q, k and v broadcast against each other, as in PyTorch
(e.g. k, v (B, 1, S, D) shared by H heads of q (B, H, L, D)); L and S may differ. The kernels
never materialize the (..., L, S) scores: see csrc/cpu/attention.cpp and csrc/cuda/attention.cu.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _checks
from .._backend import array_module, is_array, kernels

_FWD = "scaled_dot_product_attention"
_BWD = "scaled_dot_product_attention_backward"


def _dims(op, q, k, v):
    for name, x in (("q", q), ("k", k), ("v", v)):
        if x.ndim < 2:
            raise ValueError(f"{op}: {name} must be (..., {'L' if name == 'q' else 'S'}, D) with at least "
                             f"2 dimensions, got shape {tuple(x.shape)}")
    try:
        batch = tuple(np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2]))
    except ValueError:
        raise ValueError(f"{op}: the batch dims of q {tuple(q.shape[:-2])}, k {tuple(k.shape[:-2])} and v "
                         f"{tuple(v.shape[:-2])} do not broadcast (q.shape={tuple(q.shape)}, k.shape={tuple(k.shape)}, "
                         f"v.shape={tuple(v.shape)})") from None
    L, D = q.shape[-2:]
    S = k.shape[-2]
    if k.shape[-1] != D:
        raise ValueError(f"{op}: k has feature size {k.shape[-1]} but q has {D} "
                         f"(q.shape={tuple(q.shape)}, k.shape={tuple(k.shape)})")
    if v.shape[-2] != S:
        raise ValueError(f"{op}: v has {v.shape[-2]} keys but k has {S} "
                         f"(k.shape={tuple(k.shape)}, v.shape={tuple(v.shape)})")
    return batch, int(L), int(S), int(D), int(v.shape[-1])


def _expand(xp, x, batch):
    """x with its batch dims broadcast to ``batch`` (a contiguous copy only when they differ)."""
    if tuple(x.shape[:-2]) == batch:
        return x
    return xp.ascontiguousarray(xp.broadcast_to(x, batch + tuple(x.shape[-2:])))


def _reduce_to(g, shape):
    """Sum a gradient over the batch dims its operand was broadcast along."""
    if tuple(g.shape) == tuple(shape):
        return g
    lead = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(lead))) if lead else g
    axes = tuple(i for i, s in enumerate(shape[:-2]) if s == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


def _scale(op, scale, D):
    if scale is None:
        return 1.0 / math.sqrt(D) if D > 0 else 1.0
    return _checks.real(op, "scale", scale)


def _flag(op, name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{op}: {name} must be a bool, got {type(value).__name__} {value!r}")
    return bool(value)


def _mask(op, mask, batch, L, S, dtype, xp):
    """The mask as (M, L, S) contiguous matrices plus, per flattened batch item, the index of its
    matrix: a mask broadcast over batch or heads is stored once, not once per item."""
    if mask is None:
        return None, None
    if not is_array(mask) or array_module(mask) is not xp:
        raise TypeError(f"{op}: mask must be a {'NumPy' if xp is np else 'CuPy'} array like q, "
                        f"got {type(mask).__name__}")
    if mask.dtype != np.bool_ and mask.dtype != dtype:
        raise TypeError(f"{op}: mask must be bool (True = may attend) or {dtype} like q (added to the "
                        f"scores), got {mask.dtype}")
    target = batch + (L, S)
    try:
        ok = np.broadcast_shapes(tuple(mask.shape), target) == target
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{op}: mask of shape {tuple(mask.shape)} does not broadcast to (..., L, S) = {target}")
    full = mask.reshape((1,) * (len(target) - mask.ndim) + tuple(mask.shape))
    lead = full.shape[:-2]
    count = math.prod(lead)
    mats = xp.ascontiguousarray(xp.broadcast_to(full, lead + (L, S))).reshape(count, L, S)
    index = xp.broadcast_to(xp.arange(count, dtype=np.int64).reshape(lead), batch)
    return mats, xp.ascontiguousarray(index).reshape(-1)


def scaled_dot_product_attention(q, k, v, mask=None, causal=False, scale=None, return_lse=False):
    """softmax(scale · q kᵀ + mask) v, fused (the scores are never stored whole).

    q (..., L, D), k (..., S, D), v (..., S, Dv) -> out (..., L, Dv); float32 or float64, NumPy
    (CPU kernel) or CuPy (CUDA kernel).

    mask: None, a bool array (True = may attend, as torch's scaled_dot_product_attention) or a
        float array of q's dtype added to the scores (-inf forbids); broadcastable to (..., L, S).
    causal: query i attends keys j <= i only (top-left alignment, as PyTorch, also when L != S);
        combined with ``mask`` when both are given.
    scale: multiplies q kᵀ; default 1/sqrt(D).
    return_lse: also return the per-row log-sum-exp of the scaled, masked scores (..., L), which
        the backward pass needs. It is float64 for every input dtype: rounded to float32 it would
        cost the backward's recomputed probabilities a relative error of ulp(|lse|).

    A row whose keys are all forbidden gets an output of zeros (not NaN), lse = -inf, and zero
    gradients in the backward pass.
    """
    xp, (q, k, v) = _checks.arrays(_FWD, q=q, k=k, v=v)
    batch, L, S, D, Dv = _dims(_FWD, q, k, v)
    q, k, v = (_expand(xp, x, batch) for x in (q, k, v))
    sc = _scale(_FWD, scale, D)
    causal = _flag(_FWD, "causal", causal)
    mats, index = _mask(_FWD, mask, batch, L, S, q.dtype, xp)
    n = math.prod(batch)
    out = xp.empty(batch + (L, Dv), dtype=q.dtype)
    lse = xp.empty(batch + (L,), dtype=np.float64)
    kernels(xp).attention_forward(q.reshape(n, L, D), k.reshape(n, S, D), v.reshape(n, S, Dv), mats, index,
                                  causal, sc, out.reshape(n, L, Dv), lse.reshape(n, L))
    return (out, lse) if return_lse else out


def scaled_dot_product_attention_backward(grad_out, q, k, v, out, lse, mask=None, causal=False, scale=None):
    """Gradients (dq, dk, dv) of scaled_dot_product_attention, from its ``out`` and ``lse``
    (``return_lse=True``, float64) and the same mask, causal and scale, each of its operand's
    shape (summed over the batch dims it was broadcast along). The mask gets no gradient."""
    xp, (grad_out, q, k, v, out) = _checks.arrays(_BWD, grad_out=grad_out, q=q, k=k, v=v, out=out)
    _, (lse,) = _checks.arrays(_BWD, dtypes=("float64",), lse=lse)
    if array_module(lse) is not xp:
        raise TypeError(f"{_BWD}: lse is on another device than q")
    batch, L, S, D, Dv = _dims(_BWD, q, k, v)
    shapes = (q.shape, k.shape, v.shape)
    q, k, v = (_expand(xp, x, batch) for x in (q, k, v))
    _checks.shape(_BWD, "out", out, batch + (L, Dv))
    _checks.shape(_BWD, "grad_out", grad_out, batch + (L, Dv))
    _checks.shape(_BWD, "lse", lse, batch + (L,))
    sc = _scale(_BWD, scale, D)
    causal = _flag(_BWD, "causal", causal)
    mats, index = _mask(_BWD, mask, batch, L, S, q.dtype, xp)
    n = math.prod(batch)
    dq, dk, dv = xp.empty_like(q), xp.empty_like(k), xp.empty_like(v)
    delta = xp.empty((n, L), dtype=q.dtype)
    kernels(xp).attention_backward(grad_out.reshape(n, L, Dv), q.reshape(n, L, D), k.reshape(n, S, D),
                                   v.reshape(n, S, Dv), out.reshape(n, L, Dv), lse.reshape(n, L), mats, index,
                                   causal, sc, delta, dq.reshape(n, L, D), dk.reshape(n, S, D),
                                   dv.reshape(n, S, Dv))
    return tuple(_reduce_to(g, s) for g, s in zip((dq, dk, dv), shapes))
