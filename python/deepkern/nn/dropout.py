"""Dropout layer (PyTorch's name and argument)."""
from __future__ import annotations

from .. import _checks
from .. import functional as F
from .module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """Inverted dropout with probability p, active only in train mode: (*) -> (*)."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p = _checks.real("Dropout", "p", p, 0.0, 1.0)

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"
