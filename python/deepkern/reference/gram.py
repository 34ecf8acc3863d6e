"""Pure-NumPy Gram matrices: the ground truth for deepkern.ops.gram."""
import numpy as np


def gram_matrix(x):
    n, c, h, w = x.shape
    f = x.reshape(n, c, h * w)
    return np.matmul(f, f.transpose(0, 2, 1)) / x.dtype.type(c * h * w)


def gram_matrix_backward(grad_out, x):
    n, c, h, w = x.shape
    f = x.reshape(n, c, h * w)
    sym = grad_out + grad_out.transpose(0, 2, 1)
    return (np.matmul(sym, f) / x.dtype.type(c * h * w)).reshape(x.shape)
