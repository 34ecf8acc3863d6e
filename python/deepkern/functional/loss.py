"""Differentiable losses over deepkern.ops.loss, with PyTorch's names and arguments.

Class targets (cross_entropy, nll_loss) are integer arrays or Tensors and get no gradient;
``weight``/``pos_weight`` are constants (arrays or Tensors). mse_loss, smooth_l1_loss and
huber_loss differentiate both input and target; the BCE losses differentiate their input only.
"""
from __future__ import annotations

from .. import ops
from .._backend import array_module
from ..autograd import Function, Tensor


def _grad_array(grad, like):
    """NumPy turns 0-d results into scalars on the way back; the ops want arrays."""
    return array_module(like).asarray(grad, dtype=like.dtype)


class CrossEntropy(Function):
    def forward(self, logits, target, weight=None, ignore_index=-100, reduction="mean"):
        loss, row_max, row_logsum = ops.cross_entropy_forward(logits, target, weight, ignore_index, reduction)
        self.save_for_backward(logits, target, row_max, row_logsum, weight)
        self.options = (ignore_index, reduction)
        return loss

    def backward(self, grad):
        logits, target, row_max, row_logsum, weight = self.saved
        grad = _grad_array(grad, logits)
        return ops.cross_entropy_backward(grad, logits, target, row_max, row_logsum, weight, *self.options), None, None


