"""Fused optimizer updates: one kernel pass updates a parameter and its state in place.

Update rules are PyTorch's (torch.optim single-tensor code, operation for operation), so the
same gradients give the same weights to float64 precision:

- ``sgd_step``: d = g + wd p; buf = d on the first step, else momentum buf + (1 - dampening) d;
  d = d + momentum buf (nesterov) or buf; p -= lr d.
- ``adam_step``: Adam's weight_decay is L2 added to g (AdamW's, with
  ``decoupled_weight_decay``, scales p by 1 - lr wd); m = lerp(m, g, 1 - beta1);
  v = beta2 v + (1 - beta2) g^2; p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps),
  with v replaced by max(vmax, v) under amsgrad.
- ``rmsprop_step``: s = alpha s + (1 - alpha) g^2; eps is added *outside* the square root;
  centered subtracts the squared running mean of g; momentum accumulates g / (sqrt(.) + eps).

All arrays of one call share the parameter's shape, dtype (float32/float64) and device (NumPy ->
CPU kernel, CuPy -> CUDA kernel). The parameter and state arrays are updated in place, so they
must be C-contiguous and writable; the gradient may be any layout.
"""
from __future__ import annotations

import math

from .. import _checks
from .._backend import is_array, kernels


def _arrays(op, param, grad, **state):
    """Check param/grad/state; in-place arrays are never copied, so they must be contiguous."""
    for name, x in {"param": param, **state}.items():
        # CuPy flags have no `writeable` (x.flags.writeable raised AttributeError on every GPU step)
        if is_array(x) and not (x.flags.c_contiguous and getattr(x.flags, "writeable", True)):
            raise ValueError(f"{op}: {name} must be C-contiguous and writable (it is updated in place)")
    xp, arrays = _checks.arrays(op, param=param, grad=grad, **state)
    for name, x in zip(["grad", *state], arrays[1:]):
        if x is not None and x.shape != param.shape:
            raise ValueError(f"{op}: {name} has shape {tuple(x.shape)} but param has shape {tuple(param.shape)}")
    return xp, arrays


def sgd_step(param, grad, momentum_buffer=None, *, lr, momentum=0.0, dampening=0.0, nesterov=False,
             weight_decay=0.0, first_step=False):
    """One SGD step in place on ``param`` (and ``momentum_buffer``, required iff momentum != 0;
    ``first_step`` initializes it to the raw update, as PyTorch)."""
    op = "sgd_step"
    xp, (param, grad, buf) = _arrays(op, param, grad, momentum_buffer=momentum_buffer)
    kernels(xp).sgd_step(param, grad, buf, _checks.real(op, "lr", lr), _checks.real(op, "momentum", momentum),
                         _checks.real(op, "dampening", dampening), _checks.real(op, "weight_decay", weight_decay),
                         bool(nesterov), bool(first_step))


def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq=None, *, step, lr=1e-3, beta1=0.9, beta2=0.999,
              eps=1e-8, weight_decay=0.0, amsgrad=False, decoupled_weight_decay=False):
    """One Adam (AdamW with ``decoupled_weight_decay``) step in place; ``step`` is the 1-based
    count of this step (for the bias corrections); ``max_exp_avg_sq`` is required iff amsgrad."""
    op = "adam_step"
    xp, (param, grad, m, v, vmax) = _arrays(op, param, grad, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq,
                                            max_exp_avg_sq=max_exp_avg_sq)
    step = _checks.integer(op, "step", step, minimum=1)
    lr, beta1 = _checks.real(op, "lr", lr), _checks.real(op, "beta1", beta1)
    beta2 = _checks.real(op, "beta2", beta2)
    step_size = lr / (1 - beta1 ** step)
    bias_correction2_sqrt = math.sqrt(1 - beta2 ** step)
    kernels(xp).adam_step(param, grad, m, v, vmax, lr, beta1, beta2, _checks.real(op, "eps", eps),
                          _checks.real(op, "weight_decay", weight_decay), step_size, bias_correction2_sqrt,
                          bool(amsgrad), bool(decoupled_weight_decay))


def rmsprop_step(param, grad, square_avg, grad_avg=None, momentum_buffer=None, *, lr=0.01, alpha=0.99, eps=1e-8,
                 weight_decay=0.0, momentum=0.0, centered=False):
    """One RMSprop step in place; ``grad_avg`` is required iff centered, ``momentum_buffer`` iff
    momentum > 0 (both start at zero, as PyTorch)."""
    op = "rmsprop_step"
    xp, (param, grad, s, a, buf) = _arrays(op, param, grad, square_avg=square_avg, grad_avg=grad_avg,
                                           momentum_buffer=momentum_buffer)
    kernels(xp).rmsprop_step(param, grad, s, a, buf, _checks.real(op, "lr", lr), _checks.real(op, "alpha", alpha),
                             _checks.real(op, "eps", eps), _checks.real(op, "weight_decay", weight_decay),
                             _checks.real(op, "momentum", momentum), bool(centered))
