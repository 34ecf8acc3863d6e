"""Differentiable inverted dropout over deepkern.ops.dropout."""
from __future__ import annotations

from .. import _checks, ops
from ..autograd import Function


class Dropout(Function):
    def forward(self, x, p=0.5):
        y, mask = ops.dropout(x, p, training=True)
        self.p = p
        self.save_for_backward(mask)
        return y

    def backward(self, grad):
        return ops.dropout_backward(grad, self.saved[0], self.p)


def dropout(x, p=0.5, training=True):
    """Zero each element with probability p and scale the rest by 1/(1-p) when training;
    the identity (x itself) otherwise. Backward uses the forward's mask."""
    p = _checks.real("dropout", "p", p, 0.0, 1.0)
    if not training:
        return x
    return Dropout.apply(x, p=p)
