"""Gradient clipping and the explicit L2 penalty (torch.nn.utils names and semantics)."""
from __future__ import annotations

import math

import numpy as np

from .. import _checks
from .._backend import array_module
from ..autograd import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "l2_penalty"]


def _params(op, parameters):
    if isinstance(parameters, Tensor):
        return [parameters]
    params = list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: parameters[{i}] must be a Tensor/Parameter, got {type(p).__name__}")
    return params


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0):
    """Scale all gradients in place by min(1, max_norm / (total_norm + 1e-6)), where
    total_norm is the ``norm_type``-norm of all gradients seen as one vector (``inf`` for the
    max norm). Returns total_norm (a 0-d array in the gradients' dtype, before clipping), as
    PyTorch does."""
    op = "clip_grad_norm_"
    max_norm = _checks.real(op, "max_norm", max_norm, low=0.0)
    norm_type = float(norm_type)
    if not norm_type > 0:
        raise ValueError(f"{op}: norm_type must be > 0 or inf, got {norm_type}")
    grads = [p.grad.data for p in _params(op, parameters) if p.grad is not None]
    if not grads:
        return np.zeros((), dtype=np.float32)
    xp = array_module(grads[0])
    if math.isinf(norm_type):
        norms = xp.stack([xp.abs(g).max() if g.size else xp.zeros((), g.dtype) for g in grads])
        total = norms.max()
    else:
        norms = xp.stack([xp.linalg.norm(g.reshape(-1), norm_type) for g in grads])
        total = xp.linalg.norm(norms, norm_type)
    coef = xp.minimum(max_norm / (total + 1e-6), 1.0)
    if not coef >= 1.0:  # a factor of 1 changes nothing: skip a pass over every gradient (NaN still scales)
        for g in grads:
            g *= coef.astype(g.dtype)
    return total


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clamp every gradient in place to [-clip_value, clip_value]."""
    op = "clip_grad_value_"
    clip_value = _checks.real(op, "clip_value", clip_value, low=0.0)
    for p in _params(op, parameters):
        if p.grad is not None:
            g = p.grad.data
            array_module(g).clip(g, -clip_value, clip_value, out=g)


def l2_penalty(parameters, weight: float):
    """weight * sum of squares of all ``parameters``: the explicit L2 regularization term to
    add to a loss (differentiable). The course's lambda / (2 m) * sum ||W||^2 is
    ``l2_penalty(weights, lam / (2 * m))``; its gradient 2 * weight * W equals SGD's
    ``weight_decay = 2 * weight``."""
    op = "l2_penalty"
    weight = _checks.real(op, "weight", weight, low=0.0)
    params = _params(op, parameters)
    if not params:
        raise ValueError(f"{op}: parameters is empty")
    total = None
    for p in params:
        term = (p * p).sum()
        total = term if total is None else total + term
    return total * weight
