"""Elementwise activations and their backward passes (array in, array out).

Each takes a NumPy array (CPU kernels) or a CuPy array (CUDA kernels) of float32/float64, of
any shape, and returns a new array of the same shape and dtype (or writes ``out=``).
"""
from __future__ import annotations

import numpy as np

from .. import _checks, _random
from .._backend import array_module, kernels


def _forward(kind, x, slope, out, op):
    xp, (x,) = _checks.arrays(op, x=x)
    out = _checks.output(op, out, x.shape, x.dtype, xp)
    kernels(xp).activation_forward(kind, x, out, slope)
    return out


def _backward(kind, saved, grad_out, slope, op):
    xp, (saved, grad_out) = _checks.arrays(op, saved=saved, grad_out=grad_out)
    if saved.shape != grad_out.shape:
        raise ValueError(f"{op}: grad_out has shape {tuple(grad_out.shape)} but the saved "
                         f"array has shape {tuple(saved.shape)}")
    grad_in = xp.empty_like(saved)
    kernels(xp).activation_backward(kind, saved, grad_out, grad_in, slope)
    return grad_in


def relu(x, out=None):
    """max(x, 0) elementwise; NaN stays NaN (as torch.relu)."""
    return _forward("relu", x, 0.0, out, "relu")


def leaky_relu(x, negative_slope=0.01, out=None):
    """x if x > 0 else negative_slope * x, elementwise."""
    slope = _checks.real("leaky_relu", "negative_slope", negative_slope)
    return _forward("leaky_relu", x, slope, out, "leaky_relu")


def sigmoid(x, out=None):
    """1 / (1 + exp(-x)), computed without overflow for large |x|."""
    return _forward("sigmoid", x, 0.0, out, "sigmoid")


def tanh(x, out=None):
    return _forward("tanh", x, 0.0, out, "tanh")


def relu_backward(grad_out, x):
    """Gradient of relu wrt its input x: 0 where x <= 0, else grad_out (NaN passes through, as
    in PyTorch)."""
    return _backward("relu", x, grad_out, 0.0, "relu_backward")


def leaky_relu_backward(grad_out, x, negative_slope=0.01):
    slope = _checks.real("leaky_relu_backward", "negative_slope", negative_slope)
    return _backward("leaky_relu", x, grad_out, slope, "leaky_relu_backward")


def sigmoid_backward(grad_out, y):
    """Gradient of sigmoid from its *output* y: grad_out * y * (1 - y)."""
    return _backward("sigmoid", y, grad_out, 0.0, "sigmoid_backward")


def tanh_backward(grad_out, y):
    """Gradient of tanh from its *output* y: grad_out * (1 - y**2)."""
    return _backward("tanh", y, grad_out, 0.0, "tanh_backward")


def _dropout_seed():
    """One 63-bit seed per call from deepkern's generator (dk.manual_seed makes it repeat)."""
    return int(_random.generator().integers(0, 2**63))


def dropout(x, p=0.5, training=True):
    """Inverted dropout: zero each element with probability p, scale the kept ones by 1/(1-p).

    Returns ``(y, mask)``: mask is a uint8 array of x's shape (1 = kept), a quarter of the
    memory of a float mask; pass it to dropout_backward. The mask is a hash of a seed drawn
    from deepkern's generator and the element index, so ``dk.manual_seed`` reproduces it, on
    the CPU and the GPU alike. training=False returns ``(x, None)``; p=1 gives zeros (PyTorch).
    """
    op = "dropout"
    p = _checks.real(op, "p", p, 0.0, 1.0)
    xp, (x,) = _checks.arrays(op, x=x)
    if not training:
        return x, None
    y = xp.empty_like(x)
    mask = xp.empty(x.shape, dtype=np.uint8)
    kernels(xp).dropout_forward(x, y, mask, p, _dropout_seed())
    return y, mask


def dropout_backward(grad_out, mask, p=0.5):
    """Gradient of dropout: grad_out * mask / (1 - p), with the forward's uint8 mask."""
    op = "dropout_backward"
    p = _checks.real(op, "p", p, 0.0, 1.0)
    xp, (grad_out,) = _checks.arrays(op, grad_out=grad_out)
    xp, (mask,) = _checks.arrays(op, dtypes=("uint8",), mask=mask)
    if xp is not array_module(grad_out):
        raise TypeError(f"{op}: grad_out and mask must be on one device")
    _checks.shape(op, "mask", mask, grad_out.shape)
    grad_in = xp.empty_like(grad_out)
    kernels(xp).dropout_backward(grad_out, mask, grad_in, p)
    return grad_in
