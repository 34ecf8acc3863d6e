"""Differentiable fully connected layer over deepkern.ops.linear / linear_backward."""
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
        return ops.linear_backward(grad, x, w, need_bias=self.has_bias)


def linear(x, weight, bias=None):
    """x @ weight.T + bias, as ``torch.nn.functional.linear``.

    Shapes: x (*, in_features), weight (out_features, in_features), bias (out_features,) or
    None -> (*, out_features).
    """
    return Linear.apply(x, weight, bias)
