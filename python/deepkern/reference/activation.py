"""Pure-NumPy activations: the ground truth for deepkern.ops.activation."""
import numpy as np


def relu(x):
    """x < 0 ? 0 : x: NaN stays NaN and -0 stays -0, as torch.relu."""
    return np.where(x < 0, x.dtype.type(0), x)


def leaky_relu(x, negative_slope=0.01):
    return np.where(x > 0, x, x * x.dtype.type(negative_slope))


def sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def tanh(x):
    return np.tanh(x)


def relu_backward(grad_out, x):
    """grad_out where not x <= 0 (so it passes through at NaN, as PyTorch's), else 0."""
    return np.where(x <= 0, x.dtype.type(0), grad_out)


def leaky_relu_backward(grad_out, x, negative_slope=0.01):
    return np.where(x > 0, grad_out, grad_out * x.dtype.type(negative_slope))


def sigmoid_backward(grad_out, y):
    return grad_out * y * (1 - y)


def tanh_backward(grad_out, y):
    return grad_out * (1 - y * y)


def _dropout_keep(seed, n, p):
    """dk::dropout_keep (csrc/core/dropout_rng.h) in NumPy: SplitMix64 of seed + (i+1)*golden."""
    z = np.uint64(seed) + np.arange(1, n + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return (z >> np.uint64(32)) >= np.uint64(int(p * 4294967296.0))


def dropout(x, p=0.5, training=True):
    """Draws its seed from deepkern's generator exactly as deepkern.ops.dropout does, so after
    the same dk.manual_seed both make the same mask."""
    if not training:
        return x, None
    from .._random import generator
    seed = int(generator().integers(0, 2**63))
    mask = _dropout_keep(seed, x.size, p).reshape(x.shape).astype(np.uint8)
    return dropout_backward(x, mask, p), mask


def dropout_backward(grad_out, mask, p=0.5):
    scale = 1 / (1 - p) if p < 1 else 0
    return grad_out * (mask * grad_out.dtype.type(scale))
