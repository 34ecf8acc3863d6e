"""Pure-NumPy losses: the ground truth for deepkern.ops.loss (same names and signatures)."""
import numpy as np

from .softmax import log_softmax


def _reduce(rows, reduction, denom):
    if reduction == "none":
        return rows
    if reduction == "sum":
        return rows.sum()
    with np.errstate(invalid="ignore", divide="ignore"):  # 0/0 -> nan, as PyTorch
        return rows.sum() / denom


def _class_grad(grad_out, w, reduction):
    """Upstream gradient times the row weights; rows of weight 0 (ignored) get exactly 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        if reduction == "mean":
            grad_out = grad_out / w.sum()
        return np.where(w != 0, grad_out * w, 0)


def _pick(x, target):
    """x[n, target[n, i...], i...] for (N, C, d...) x and (N, d...) target (ids already valid)."""
    return np.take_along_axis(x, target[:, None], axis=1)[:, 0]


def _row_weights(target, weight, ignore_index, dtype):
    valid = target != ignore_index
    t = np.where(valid, target, 0)
    w = np.ones(target.shape, dtype) if weight is None else weight[t]
    return t, w * valid


def nll_loss(logp, target, weight=None, ignore_index=-100, reduction="mean"):
    t, w = _row_weights(target, weight, ignore_index, logp.dtype)
    return _reduce(-w * _pick(logp, t), reduction, w.sum())


def nll_loss_backward(grad_out, logp, target, weight=None, ignore_index=-100, reduction="mean"):
    t, w = _row_weights(target, weight, ignore_index, logp.dtype)
    onehot = np.arange(logp.shape[1]).reshape((1, -1) + (1,) * (logp.ndim - 2)) == t[:, None]
    return -_class_grad(grad_out, w, reduction)[:, None] * onehot


def cross_entropy_forward(logits, target, weight=None, ignore_index=-100, reduction="mean"):
    row_max = logits.max(axis=1)
    z = logits - row_max[:, None]
    row_logsum = np.log(np.exp(z).sum(axis=1))
    return nll_loss(log_softmax(logits, axis=1), target, weight, ignore_index, reduction), row_max, row_logsum


def cross_entropy(logits, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """PyTorch's cross_entropy, written as its source states it: class ids or probabilities,
    label smoothing, unbatched (C,) input."""
    if logits.ndim == 1:
        loss = cross_entropy(logits[None], target[None], weight, ignore_index, reduction, label_smoothing)
        return loss[0] if reduction == "none" else loss
    logp = log_softmax(logits, axis=1)
    n_classes = logits.shape[1]
    w = np.ones(n_classes, logits.dtype) if weight is None else weight
    w_b = w.reshape((1, n_classes) + (1,) * (logits.ndim - 2))
    eps = label_smoothing
    if target.dtype.kind == "f":  # class probabilities
        q = target * (1 - eps) + eps / n_classes if eps else target
        rows = -(logp * q * w_b).sum(axis=1)
        return _reduce(rows, reduction, logits.size / n_classes)
    nll = nll_loss(logp, target, weight, ignore_index, reduction)
    if not eps:
        return nll
    t, row_w = _row_weights(target, weight, ignore_index, logits.dtype)
    smooth = np.where(target != ignore_index, -(logp * w_b).sum(axis=1), 0)
    return (1 - eps) * nll + _reduce(smooth, reduction, row_w.sum()) * (eps / n_classes)


def cross_entropy_backward(grad_out, logits, target, row_max, row_logsum, weight=None, ignore_index=-100,
                           reduction="mean"):
    p = np.exp((logits - row_max[:, None]) - row_logsum[:, None])
    _, w = _row_weights(target, weight, ignore_index, logits.dtype)
    return _class_grad(grad_out, w, reduction)[:, None] * p + nll_loss_backward(grad_out, logits, target, weight, ignore_index, reduction)


def mse_loss(input, target, reduction="mean"):
    return _reduce((input - target) ** 2, reduction, input.size)


def mse_loss_backward(grad_out, input, target, reduction="mean"):
    g = grad_out / input.size if reduction == "mean" else grad_out
    return 2 * (input - target) * g


def smooth_l1_loss(input, target, beta=1.0, reduction="mean"):
    d = np.abs(input - target)
    rows = d if beta == 0 else np.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta)
    return _reduce(rows, reduction, input.size)


def _mean_grad(grad_out, input, reduction):
    with np.errstate(invalid="ignore", divide="ignore"):  # an empty input: no element takes it
        return grad_out / input.size if reduction == "mean" else grad_out


def smooth_l1_loss_backward(grad_out, input, target, beta=1.0, reduction="mean"):
    g = _mean_grad(grad_out, input, reduction)
    d = input - target
    inner = np.sign(d) if beta == 0 else d / beta
    return g * np.where(d < -beta, -1, np.where(d > beta, 1, inner))


def huber_loss(input, target, delta=1.0, reduction="mean"):
    d = np.abs(input - target)
    return _reduce(np.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta)), reduction, input.size)


def huber_loss_backward(grad_out, input, target, delta=1.0, reduction="mean"):
    g = _mean_grad(grad_out, input, reduction)
    d = input - target
    return g * np.where(d < -delta, -delta, np.where(d > delta, delta, d))


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    with np.errstate(divide="ignore"):
        logp, log1mp = np.maximum(np.log(input), -100), np.maximum(np.log1p(-input), -100)
    rows = -(target * logp + (1 - target) * log1mp)
    return _reduce(rows if weight is None else weight * rows, reduction, input.size)


def binary_cross_entropy_backward(grad_out, input, target, weight=None, reduction="mean"):
    g = grad_out / input.size if reduction == "mean" else grad_out
    d = (input - target) / np.maximum((1 - input) * input, 1e-12)
    return g * (d if weight is None else weight * d)


def _sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    softplus_neg = np.log1p(np.exp(-np.abs(input))) + np.maximum(-input, 0)
    lw = 1 if pos_weight is None else 1 + (pos_weight - 1) * target
    rows = (1 - target) * input + lw * softplus_neg
    return _reduce(rows if weight is None else weight * rows, reduction, input.size)


def binary_cross_entropy_with_logits_backward(grad_out, input, target, weight=None, reduction="mean",
                                              pos_weight=None):
    g = grad_out / input.size if reduction == "mean" else grad_out
    lw = 1 if pos_weight is None else 1 + (pos_weight - 1) * target
    d = (1 - target) + lw * (_sigmoid(input) - 1)
    return g * (d if weight is None else weight * d)
