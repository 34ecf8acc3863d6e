"""Differentiable fully connected layer over deepkern.ops.linear."""
from __future__ import annotations

from .. import ops
from ..autograd import Function


class Linear(Function):
    def forward(self, x, w, b=None):
        self.save_for_backward(x, w)
        self.has_bias = b is not None
        return ops.linear(x, w, b)

    def backward(self, grad):
        x, w = self.saved
        gx, gw, gb = ops.linear_backward(grad, x, w, need_bias=self.has_bias)
        return gx, gw, gb


def linear(x, weight, bias=None):
    """x @ weight.T + bias for x of shape (N, in) or (*, in); weight (out, in); bias (out,)."""
    lead = x.shape[:-1]
    if len(lead) != 1:
        from .basic import reshape
        y = Linear.apply(reshape(x, (-1, x.shape[-1])), weight, bias)
        return reshape(y, (*lead, weight.shape[0]))
    return Linear.apply(x, weight, bias)
