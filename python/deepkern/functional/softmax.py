"""Differentiable softmax and log-softmax over deepkern.ops.softmax."""
from __future__ import annotations

from .. import ops
from ..autograd import Function


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


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis`` (PyTorch's ``dim``); same shape as x."""
    return Softmax.apply(x, axis=axis)


def log_softmax(x, axis=-1):
    """log(softmax(x)) along ``axis``, computed stably; same shape as x."""
    return LogSoftmax.apply(x, axis=axis)
