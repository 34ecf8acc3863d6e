"""Pure-NumPy batch normalization: the ground truth for deepkern.ops.norm."""
import numpy as np


def _axes(x):
    return (0,) + tuple(range(2, x.ndim))


def _per_channel(v, x):
    return v.reshape((1, -1) + (1,) * (x.ndim - 2))


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    if training:
        m = x.size // x.shape[1]
        mean = x.mean(axis=_axes(x)) if m else np.zeros(x.shape[1], x.dtype)
        var = x.var(axis=_axes(x)) if m else np.zeros(x.shape[1], x.dtype)
        if running_mean is not None and m:
            running_mean *= 1 - momentum
            running_mean += momentum * mean
            running_var *= 1 - momentum
            running_var += momentum * var * m / (m - 1)
    else:
        mean, var = running_mean.copy(), running_var.copy()
    invstd = 1 / np.sqrt(var + eps)
    y = (x - _per_channel(mean, x)) * _per_channel(invstd, x)
    if weight is not None:
        y = y * _per_channel(weight, x)
    if bias is not None:
        y = y + _per_channel(bias, x)
    return y, mean, invstd


def batch_norm_backward(grad_out, x, weight, save_mean, save_invstd, training=True):
    xhat = (x - _per_channel(save_mean, x)) * _per_channel(save_invstd, x)
    gb = grad_out.sum(axis=_axes(x))
    gw = (grad_out * xhat).sum(axis=_axes(x))
    scale = _per_channel(save_invstd if weight is None else weight * save_invstd, x)
    if not training:
        return grad_out * scale, gw, gb
    m = max(x.size // x.shape[1], 1)  # an empty batch has an empty gx
    gx = scale * (grad_out - _per_channel(gb, x) / m - xhat * _per_channel(gw, x) / m)
    return gx, gw, gb
