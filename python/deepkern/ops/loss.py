"""Losses and their backward passes (array in, array out), with PyTorch's semantics.

``cross_entropy`` is one fused kernel (log-softmax + NLL, never materializing log-softmax)
over logits (N, C) or (N, C, d1, ...) and integer class targets (N,) or (N, d1, ...). As in
PyTorch it also takes class-probability targets (a float array of the logits' shape) and
``label_smoothing``; those go through the log-softmax kernel (``soft_cross_entropy_*``).
Unbatched inputs, logits (C,) with a 0-d class target, work as a batch of one with the batch
dimension dropped from the result, as in PyTorch (also for ``nll_loss``).
The elementwise losses (mse, smooth L1 / Huber, the BCEs) share one kernel.
Reductions: 'none' (per-row / per-element losses), 'sum', 'mean'. For the class losses
'mean' divides by the sum of the target classes' weights over non-ignored rows (the row count
when weight is None), as PyTorch does; for the elementwise losses by the element count.
Reduced results are 0-d arrays of the input's dtype.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import _checks
from .._backend import kernels
from .softmax import log_softmax

REDUCTIONS = ("none", "mean", "sum")


def _reduction(op, reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


def _divide(xp, total, denom):
    with np.errstate(invalid="ignore", divide="ignore"):  # 0/0 -> nan, as PyTorch
        return xp.asarray(total / denom)


# ---- class losses ------------------------------------------------------------------------
def _class_target(op, x, target, weight, ignore_index, xp, what="logits"):
    """Validate (N, C, d...) scores against (N, d...) labels; returns (target int64, valid mask)."""
    if x.ndim < 2:
        raise ValueError(f"{op}: {what} must be (C,) with a 0-d target, (N, C) or (N, C, d1, ...), got shape "
                         f"{tuple(x.shape)}")
    ignore_index = _checks.integer(op, "ignore_index", ignore_index)
    target = _checks.index_array(op, "target", target, xp)
    expected = (x.shape[0],) + tuple(x.shape[2:])
    if tuple(target.shape) != expected:
        raise ValueError(f"{op}: target must have shape {expected} to match {what} of shape "
                         f"{tuple(x.shape)}, got {tuple(target.shape)}")
    n_classes = x.shape[1]
    if n_classes == 0:
        raise ValueError(f"{op}: {what} must have at least one class (C >= 1), got shape {tuple(x.shape)}")
    if weight is not None and tuple(weight.shape) != (n_classes,):
        raise ValueError(f"{op}: weight must have shape ({n_classes},) (one per class), "
                         f"got {tuple(weight.shape)}")
    valid = target != ignore_index
    bad = valid & ((target < 0) | (target >= n_classes))
    if bool(bad.any()):
        label = int(target[bad][0])
        raise ValueError(f"{op}: target contains label {label} outside [0, {n_classes}) "
                         f"(C={n_classes} classes from {what}.shape={tuple(x.shape)}, "
                         f"ignore_index={ignore_index})")
    return target, valid, ignore_index


def _class_denominator(xp, target, valid, weight, dtype):
    if weight is None:
        return valid.sum(dtype=dtype)
    return (weight[xp.where(valid, target, 0)] * valid).sum()


def _class_grad(op, xp, grad_out, target, valid, weight, reduction, dtype):
    """The upstream gradient per row: (1,) for 'mean'/'sum', target's shape for 'none'."""
    if reduction == "none":
        _checks.shape(op, "grad_out", grad_out, target.shape)
        return grad_out
    _checks.shape(op, "grad_out", grad_out, ())
    g = grad_out.reshape(1)
    if reduction == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            g = (g / _class_denominator(xp, target, valid, weight, dtype)).astype(dtype)
    return g


