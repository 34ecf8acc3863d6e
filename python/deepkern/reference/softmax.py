"""Pure-NumPy softmax and log-softmax: the ground truth for deepkern.ops.softmax."""
import numpy as np


def softmax(x, axis=-1):
    if x.size == 0:
        return np.empty_like(x)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    if x.size == 0:
        return np.empty_like(x)
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def softmax_backward(grad_out, y, axis=-1):
    return y * (grad_out - (grad_out * y).sum(axis=axis, keepdims=True))


def log_softmax_backward(grad_out, y, axis=-1):
    return grad_out - np.exp(y) * grad_out.sum(axis=axis, keepdims=True)
