"""Softmax and log-softmax along any axis, and their backward passes (array in, array out).

The kernels reduce along ``axis`` in place of the data (no transposing copy); both are stable
for logits of any magnitude (exp only ever sees x - max(x) <= 0).
"""
from __future__ import annotations

import numpy as np

from .. import _checks
from .._backend import kernels


def _axis(op, x, axis):
    axis = _checks.integer(op, "axis", axis)
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for x of shape {tuple(x.shape)} "
                         f"(ndim={x.ndim})")
    return axis % x.ndim


def _forward(op, x, axis, out, log):
    xp, (x,) = _checks.arrays(op, x=x)
    if x.ndim == 0:
        raise ValueError(f"{op}: x must have at least 1 dimension, got shape ()")
    axis = _axis(op, x, axis)
    out = _checks.output(op, out, x.shape, x.dtype, xp)
    kernels(xp).softmax_forward(x, out, axis, log)
    return out


def _backward(op, grad_out, y, axis, log):
    xp, (grad_out, y) = _checks.arrays(op, grad_out=grad_out, y=y)
    if grad_out.shape != y.shape:
        raise ValueError(f"{op}: grad_out has shape {tuple(grad_out.shape)} but y has shape {tuple(y.shape)}")
    if y.ndim == 0:
        raise ValueError(f"{op}: y must have at least 1 dimension, got shape ()")
    axis = _axis(op, y, axis)
    grad_in = xp.empty_like(y)
    kernels(xp).softmax_backward(grad_out, y, grad_in, axis, log)
    return grad_in


def softmax(x, axis=-1, out=None, dtype=None):
    """exp(x) / sum(exp(x)) along ``axis``; x of any shape (ndim >= 1), result the same shape.
    ``dtype`` (float32 or float64): x is cast to it first, as PyTorch's softmax(dtype=)."""
    return _forward("softmax", _cast(x, dtype), axis, out, False)


def log_softmax(x, axis=-1, out=None, dtype=None):
    """x - log(sum(exp(x))) along ``axis``, computed as (x - max) - log(sum(exp(x - max)));
    ``dtype`` casts x first."""
    return _forward("log_softmax", _cast(x, dtype), axis, out, True)


def _cast(x, dtype):
    return x if dtype is None or getattr(x, "dtype", None) == np.dtype(dtype) else x.astype(dtype)


def softmax_backward(grad_out, y, axis=-1):
    """Gradient of softmax from its output y: y * (grad_out - sum(grad_out * y, axis))."""
    return _backward("softmax_backward", grad_out, y, axis, False)


def log_softmax_backward(grad_out, y, axis=-1):
    """Gradient of log_softmax from its output y: grad_out - exp(y) * sum(grad_out, axis)."""
    return _backward("log_softmax_backward", grad_out, y, axis, True)
