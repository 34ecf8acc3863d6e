"""Pure-NumPy 2-D pooling: the ground truth for deepkern.ops.pool.

Inputs are (..., H, W) (usually (N, C, H, W)); every leading index is an independent plane.
Windows are visited tap by tap (r, s) over all outputs at once, in window order, so max
pooling's tie-breaking (first maximum wins, a NaN always wins) and argmax indices
(flat h*W + w in the input plane) are PyTorch's.
"""
import numpy as np


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _geometry(shape, kernel_size, stride, padding):
    kh, kw = _pair(kernel_size)
    sh, sw = _pair(kernel_size if stride is None else stride)
    ph, pw = _pair(padding)
    H, W = shape[-2:]
    return kh, kw, sh, sw, ph, pw, (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1


def _tap(r, s, sh, sw, P, Q):
    return (Ellipsis, slice(r, r + sh * (P - 1) + 1, sh), slice(s, s + sw * (Q - 1) + 1, sw))


def max_pool2d_with_indices(x, kernel_size, stride=None, padding=0):
    kh, kw, sh, sw, ph, pw, P, Q = _geometry(x.shape, kernel_size, stride, padding)
    H, W = x.shape[-2:]
    pad = [(0, 0)] * (x.ndim - 2) + [(ph, ph), (pw, pw)]
    xp = np.pad(x, pad, constant_values=-np.inf)
    flat = np.pad(np.arange(H * W).reshape(H, W), [(ph, ph), (pw, pw)], constant_values=-1)
    best = np.full(x.shape[:-2] + (P, Q), -np.inf, dtype=x.dtype)
    idx = np.full(best.shape, -1, dtype=np.int64)
    for r in range(kh):
        for s in range(kw):
            tap = _tap(r, s, sh, sw, P, Q)
            cand, where = xp[tap], np.broadcast_to(flat[tap], best.shape)
            first = (idx < 0) & (where >= 0)          # first in-image position of the window
            take = ((cand > best) | np.isnan(cand)) & (where >= 0)
            idx = np.where(take | first, where, idx)
            best = np.where(take, cand, best)
    return best, idx


def max_pool2d(x, kernel_size, stride=None, padding=0):
    return max_pool2d_with_indices(x, kernel_size, stride, padding)[0]


def max_pool2d_backward(grad_out, indices, input_shape):
    H, W = input_shape[-2:]
    planes = int(np.prod(input_shape[:-2], dtype=np.int64))
    gx = np.zeros((planes, H * W), dtype=grad_out.dtype)
    rows = np.repeat(np.arange(planes), indices.shape[-2] * indices.shape[-1])
    np.add.at(gx, (rows, indices.reshape(-1)), grad_out.reshape(-1))
    return gx.reshape(input_shape)


def _avg_divisor(shape, kh, kw, sh, sw, ph, pw, P, Q, count_include_pad, dtype):
    if count_include_pad:
        return dtype.type(kh * kw)
    ones = np.pad(np.ones(shape[-2:], dtype=dtype), [(ph, ph), (pw, pw)])
    count = np.zeros((P, Q), dtype=dtype)
    for r in range(kh):
        for s in range(kw):
            count += ones[_tap(r, s, sh, sw, P, Q)]
    return count


def avg_pool2d(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    kh, kw, sh, sw, ph, pw, P, Q = _geometry(x.shape, kernel_size, stride, padding)
    xp = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(ph, ph), (pw, pw)])
    acc = np.zeros(x.shape[:-2] + (P, Q), dtype=x.dtype)
    for r in range(kh):
        for s in range(kw):
            acc += xp[_tap(r, s, sh, sw, P, Q)]
    return acc / _avg_divisor(x.shape, kh, kw, sh, sw, ph, pw, P, Q, count_include_pad, x.dtype)


def avg_pool2d_backward(grad_out, input_shape, kernel_size, stride=None, padding=0, count_include_pad=True):
    kh, kw, sh, sw, ph, pw, P, Q = _geometry(input_shape, kernel_size, stride, padding)
    H, W = input_shape[-2:]
    g = grad_out / _avg_divisor(input_shape, kh, kw, sh, sw, ph, pw, P, Q, count_include_pad, grad_out.dtype)
    gxp = np.zeros(tuple(input_shape[:-2]) + (H + 2 * ph, W + 2 * pw), dtype=grad_out.dtype)
    for r in range(kh):
        for s in range(kw):
            gxp[_tap(r, s, sh, sw, P, Q)] += g
    return gxp[..., ph:ph + H, pw:pw + W].copy()


def _adaptive_windows(size, out):
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]


def adaptive_avg_pool2d(x, output_size):
    H, W = x.shape[-2:]
    P, Q = _pair(output_size)
    P, Q = (H if P is None else P), (W if Q is None else Q)
    y = np.empty(x.shape[:-2] + (P, Q), dtype=x.dtype)
    for p, (h0, h1) in enumerate(_adaptive_windows(H, P)):
        for q, (w0, w1) in enumerate(_adaptive_windows(W, Q)):
            y[..., p, q] = x[..., h0:h1, w0:w1].mean(axis=(-2, -1))
    return y


def adaptive_avg_pool2d_backward(grad_out, input_shape):
    H, W = input_shape[-2:]
    P, Q = grad_out.shape[-2:]
    gx = np.zeros(tuple(input_shape), dtype=grad_out.dtype)
    for p, (h0, h1) in enumerate(_adaptive_windows(H, P)):
        for q, (w0, w1) in enumerate(_adaptive_windows(W, Q)):
            gx[..., h0:h1, w0:w1] += (grad_out[..., p, q] / grad_out.dtype.type((h1 - h0) * (w1 - w0)))[..., None, None]
    return gx