def cross_entropy_forward(logits, target, weight=None, ignore_index=-100, reduction="mean"):
    """Fused log-softmax + NLL. logits (N, C) or (N, C, d1, ...); target (N,) or (N, d1, ...)
    integer class ids in [0, C) or ``ignore_index``; weight (C,) or None.

    Returns ``(loss, row_max, row_logsum)``: the reduced loss, and per row (target's shape)
    max_c logits and log(sum_c exp(logits - max)), which ``cross_entropy_backward`` needs.
    """
    op = "cross_entropy"
    _reduction(op, reduction)
    xp, (logits, weight) = _checks.arrays(op, logits=logits, weight=weight)
    target, valid, ignore_index = _class_target(op, logits, target, weight, ignore_index, xp)
    rows = [xp.empty(target.shape, dtype=logits.dtype) for _ in range(3)]
    kernels(xp).cross_entropy_forward(logits, target, weight, *rows, ignore_index)
    loss, row_max, row_logsum = rows
    if reduction == "sum":
        loss = xp.asarray(loss.sum())
    elif reduction == "mean":
        loss = _divide(xp, loss.sum(), _class_denominator(xp, target, valid, weight, logits.dtype))
    return loss, row_max, row_logsum


def cross_entropy(logits, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Cross-entropy of logits (N, C) or (N, C, d1, ...) against integer class targets (N,) or
    (N, d1, ...), or class probabilities of the logits' shape; logits (C,) with a 0-d or (C,)
    target is one unbatched sample. ``label_smoothing`` in [0, 1] mixes the target with the
    uniform distribution, as PyTorch. Mean over the batch by default (see the module docstring)."""
    if is_soft(target, label_smoothing):
        return soft_cross_entropy_forward(logits, target, weight, ignore_index, reduction, label_smoothing)[0]
    logits, target, squeeze = _unbatched("cross_entropy", logits, target)
    loss = cross_entropy_forward(logits, target, weight, ignore_index, reduction)[0]
    return loss.reshape(()) if squeeze and reduction == "none" else loss


def _unbatched(op, x, target):
    """(C,) scores with a 0-d target are a batch of one: ((1, C), (1,), True)."""
    if getattr(x, "ndim", None) == 1 and getattr(target, "ndim", None) == 0:
        return x.reshape(1, -1), target.reshape(1), True
    return x, target, False


def is_soft(target, label_smoothing=0.0):
    """Whether cross_entropy takes its soft path: probability targets or label smoothing."""
    return getattr(getattr(target, "dtype", None), "kind", "") == "f" or label_smoothing != 0


def _soft_coefficients(op, logits, target, weight, ignore_index, label_smoothing, xp):
    """a (logits' shape) with loss_row = -sum_c a[:, c] * log_softmax(logits)[:, c], and the
    'mean' denominator (PyTorch's: the row count for probability targets, the summed target
    weights of non-ignored rows for class targets)."""
    eps = _checks.real(op, "label_smoothing", label_smoothing, 0.0, 1.0)
    n_classes = logits.shape[1]
    w = None if weight is None else weight.reshape((1, n_classes) + (1,) * (logits.ndim - 2))
    if target.dtype.kind == "f":
        if ignore_index != -100:
            raise ValueError(f"{op}: ignore_index is not supported for class-probability targets")
        if tuple(target.shape) != tuple(logits.shape):
            raise ValueError(f"{op}: target must be integer class ids of shape "
                             f"{(logits.shape[0],) + tuple(logits.shape[2:])} or class probabilities of the logits' "
                             f"shape {tuple(logits.shape)}, got {target.dtype} of shape {tuple(target.shape)}")
        a = target * logits.dtype.type(1 - eps) + logits.dtype.type(eps / n_classes) if eps else target
        a = a * w if w is not None else a
        return a.astype(logits.dtype, copy=False), logits.dtype.type(logits.size // max(n_classes, 1))
    target, valid, _ = _class_target(op, logits, target, weight, ignore_index, xp)
    onehot = xp.expand_dims(xp.where(valid, target, 0), 1) == xp.arange(n_classes).reshape(
        (1, n_classes) + (1,) * (logits.ndim - 2))
    a = onehot * logits.dtype.type(1 - eps) + logits.dtype.type(eps / n_classes)
    a = (a * w if w is not None else a) * xp.expand_dims(valid, 1)
    return a.astype(logits.dtype, copy=False), _class_denominator(xp, target, valid, weight, logits.dtype)


def _soft_args(op, logits, target, weight, reduction):
    _reduction(op, reduction)
    if getattr(getattr(target, "dtype", None), "kind", "") == "f":  # probabilities: same dtype and device
        xp, (logits, target, weight) = _checks.arrays(op, logits=logits, target=target, weight=weight)
    else:
        xp, (logits, weight) = _checks.arrays(op, logits=logits, weight=weight)
    squeeze = logits.ndim == 1 and (target.ndim == 0 or (target.dtype.kind == "f" and target.ndim == 1))
    if squeeze:
        logits, target = logits.reshape(1, -1), target.reshape((1,) + tuple(target.shape))
    if logits.ndim < 2:
        raise ValueError(f"{op}: logits must be (C,), (N, C) or (N, C, d1, ...), got shape {tuple(logits.shape)}")
    return xp, logits, target, weight, squeeze


def soft_cross_entropy_forward(logits, target, weight=None, ignore_index=-100, reduction="mean",
                               label_smoothing=0.0):
    """cross_entropy with class-probability targets or label smoothing. Returns ``(loss, logp)``
    (logp = log_softmax(logits, axis=1), which the backward needs)."""
    op = "cross_entropy"
    xp, logits, target, weight, squeeze = _soft_args(op, logits, target, weight, reduction)
    a, denom = _soft_coefficients(op, logits, target, weight, ignore_index, label_smoothing, xp)
    logp = log_softmax(logits, axis=1)
    with np.errstate(invalid="ignore"):  # 0 * -inf where a class has probability 0: PyTorch's NaN too
        rows = -(a * logp).sum(axis=1)
    if reduction == "sum":
        loss = xp.asarray(rows.sum())
    elif reduction == "mean":
        loss = _divide(xp, rows.sum(), denom)
    else:
        loss = rows.reshape(rows.shape[1:]) if squeeze else rows
    return loss, logp


def soft_cross_entropy_backward(grad_out, logp, target, weight=None, ignore_index=-100, reduction="mean",
                                label_smoothing=0.0):
    """Gradient of soft_cross_entropy_forward wrt the logits: g_row * (p * sum_c a_c - a)."""
    op = "cross_entropy_backward"
    xp, logp, target, weight, squeeze = _soft_args(op, logp, target, weight, reduction)
    a, denom = _soft_coefficients(op, logp, target, weight, ignore_index, label_smoothing, xp)
    grad_out = xp.asarray(grad_out, dtype=logp.dtype)
    if reduction == "none":
        g = xp.expand_dims(grad_out.reshape((logp.shape[0],) + tuple(logp.shape[2:])), 1)
    else:
        _checks.shape(op, "grad_out", grad_out, ())
        g = grad_out / denom if reduction == "mean" else grad_out
    grad = ((xp.exp(logp) * a.sum(axis=1, keepdims=True) - a) * g).astype(logp.dtype, copy=False)
    return grad.reshape(-1) if squeeze else grad


def cross_entropy_backward(grad_out, logits, target, row_max, row_logsum, weight=None, ignore_index=-100,
                           reduction="mean"):
    """Gradient of cross_entropy wrt logits: g_row * w[t] * (softmax(logits) - onehot(t))."""
    op = "cross_entropy_backward"
    _reduction(op, reduction)
    xp, (grad_out, logits, row_max, row_logsum, weight) = _checks.arrays(
        op, grad_out=grad_out, logits=logits, row_max=row_max, row_logsum=row_logsum, weight=weight)
    target, valid, ignore_index = _class_target(op, logits, target, weight, ignore_index, xp)
    _checks.shape(op, "row_max", row_max, target.shape)
    _checks.shape(op, "row_logsum", row_logsum, target.shape)
    g = _class_grad(op, xp, grad_out, target, valid, weight, reduction, logits.dtype)
    grad = xp.empty_like(logits)
    kernels(xp).cross_entropy_backward(logits, target, weight, row_max, row_logsum, g, grad, ignore_index)
    return grad


def _nll_flat_index(xp, logp, target, valid):
    """Flat index of logp[n, target[n, i...], i...] for every row (0 for ignored rows)."""
    n, c = logp.shape[:2]
    inner = int(np.prod(logp.shape[2:], dtype=np.int64))
    rows = xp.arange(target.size, dtype=np.int64).reshape(target.shape)
    outer_idx, inner_idx = rows // max(inner, 1), rows % max(inner, 1)
    return (outer_idx * c + xp.where(valid, target, 0)) * inner + inner_idx


def nll_loss(logp, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities logp (N, C) or (N, C, d1, ...) (e.g. the
    output of log_softmax) at integer targets: -w[t] * logp[n, t]; logp (C,) with a 0-d target
    is one unbatched sample. A gather: no kernel needed."""
    op = "nll_loss"
    _reduction(op, reduction)
    xp, (logp, weight) = _checks.arrays(op, logp=logp, weight=weight)
    logp, target, squeeze = _unbatched(op, logp, target)
    if squeeze:
        loss = nll_loss(logp, target, weight, ignore_index, reduction)
        return loss.reshape(()) if reduction == "none" else loss
    target, valid, _ = _class_target(op, logp, target, weight, ignore_index, xp, what="logp")
    picked = logp.reshape(-1)[_nll_flat_index(xp, logp, target, valid)]
    w = valid.astype(logp.dtype) if weight is None else weight[xp.where(valid, target, 0)] * valid
    loss = -(w * picked)
    if reduction == "sum":
        return xp.asarray(loss.sum())
    if reduction == "mean":
        return _divide(xp, loss.sum(), w.sum())
    return loss


def nll_loss_backward(grad_out, logp, target, weight=None, ignore_index=-100, reduction="mean"):
    """Gradient of nll_loss wrt logp: -g_row * w[t] at each row's target class, 0 elsewhere."""
    op = "nll_loss_backward"
    _reduction(op, reduction)
    xp, (grad_out, logp, weight) = _checks.arrays(op, grad_out=grad_out, logp=logp, weight=weight)
    logp, target, squeeze = _unbatched(op, logp, target)
    if squeeze:
        return nll_loss_backward(grad_out.reshape((1,) if reduction == "none" else ()), logp, target, weight,
                                 ignore_index, reduction).reshape(-1)
    target, valid, _ = _class_target(op, logp, target, weight, ignore_index, xp, what="logp")
    g = _class_grad(op, xp, grad_out, target, valid, weight, reduction, logp.dtype)
    g = g if reduction != "none" else g[valid]
    w = xp.ones(1, logp.dtype) if weight is None else weight[target[valid]]
    grad = xp.zeros_like(logp)
    grad.reshape(-1)[_nll_flat_index(xp, logp, target, valid)[valid]] = -(g * w)
    return grad


# ---- elementwise losses --------------------------------------------------------------------
def _pointwise_args(op, input, target, weight=None, pos_weight=None, grad_out=None):
    xp, (input, target, weight, pos_weight, grad_out) = _checks.arrays(
        op, input=input, target=target, weight=weight, pos_weight=pos_weight, grad_out=grad_out)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"{op}: target must have the shape of input {tuple(input.shape)}, "
                         f"got {tuple(target.shape)}")
    expanded = []
    for name, w in (("weight", weight), ("pos_weight", pos_weight)):
        if w is not None:
            try:
                w = xp.ascontiguousarray(xp.broadcast_to(w, input.shape))
            except ValueError:
                raise ValueError(f"{op}: {name} of shape {tuple(w.shape)} does not broadcast to input's "
                                 f"shape {tuple(input.shape)}") from None
        expanded.append(w)
    return xp, input, target, expanded[0], expanded[1], grad_out


def _pointwise_forward(op, kind, input, target, weight, pos_weight, reduction, param=0.0):
    _reduction(op, reduction)
    xp, input, target, weight, pos_weight, _ = _pointwise_args(op, input, target, weight, pos_weight)
    if kind == "bce" and input.size and not bool(((input >= 0) & (input <= 1)).all()):  # NaN fails too
        what = "NaN" if bool(xp.isnan(input).any()) else f"values in [{float(input.min())}, {float(input.max())}]"
        raise ValueError(f"{op}: input must hold probabilities in [0, 1], got {what}")
    loss = xp.empty_like(input)
    kernels(xp).pointwise_loss_forward(kind, input, target, weight, pos_weight, param, loss)
    if reduction == "sum":
        return xp.asarray(loss.sum())
    if reduction == "mean":
        return _divide(xp, loss.sum(), input.dtype.type(input.size))
    return loss


def _pointwise_backward(op, kind, grad_out, input, target, weight, pos_weight, reduction, param=0.0):
    _reduction(op, reduction)
    xp, input, target, weight, pos_weight, grad_out = _pointwise_args(op, input, target, weight, pos_weight,
                                                                      grad_out)
    if reduction == "none":
        _checks.shape(op, "grad_out", grad_out, input.shape)
        g = grad_out
    else:
        _checks.shape(op, "grad_out", grad_out, ())
        g = grad_out.reshape(1)
        if reduction == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):
                g = (g / input.dtype.type(input.size)).astype(input.dtype)
    grad = xp.empty_like(input)
    kernels(xp).pointwise_loss_backward(kind, input, target, weight, pos_weight, param, g, grad)
    return grad


