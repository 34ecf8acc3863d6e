"""Pure-NumPy matrix products: the ground truth for deepkern.ops.gemm (same names, shapes and
signatures; dtype-generic, so they also run on long double)."""
import numpy as np


def matmul(a, b, trans_a=False, trans_b=False):
    """op(a) @ op(b) with NumPy's matmul rules; op transposes the last two dims of an operand of
    2 or more dims (a 1-D operand is a vector either way)."""
    return np.matmul(np.swapaxes(a, -1, -2) if trans_a and a.ndim > 1 else a,
                     np.swapaxes(b, -1, -2) if trans_b and b.ndim > 1 else b)


def linear(x, w, b=None):
    """x (*, in) @ w.T (in, out) + b (out,) -> (*, out)."""
    y = np.matmul(x, w.T)
    return y + b if b is not None else y


def linear_backward(grad_out, x, w, need_bias=True):
    """(grad_x (*, in), grad_w (out, in), grad_b (out,) or None) for grad_out (*, out)."""
    rows = int(np.prod(x.shape[:-1]))
    g2, x2 = grad_out.reshape(rows, w.shape[0]), x.reshape(rows, w.shape[1])
    grad_x = np.matmul(grad_out, w)
    grad_w = np.matmul(g2.T, x2)
    return grad_x, grad_w, (g2.sum(axis=0) if need_bias else None)
