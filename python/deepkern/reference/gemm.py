"""Pure-NumPy matrix products: the ground truth for deepkern.ops.gemm."""
import numpy as np


def matmul(a, b, trans_a=False, trans_b=False):
    return np.matmul(a.T if trans_a else a, b.T if trans_b else b)


def linear(x, w, b=None):
    y = x @ w.T
    return y + b if b is not None else y


def linear_backward(grad_out, x, w, need_bias=True):
    return grad_out @ w, grad_out.T @ x, (grad_out.sum(axis=0) if need_bias else None)