def mse_loss(input, target, reduction="mean"):
    """(input - target)^2, reduced; input and target of one shape."""
    return _pointwise_forward("mse_loss", "mse", input, target, None, None, reduction)


def mse_loss_backward(grad_out, input, target, reduction="mean"):
    """Gradient of mse_loss wrt input: 2 (input - target) g (the target's gradient is its negative)."""
    return _pointwise_backward("mse_loss_backward", "mse", grad_out, input, target, None, None, reduction)


def _threshold(op, name, v, positive):
    """beta (>= 0, as PyTorch) or delta (> 0) as a float; NaN is refused."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise TypeError(f"{op}: {name} must be a real number, got {type(v).__name__} {v!r}")
    v = float(v)
    if not (v > 0 if positive else v >= 0):
        raise ValueError(f"{op}: {name} must be {'> 0' if positive else '>= 0'}, got {v}")
    return v


def smooth_l1_loss(input, target, beta=1.0, reduction="mean"):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta, for d = input - target (the L1
    loss when beta = 0); input and target of one shape."""
    op = "smooth_l1_loss"
    return _pointwise_forward(op, "smooth_l1", input, target, None, None, reduction, _threshold(op, "beta", beta, positive=False))


def smooth_l1_loss_backward(grad_out, input, target, beta=1.0, reduction="mean"):
    """Gradient of smooth_l1_loss wrt input: g * clamp(d / beta, -1, 1) (g * sign(d) when
    beta = 0); the target's gradient is its negative."""
    op = "smooth_l1_loss_backward"
    return _pointwise_backward(op, "smooth_l1", grad_out, input, target, None, None, reduction, _threshold(op, "beta", beta, positive=False))


