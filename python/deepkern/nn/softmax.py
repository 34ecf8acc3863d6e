"""Softmax layers (PyTorch's names: the reduced axis is ``dim``)."""
from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = ["Softmax", "LogSoftmax"]


class _SoftmaxLayer(Module):
    _fn = None  # the functional op, set by subclasses

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        try:
            return type(self)._fn(x, axis=self.dim)
        except (ValueError, TypeError) as e:  # name the layer, keep the op's message and shapes
            raise type(e)(f"{type(self).__name__}(dim={self.dim}): {e}") from None

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmax(_SoftmaxLayer):
    """softmax along ``dim``: (*) -> (*), each slice along ``dim`` sums to 1."""
    _fn = staticmethod(F.softmax)


class LogSoftmax(_SoftmaxLayer):
    """log_softmax along ``dim``: (*) -> (*); feed its output to NLLLoss."""
    _fn = staticmethod(F.log_softmax)
