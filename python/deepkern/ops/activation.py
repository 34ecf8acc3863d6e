"""Elementwise activations and their backward passes (array in, array out).

Each takes a NumPy array (CPU kernels) or a CuPy array (CUDA kernels) of float32/float64, of
any shape, and returns a new array of the same shape and dtype (or writes ``out=``).
"""
from __future__ import annotations

from .. import _checks
from .._backend import kernels


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
    """max(x, 0) elementwise."""
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
    """Gradient of relu wrt its input x: grad_out where x > 0, else 0."""
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
