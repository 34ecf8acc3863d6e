"""Pure-NumPy 2-D pooling: the ground truth for deepkern.ops.pool.

Inputs are (..., H, W) (usually (N, C, H, W)); every leading index is an independent plane.
Windows are visited tap by tap (r, s) over all outputs at once, in window order, so max
pooling's tie-breaking (first maximum wins, a NaN always wins) and argmax indices
(flat h*W + w in the input plane) are PyTorch's; dilation, ceil_mode and divisor_override
follow PyTorch's formulas (written out here independently of the kernels).
"""
import numpy as np


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _out(n, k, s, p, d, ceil):
    """PyTorch's pooling output size (ceil_mode never starts a window past the input)."""
    span = n + 2 * p - d * (k - 1) - 1
    o = (span + (s - 1 if ceil else 0)) // s + 1
    return o - 1 if ceil and (o - 1) * s >= n + p else o


def _geometry(shape, kernel_size, stride, padding, dilation=1, ceil_mode=False):
    kh, kw = _pair(kernel_size)
    sh, sw = _pair(kernel_size if stride is None else stride)
    ph, pw = _pair(padding)
    dh, dw = _pair(dilation)
    H, W = shape[-2:]
    return kh, kw, sh, sw, ph, pw, dh, dw, _out(H, kh, sh, ph, dh, ceil_mode), _out(W, kw, sw, pw, dw, ceil_mode)


def _pads(shape, kh, kw, sh, sw, ph, pw, dh, dw, P, Q):
    """((top, bottom), (left, right)): the padding plus whatever a ceil_mode window overhangs."""
    H, W = shape[-2:]
    bottom = max(ph, (P - 1) * sh + (kh - 1) * dh + 1 - H - ph)
    right = max(pw, (Q - 1) * sw + (kw - 1) * dw + 1 - W - pw)
    return (ph, bottom), (pw, right)


def _tap(r, s, sh, sw, P, Q, dh=1, dw=1):
    return (Ellipsis, slice(r * dh, r * dh + sh * (P - 1) + 1, sh), slice(s * dw, s * dw + sw * (Q - 1) + 1, sw))


def max_pool2d_with_indices(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    kh, kw, sh, sw, ph, pw, dh, dw, P, Q = _geometry(x.shape, kernel_size, stride, padding, dilation, ceil_mode)
    H, W = x.shape[-2:]
    pads = _pads(x.shape, kh, kw, sh, sw, ph, pw, dh, dw, P, Q)
    xp = np.pad(x, [(0, 0)] * (x.ndim - 2) + list(pads), constant_values=-np.inf)
    flat = np.pad(np.arange(H * W).reshape(H, W), pads, constant_values=-1)
    best = np.full(x.shape[:-2] + (P, Q), -np.inf, dtype=x.dtype)
    idx = np.full(best.shape, -1, dtype=np.int64)
    for r in range(kh):
        for s in range(kw):
            tap = _tap(r, s, sh, sw, P, Q, dh, dw)
            cand, where = xp[tap], np.broadcast_to(flat[tap], best.shape)
            first = (idx < 0) & (where >= 0)          # first in-image position of the window
            take = ((cand > best) | np.isnan(cand)) & (where >= 0)
            idx = np.where(take | first, where, idx)
            best = np.where(take, cand, best)
    return best, idx


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return max_pool2d_with_indices(x, kernel_size, stride, padding, dilation, ceil_mode)[0]


def max_pool2d_backward(grad_out, indices, input_shape):
    H, W = input_shape[-2:]
    planes = int(np.prod(input_shape[:-2], dtype=np.int64))
    gx = np.zeros((planes, H * W), dtype=grad_out.dtype)
    rows = np.repeat(np.arange(planes), indices.shape[-2] * indices.shape[-1])
    flat, g = indices.reshape(-1), grad_out.reshape(-1)
    some = flat >= 0  # -1: a window that saw no input gets no gradient
    np.add.at(gx, (rows[some], flat[some]), g[some])
    return gx.reshape(input_shape)


def _avg_divisor(shape, kh, kw, sh, sw, ph, pw, P, Q, ceil_mode, count_include_pad, divisor_override, dtype):
    """PyTorch's divisors: the override; the window clipped to the padded input
    (count_include_pad, so a ceil_mode overhang is not counted); or its in-image part."""
    if divisor_override:
        return dtype.type(divisor_override)
    H, W = shape[-2:]
    pads = _pads(shape, kh, kw, sh, sw, ph, pw, 1, 1, P, Q)
    region = np.ones((H + 2 * ph, W + 2 * pw), dtype) if count_include_pad else np.pad(np.ones((H, W), dtype),
                                                                                      [(ph, ph), (pw, pw)])
    region = np.pad(region, [(0, pads[0][1] - ph), (0, pads[1][1] - pw)])
    count = np.zeros((P, Q), dtype=dtype)
    for r in range(kh):
        for s in range(kw):
            count += region[_tap(r, s, sh, sw, P, Q)]
    return count


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    kh, kw, sh, sw, ph, pw, _, _, P, Q = _geometry(x.shape, kernel_size, stride, padding, 1, ceil_mode)
    pads = _pads(x.shape, kh, kw, sh, sw, ph, pw, 1, 1, P, Q)
    xp = np.pad(x, [(0, 0)] * (x.ndim - 2) + list(pads))
    acc = np.zeros(x.shape[:-2] + (P, Q), dtype=x.dtype)
    for r in range(kh):
        for s in range(kw):
            acc += xp[_tap(r, s, sh, sw, P, Q)]
    return acc / _avg_divisor(x.shape, kh, kw, sh, sw, ph, pw, P, Q, ceil_mode, count_include_pad, divisor_override,
                              x.dtype)


def avg_pool2d_backward(grad_out, input_shape, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None):
    kh, kw, sh, sw, ph, pw, _, _, P, Q = _geometry(input_shape, kernel_size, stride, padding, 1, ceil_mode)
    H, W = input_shape[-2:]
    (top, bottom), (left, right) = _pads(input_shape, kh, kw, sh, sw, ph, pw, 1, 1, P, Q)
    g = grad_out / _avg_divisor(input_shape, kh, kw, sh, sw, ph, pw, P, Q, ceil_mode, count_include_pad,
                                divisor_override, grad_out.dtype)
    gxp = np.zeros(tuple(input_shape[:-2]) + (H + top + bottom, W + left + right), dtype=grad_out.dtype)
    for r in range(kh):
        for s in range(kw):
            gxp[_tap(r, s, sh, sw, P, Q)] += g
    return gxp[..., top:top + H, left:left + W].copy()


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
