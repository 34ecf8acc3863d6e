"""Differentiable softmax and log-softmax over deepkern.ops.softmax."""
from __future__ import annotations

import numpy as np

from .. import ops
from ..autograd import Function, Tensor


class Softmax(Function):
    def forward(self, x, axis=-1):
        y = ops.softmax(x, axis)
        self.axis = axis
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        return ops.softmax_backward(grad, self.saved[0], self.axis)


class LogSoftmax(Function):
    def forward(self, x, axis=-1):
        y = ops.log_softmax(x, axis)
        self.axis = axis
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        return ops.log_softmax_backward(grad, self.saved[0], self.axis)


def _prepare(op, x, axis, dim, dtype):
    from .basic import _dim
    axis = _dim(op, axis, dim, -1)
    if dtype is not None and x.dtype != np.dtype(dtype):  # cast first, as PyTorch's dtype=
        x = (x if isinstance(x, Tensor) else Tensor(x)).astype(dtype)
    return x, axis


def softmax(x, axis=None, dtype=None, *, dim=None):
    """exp(x) / sum(exp(x)) along ``axis`` (default -1; ``dim`` is PyTorch's name); same shape
    as x. ``dtype``: cast x to it first (e.g. float64 for a float32 input), as PyTorch."""
    x, axis = _prepare("softmax", x, axis, dim, dtype)
    return Softmax.apply(x, axis=axis)


def log_softmax(x, axis=None, dtype=None, *, dim=None):
    """log(softmax(x)) along ``axis`` (default -1), computed stably; same shape as x;
    ``dtype`` casts x first."""
    x, axis = _prepare("log_softmax", x, axis, dim, dtype)
    return LogSoftmax.apply(x, axis=axis)
