"""Batch normalization (array in, array out), PyTorch's semantics.

x is (N, C), (N, C, L) or (N, C, H, W) (any (N, C, *)); statistics are per channel over N and
the trailing dims. Training normalizes with the batch mean and biased variance and updates
the running buffers IN PLACE with the unbiased variance; eval uses the running buffers.
"""
from __future__ import annotations

from .. import _checks
from .._backend import array_module, is_array, kernels


def _running_buffer(op, name, buf, x):
    """Running stats are updated in place: they must be (C,) arrays we can write, not copies."""
    if buf is None:
        return None
    if not is_array(buf) or array_module(buf) is not array_module(x):
        raise TypeError(f"{op}: {name} must be {'a NumPy' if array_module(x).__name__ == 'numpy' else 'a CuPy'} "
                        f"array like x, got {type(buf).__name__}")
    if buf.dtype != x.dtype:
        raise TypeError(f"{op}: {name} is {buf.dtype} but x is {x.dtype}")
    _checks.shape(op, name, buf, (x.shape[1],))
    if not buf.flags.c_contiguous or not getattr(buf.flags, "writeable", True):  # CuPy has no flag
        raise ValueError(f"{op}: {name} must be C-contiguous and writable (it is updated in place)")
    return buf


def _check_x(op, x):
    if x.ndim < 2:
        raise ValueError(f"{op}: x must be (N, C), (N, C, L) or (N, C, H, W), got shape {tuple(x.shape)}")


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Normalize x (N, C, *) per channel; weight, bias (C,) or None; running_mean/var (C,) or None
    (then training must be True: batch statistics only, nothing tracked).

    Returns ``(y, save_mean, save_invstd)``: y like x, and the (C,) mean and 1/sqrt(var + eps)
    used, which batch_norm_backward needs. momentum: new = (1 - momentum) * old + momentum * stat.
    """
    op = "batch_norm"
    xp, (x, weight, bias) = _checks.arrays(op, x=x, weight=weight, bias=bias)
    _check_x(op, x)
    c = x.shape[1]
    for name, v in (("weight", weight), ("bias", bias)):
        if v is not None:
            _checks.shape(op, name, v, (c,))
    running_mean = _running_buffer(op, "running_mean", running_mean, x)
    running_var = _running_buffer(op, "running_var", running_var, x)
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{op}: running_mean and running_var must both be arrays or both be None")
    if not training and running_mean is None:
        raise ValueError(f"{op}: eval mode (training=False) needs running_mean and running_var")
    momentum = _checks.real(op, "momentum", momentum, 0.0, 1.0)
    eps = _checks.real(op, "eps", eps, 0.0)
    if eps <= 0:
        raise ValueError(f"{op}: eps must be > 0, got {eps}")
    if training and x.size == c:
        raise ValueError(f"{op}: expected more than 1 value per channel when training, got x of shape "
                         f"{tuple(x.shape)}")
    y = xp.empty_like(x)
    save_mean, save_invstd = xp.empty(c, x.dtype), xp.empty(c, x.dtype)
    kernels(xp).batch_norm_forward(x, y, weight, bias, running_mean, running_var, save_mean, save_invstd,
                                   bool(training), momentum, eps)
    return y, save_mean, save_invstd


def batch_norm_backward(grad_out, x, weight, save_mean, save_invstd, training=True):
    """Gradients of batch_norm: ``(grad_x, grad_weight, grad_bias)``, the last two (C,).

    training=True differentiates through the batch statistics (the full formula);
    training=False treats the (running) statistics as constants.
    """
    op = "batch_norm_backward"
    xp, (grad_out, x, weight, save_mean, save_invstd) = _checks.arrays(
        op, grad_out=grad_out, x=x, weight=weight, save_mean=save_mean, save_invstd=save_invstd)
    _check_x(op, x)
    _checks.shape(op, "grad_out", grad_out, x.shape)
    c = x.shape[1]
    for name, v in (("weight", weight), ("save_mean", save_mean), ("save_invstd", save_invstd)):
        if v is not None:
            _checks.shape(op, name, v, (c,))
    gx = xp.empty_like(x)
    gw, gb = xp.empty(c, x.dtype), xp.empty(c, x.dtype)
    kernels(xp).batch_norm_backward(grad_out, x, weight, save_mean, save_invstd, gx, gw, gb, bool(training))
    return gx, gw, gb
