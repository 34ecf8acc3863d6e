"""Pure-NumPy activations: the ground truth for deepkern.ops.activation."""
import numpy as np


def relu(x):
    return np.maximum(x, 0).astype(x.dtype, copy=False)


def leaky_relu(x, negative_slope=0.01):
    return np.where(x > 0, x, x * x.dtype.type(negative_slope))


def sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def tanh(x):
    return np.tanh(x)


def relu_backward(grad_out, x):
    return np.where(x > 0, grad_out, 0).astype(x.dtype, copy=False)


def leaky_relu_backward(grad_out, x, negative_slope=0.01):
    return np.where(x > 0, grad_out, grad_out * x.dtype.type(negative_slope))


def sigmoid_backward(grad_out, y):
    return grad_out * y * (1 - y)


def tanh_backward(grad_out, y):
    return grad_out * (1 - y * y)
