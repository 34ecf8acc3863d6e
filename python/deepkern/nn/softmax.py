"""Softmax layers (PyTorch's names: the reduced axis is ``dim``)."""
from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = ["Softmax", "LogSoftmax"]


class Softmax(Module):
    """softmax along ``dim``: (*) -> (*), each slice along ``dim`` sums to 1."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.softmax(x, axis=self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log_softmax along ``dim``: (*) -> (*); feed its output to NLLLoss."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.log_softmax(x, axis=self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"
