"""Loss layers with PyTorch's names, arguments and buffers (``weight``, ``pos_weight``).

Each calls the matching deepkern.functional loss; errors are re-raised with the layer's name
in front, e.g. ``CrossEntropyLoss: cross_entropy: target must have shape (4,) to match logits
of shape (4, 5), got (4, 1)``.
"""
from __future__ import annotations

from .. import functional as F
from ..autograd import Tensor
from .module import Module

__all__ = ["CrossEntropyLoss", "NLLLoss", "MSELoss", "BCELoss", "BCEWithLogitsLoss"]


def _array(v):
    return v.data if isinstance(v, Tensor) else v


class _Loss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        if reduction not in ("none", "mean", "sum"):
            raise ValueError(f"{type(self).__name__}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")
        self.reduction = reduction

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ValueError, TypeError) as e:
            raise type(e)(f"{type(self).__name__}: {e}") from None

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


class CrossEntropyLoss(_Loss):
    """Cross-entropy of logits (N, C) or (N, C, d1, ...) against class ids (N,) or (N, d1, ...)
    or class probabilities of the logits' shape, with optional ``label_smoothing``."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean", label_smoothing: float = 0.0):
        super().__init__(reduction)
        self.register_buffer("weight", _array(weight))
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return self._call(F.cross_entropy, input, target, self.weight, self.ignore_index, self.reduction,
                          self.label_smoothing)


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities (N, C) or (N, C, d1, ...) at class ids."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction)
        self.register_buffer("weight", _array(weight))
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return self._call(F.nll_loss, input, target, self.weight, self.ignore_index, self.reduction)


class MSELoss(_Loss):
    """Squared error between input and target of one shape."""

    def forward(self, input, target):
        return self._call(F.mse_loss, input, target, self.reduction)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities in [0, 1]; weight broadcasts to the input."""

    def __init__(self, weight=None, reduction: str = "mean"):
        super().__init__(reduction)
        self.register_buffer("weight", _array(weight))

    def forward(self, input, target):
        return self._call(F.binary_cross_entropy, input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy in one stable formula; pos_weight (e.g. (C,)) scales positives."""

    def __init__(self, weight=None, reduction: str = "mean", pos_weight=None):
        super().__init__(reduction)
        self.register_buffer("weight", _array(weight))
        self.register_buffer("pos_weight", _array(pos_weight))

    def forward(self, input, target):
        return self._call(F.binary_cross_entropy_with_logits, input, target, self.weight, self.reduction,
                          self.pos_weight)