class SoftCrossEntropy(Function):
    """cross_entropy with class-probability targets or label smoothing."""

    def forward(self, logits, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        loss, logp = ops.loss.soft_cross_entropy_forward(logits, target, weight, ignore_index, reduction,
                                                         label_smoothing)
        self.save_for_backward(logp, target, weight)
        self.options = (ignore_index, reduction, label_smoothing)
        return loss

    def backward(self, grad):
        logp, target, weight = self.saved
        return ops.loss.soft_cross_entropy_backward(grad, logp, target, weight, *self.options), None, None


class NLLLoss(Function):
    def forward(self, logp, target, weight=None, ignore_index=-100, reduction="mean"):
        self.save_for_backward(logp, target, weight)
        self.options = (ignore_index, reduction)
        return ops.nll_loss(logp, target, weight, ignore_index, reduction)

    def backward(self, grad):
        logp, target, weight = self.saved
        return ops.nll_loss_backward(_grad_array(grad, logp), logp, target, weight, *self.options), None, None


class MSELoss(Function):
    def forward(self, input, target, reduction="mean"):
        self.save_for_backward(input, target)
        self.reduction = reduction
        return ops.mse_loss(input, target, reduction)

    def backward(self, grad):
        input, target = self.saved
        g = ops.mse_loss_backward(_grad_array(grad, input), input, target, self.reduction)
        return g, -g


class SmoothL1Loss(Function):
    def forward(self, input, target, beta=1.0, reduction="mean"):
        self.save_for_backward(input, target)
        self.options = (beta, reduction)
        return ops.smooth_l1_loss(input, target, beta, reduction)

    def backward(self, grad):
        input, target = self.saved
        g = ops.smooth_l1_loss_backward(_grad_array(grad, input), input, target, *self.options)
        return g, -g


class HuberLoss(Function):
    def forward(self, input, target, delta=1.0, reduction="mean"):
        self.save_for_backward(input, target)
        self.options = (delta, reduction)
        return ops.huber_loss(input, target, delta, reduction)

    def backward(self, grad):
        input, target = self.saved
        g = ops.huber_loss_backward(_grad_array(grad, input), input, target, *self.options)
        return g, -g


class BCELoss(Function):
    def forward(self, input, target, weight=None, reduction="mean"):
        self.save_for_backward(input, target, weight)
        self.reduction = reduction
        return ops.binary_cross_entropy(input, target, weight, reduction)

    def backward(self, grad):
        input, target, weight = self.saved
        return ops.binary_cross_entropy_backward(_grad_array(grad, input), input, target, weight, self.reduction), None, None


class BCEWithLogitsLoss(Function):
    def forward(self, input, target, weight=None, pos_weight=None, reduction="mean"):
        self.save_for_backward(input, target, weight, pos_weight)
        self.reduction = reduction
        return ops.binary_cross_entropy_with_logits(input, target, weight, reduction, pos_weight)

    def backward(self, grad):
        input, target, weight, pos_weight = self.saved
        g = ops.binary_cross_entropy_with_logits_backward(_grad_array(grad, input), input, target, weight, self.reduction, pos_weight)
        return g, None, None, None


class TotalVariation(Function):
    def forward(self, x, reduction="mean"):
        self.save_for_backward(x)
        self.reduction = reduction
        dh = x[..., 1:, :] - x[..., :-1, :]
        dw = x[..., :, 1:] - x[..., :, :-1]
        total = (dh * dh).sum() + (dw * dw).sum()
        return total / x.dtype.type(max(x.size, 1)) if reduction == "mean" else total

    def backward(self, grad):
        (x,) = self.saved
        xp = array_module(x)
        dh = x[..., 1:, :] - x[..., :-1, :]
        dw = x[..., :, 1:] - x[..., :, :-1]
        g = xp.zeros_like(x)          # d/dx of sum d^2 over d = x[k+1] - x[k]: +2d at k+1, -2d at k
        g[..., 1:, :] += dh
        g[..., :-1, :] -= dh
        g[..., :, 1:] += dw
        g[..., :, :-1] -= dw
        scale = 2 * _grad_array(grad, x)
        if self.reduction == "mean":
            scale = scale / x.dtype.type(max(x.size, 1))
        return g * scale


def total_variation_loss(x, reduction="mean"):
    """Squared total variation of images x (..., H, W): the sum over neighbouring pixel pairs of
    (x[.., i+1, j] - x[.., i, j])^2 + (x[.., i, j+1] - x[.., i, j])^2, divided by x.size when
    ``reduction`` is 'mean' (default) or not when 'sum'. A smoothness prior for images made by
    optimization (Mahendran & Vedaldi 2015, beta = 2), as in neural style transfer."""
    if reduction not in ("mean", "sum"):
        raise ValueError(f"total_variation_loss: reduction must be 'mean' or 'sum', got {reduction!r}")
    if x.ndim < 2:
        raise ValueError(f"total_variation_loss: x must have at least 2 dimensions (..., H, W), "
                         f"got shape {tuple(x.shape)}")
    return TotalVariation.apply(x, reduction=reduction)


def _no_target_grad(op, target):
    if isinstance(target, Tensor) and target.requires_grad:
        raise ValueError(f"{op}: gradients wrt target are not supported; pass target.detach()")


def _unbatched(input, target, reduction, fn):
    """(C,) scores with a 0-d class target: the batched op on (1, C), as PyTorch takes them."""
    t = target.data if isinstance(target, Tensor) else target
    if input.ndim == 1 and getattr(t, "ndim", None) == 0:
        loss = fn(input.reshape(1, -1), t.reshape(1))
        return loss.reshape(()) if reduction == "none" else loss
    return fn(input, target)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Cross-entropy of logits (N, C) or (N, C, d1, ...) against integer class targets (N,) or
    (N, d1, ...) (one fused log-softmax + NLL kernel), or against class probabilities of the
    logits' shape; logits (C,) with a 0-d target is one unbatched sample. ``label_smoothing``
    in [0, 1] mixes the target with the uniform distribution (PyTorch's formula, weights and
    'mean' included). Returns a 0-d Tensor unless reduction='none'."""
    t = target.data if isinstance(target, Tensor) else target
    soft = ops.loss.is_soft(t, label_smoothing)
    probabilities = getattr(getattr(t, "dtype", None), "kind", "") == "f"
    if input.ndim == 1 and getattr(t, "ndim", None) == (1 if probabilities else 0):  # one unbatched sample
        loss = cross_entropy(input.reshape(1, -1), t.reshape((1,) + tuple(t.shape)), weight, ignore_index,
                             reduction, label_smoothing)
        return loss.reshape(()) if reduction == "none" else loss
    if soft:
        _no_target_grad("cross_entropy", target)
        return SoftCrossEntropy.apply(input, t, weight, ignore_index=ignore_index, reduction=reduction,
                                      label_smoothing=label_smoothing)
    return CrossEntropy.apply(input, target, weight, ignore_index=ignore_index, reduction=reduction)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """NLL of log-probabilities (N, C) or (N, C, d1, ...) (e.g. log_softmax output) at integer
    targets; (C,) with a 0-d target is one unbatched sample."""
    return _unbatched(input, target, reduction, lambda x, y: NLLLoss.apply(
        x, y, weight, ignore_index=ignore_index, reduction=reduction))


def mse_loss(input, target, reduction="mean"):
    """Mean (or summed, or elementwise) squared error; input and target of one shape."""
    return MSELoss.apply(input, target, reduction=reduction)


def smooth_l1_loss(input, target, beta=1.0, reduction="mean"):
    """Smooth L1: 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target;
    the L1 loss when beta = 0), as ``torch.nn.functional.smooth_l1_loss``."""
    return SmoothL1Loss.apply(input, target, beta=beta, reduction=reduction)


def huber_loss(input, target, delta=1.0, reduction="mean"):
    """Huber: 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta), as
    ``torch.nn.functional.huber_loss``; equals smooth_l1_loss for delta = beta = 1."""
    return HuberLoss.apply(input, target, delta=delta, reduction=reduction)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """BCE of probabilities input in [0, 1] against targets of the same shape."""
    _no_target_grad("binary_cross_entropy", target)
    return BCELoss.apply(input, target, weight, reduction=reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """BCE of sigmoid(input), computed stably from the logits; pos_weight scales positives."""
    _no_target_grad("binary_cross_entropy_with_logits", target)
    return BCEWithLogitsLoss.apply(input, target, weight, pos_weight, reduction=reduction)
