"""Loss layers with PyTorch's names, arguments and buffers (``weight``, ``pos_weight``).

Each calls the matching deepkern.functional loss; errors are re-raised with the layer's name
in front, e.g. ``CrossEntropyLoss: cross_entropy: target must have shape (4,) to match logits
of shape (4, 5), got (4, 1)``.
"""
from __future__ import annotations

from .. import functional as F
from ..autograd import Tensor
from .module import Module

__all__ = ["CrossEntropyLoss", "NLLLoss", "MSELoss", "SmoothL1Loss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss",
           "TripletMarginLoss", "ContrastiveLoss", "BatchTripletLoss"]


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


class SmoothL1Loss(_Loss):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target)."""

    def __init__(self, reduction: str = "mean", beta: float = 1.0):
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input, target):
        return self._call(F.smooth_l1_loss, input, target, self.beta, self.reduction)

    def extra_repr(self):
        return f"reduction={self.reduction!r}, beta={self.beta}"


class HuberLoss(_Loss):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta): DQN's loss with delta = 1."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input, target):
        return self._call(F.huber_loss, input, target, self.delta, self.reduction)

    def extra_repr(self):
        return f"reduction={self.reduction!r}, delta={self.delta}"


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


class TripletMarginLoss(_Loss):
    """max(0, margin + d(a, p) - d(a, n)) for given triplets anchor, positive, negative (N, D),
    d the p-norm pairwise distance (PyTorch's TripletMarginLoss; ``swap`` as Balntas et al.)."""

    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6, swap: bool = False,
                 reduction: str = "mean"):
        super().__init__(reduction)
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(self, anchor, positive, negative):
        return self._call(F.triplet_margin_loss, anchor, positive, negative, self.margin, self.p, self.eps,
                          self.swap, self.reduction)

    def extra_repr(self):
        return f"margin={self.margin}, p={self.p}, swap={self.swap}, reduction={self.reduction!r}"


class ContrastiveLoss(_Loss):
    """(t d^2 + (1 - t) max(0, margin - d)^2) / 2 for pairs x1, x2 (N, D) with target t (N,),
    1 = same identity, 0 = different (Hadsell, Chopra & LeCun 2006)."""

    def __init__(self, margin: float = 1.0, reduction: str = "mean"):
        super().__init__(reduction)
        self.margin = margin

    def forward(self, x1, x2, target):
        return self._call(F.contrastive_loss, x1, x2, target, self.margin, self.reduction)

    def extra_repr(self):
        return f"margin={self.margin}, reduction={self.reduction!r}"


class BatchTripletLoss(Module):
    """Triplet loss with the triplets mined inside each batch: ``loss(embeddings, labels)`` with
    embeddings (N, D) and identity labels (N,) (a batch of P identities x K samples each).

    ``mining``: 'hard' (per anchor the farthest positive and nearest negative), 'semihard'
    (FaceNet: per positive pair the nearest negative beyond the positive), 'all' (every
    triplet, averaged over the active ones) or 'random' (one random triplet per anchor).
    ``squared`` measures squared Euclidean distances. Returns a 0-d Tensor.
    """

    def __init__(self, margin: float = 1.0, mining: str = "hard", squared: bool = False):
        super().__init__()
        if mining not in F.metric_loss.MINING:
            raise ValueError(f"BatchTripletLoss: mining must be one of {', '.join(map(repr, F.metric_loss.MINING))}, "
                             f"got {mining!r}")
        self.margin, self.mining, self.squared = margin, mining, squared

    def forward(self, embeddings, labels):
        try:
            return F.batch_triplet_loss(embeddings, labels, self.margin, self.mining, self.squared)
        except (ValueError, TypeError) as e:
            raise type(e)(f"BatchTripletLoss: {e}") from None

    def extra_repr(self):
        return f"margin={self.margin}, mining={self.mining!r}, squared={self.squared}"