def huber_loss(input, target, delta=1.0, reduction="mean"):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta), for d = input - target:
    delta * smooth_l1_loss with beta = delta (DQN's loss with delta = 1, where both agree)."""
    op = "huber_loss"
    return _pointwise_forward(op, "huber", input, target, None, None, reduction, _threshold(op, "delta", delta, positive=True))


def huber_loss_backward(grad_out, input, target, delta=1.0, reduction="mean"):
    """Gradient of huber_loss wrt input: g * clamp(d, -delta, delta)."""
    op = "huber_loss_backward"
    return _pointwise_backward(op, "huber", grad_out, input, target, None, None, reduction, _threshold(op, "delta", delta, positive=True))


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-(y log p + (1 - y) log(1 - p)) for probabilities p = input in [0, 1], the logs clamped
    at -100 as PyTorch does; weight broadcasts to input's shape."""
    return _pointwise_forward("binary_cross_entropy", "bce", input, target, weight, None, reduction)


def binary_cross_entropy_backward(grad_out, input, target, weight=None, reduction="mean"):
    """Gradient wrt p: g w (p - y) / max(p (1 - p), 1e-12), as PyTorch."""
    return _pointwise_backward("binary_cross_entropy_backward", "bce", grad_out, input, target, weight, None,
                               reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """BCE of sigmoid(input) in the stable form max(z, 0) - z y + log1p(exp(-|z|)); with
    pos_weight (broadcast like PyTorch, e.g. (C,) for (N, C)) the positive term is scaled."""
    return _pointwise_forward("binary_cross_entropy_with_logits", "bce_logits", input, target, weight,
                              pos_weight, reduction)


def binary_cross_entropy_with_logits_backward(grad_out, input, target, weight=None, reduction="mean",
                                              pos_weight=None):
    """Gradient wrt the logits z: g w ((1 - y) + (1 + (pw - 1) y)(sigmoid(z) - 1)); = g w (sigmoid(z) - y)
    without pos_weight."""
    return _pointwise_backward("binary_cross_entropy_with_logits_backward", "bce_logits", grad_out, input,
                               target, weight, pos_weight, reduction)
