"""Pure-NumPy 2-D convolution: the ground truth for deepkern.ops.conv.

A loop over the kernel taps (r, s): each tap contributes
``w[:, :, r, s] @ x_padded[:, :, r*dh + sh*p, s*dw + sw*q]`` to every output (p, q), written
with einsum so it runs on any float dtype (including long double, for the tests' baseline).
Shapes: x (N, C, H, W), w (C_out, C/groups, kH, kW), b (C_out,), y (N, C_out, P, Q).
"""
import numpy as np


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _padding(padding, kernel, dilation):
    """(top, bottom, left, right); 'same' puts the odd pixel at the bottom/right like PyTorch."""
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        out = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)
            out += [total // 2, total - total // 2]
        return tuple(out)
    ph, pw = _pair(padding)
    return (ph, ph, pw, pw)


def _einsum(subscripts, a, b):
    """np.einsum of two operands, with an empty sum exactly 0: NumPy's einsum can return
    uninitialized memory in long double when a summed axis has length 0 (batch 0)."""
    if a.size and b.size:
        return np.einsum(subscripts, a, b)
    inputs, out = subscripts.split("->")
    sizes = {}
    for spec, arr in zip(inputs.split(","), (a, b)):
        sizes.update(zip(spec, arr.shape))
    return np.zeros([sizes[c] for c in out], dtype=np.result_type(a, b))


def _geometry(x_shape, w_shape, stride, padding, dilation):
    sh, sw = _pair(stride)
    dh, dw = _pair(dilation)
    R, S = w_shape[2], w_shape[3]
    pt, pb, pl, pr = _padding(padding, (R, S), (dh, dw))
    P = (x_shape[2] + pt + pb - dh * (R - 1) - 1) // sh + 1
    Q = (x_shape[3] + pl + pr - dw * (S - 1) - 1) // sw + 1
    return (sh, sw), (dh, dw), (pt, pb, pl, pr), P, Q


def _tap(r, s, sh, sw, dh, dw, P, Q):
    return (slice(r * dh, r * dh + sh * (P - 1) + 1, sh), slice(s * dw, s * dw + sw * (Q - 1) + 1, sw))


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    (sh, sw), (dh, dw), (pt, pb, pl, pr), P, Q = _geometry(x.shape, w.shape, stride, padding, dilation)
    N = x.shape[0]
    K, Cg, R, S = w.shape
    G = groups
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    xp = xp.reshape(N, G, Cg, *xp.shape[2:])
    wg = w.reshape(G, K // G, Cg, R, S)
    y = np.zeros((N, G, K // G, P, Q), dtype=x.dtype)
    for r in range(R):
        for s in range(S):
            hs, ws = _tap(r, s, sh, sw, dh, dw, P, Q)
            y += _einsum("gkc,ngcpq->ngkpq", wg[:, :, :, r, s], xp[:, :, :, hs, ws])
    y = y.reshape(N, K, P, Q)
    if b is not None:
        y += b.reshape(1, K, 1, 1)
    return y


def conv2d_backward(grad_out, x, w, stride=1, padding=0, dilation=1, groups=1, need_bias=True):
    """(grad_x, grad_w, grad_b or None) of conv2d."""
    (sh, sw), (dh, dw), (pt, pb, pl, pr), P, Q = _geometry(x.shape, w.shape, stride, padding, dilation)
    N, C, H, W = x.shape
    K, Cg, R, S = w.shape
    G = groups
    Hp, Wp = H + pt + pb, W + pl + pr
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr))).reshape(N, G, Cg, Hp, Wp)
    wg = w.reshape(G, K // G, Cg, R, S)
    gy = grad_out.reshape(N, G, K // G, P, Q)
    gxp = np.zeros((N, G, Cg, Hp, Wp), dtype=x.dtype)
    gw = np.zeros((G, K // G, Cg, R, S), dtype=x.dtype)
    for r in range(R):
        for s in range(S):
            hs, ws = _tap(r, s, sh, sw, dh, dw, P, Q)
            gxp[:, :, :, hs, ws] += _einsum("gkc,ngkpq->ngcpq", wg[:, :, :, r, s], gy)
            gw[:, :, :, r, s] = _einsum("ngkpq,ngcpq->gkc", gy, xp[:, :, :, hs, ws])
    gx = gxp.reshape(N, C, Hp, Wp)[:, :, pt:pt + H, pl:pl + W]
    gb = grad_out.sum(axis=(0, 2, 3)) if need_bias else None
    return np.ascontiguousarray(gx), gw.reshape(w.shape), gb


def _transpose_geometry(x_shape, w_shape, stride, padding, output_padding, dilation):
    """(stride, dilation, padding, output_padding, H_out, W_out, full frame (Hf, Wf))."""
    (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
    (ph, pw), (oh, ow) = _pair(padding), _pair(output_padding)
    R, S = w_shape[2], w_shape[3]
    Hf = (x_shape[2] - 1) * sh + dh * (R - 1) + 1 + oh   # every tap's reach, before cropping
    Wf = (x_shape[3] - 1) * sw + dw * (S - 1) + 1 + ow
    return (sh, sw), (dh, dw), (ph, pw), Hf - 2 * ph, Wf - 2 * pw, (Hf, Wf)


def _tap_in(r, s, sh, sw, dh, dw, H, W):
    """The full-frame positions i*sh + r*dh, j*sw + s*dw of input (i, j) under kernel tap (r, s)."""
    return (slice(r * dh, r * dh + sh * (H - 1) + 1, sh), slice(s * dw, s * dw + sw * (W - 1) + 1, sw))


def conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Transposed convolution: every input pixel scatters w[c] (C_out/groups, kH, kW) into the output.

    x (N, C_in, H, W), w (C_in, C_out/groups, kH, kW), b (C_out,) -> y (N, C_out, H_out, W_out) with
    H_out = (H - 1)*stride - 2*padding + dilation*(kH - 1) + output_padding + 1. Written as a scatter
    into the uncropped frame (one einsum per kernel tap), then the padding cropped off each side;
    output_padding grows the frame at the bottom/right only.
    """
    (sh, sw), (dh, dw), (ph, pw), Ho, Wo, (Hf, Wf) = _transpose_geometry(x.shape, w.shape, stride, padding,
                                                                         output_padding, dilation)
    N, C, H, W = x.shape
    _, Kg, R, S = w.shape
    G = groups
    xg = x.reshape(N, G, C // G, H, W)
    wg = w.reshape(G, C // G, Kg, R, S)
    full = np.zeros((N, G, Kg, Hf, Wf), dtype=x.dtype)
    for r in range(R):
        for s in range(S):
            hs, ws = _tap_in(r, s, sh, sw, dh, dw, H, W)
            full[:, :, :, hs, ws] += _einsum("gck,ngchw->ngkhw", wg[:, :, :, r, s], xg)
    y = full[:, :, :, ph:ph + Ho, pw:pw + Wo].reshape(N, G * Kg, Ho, Wo)
    if b is not None:
        y = y + b.reshape(1, -1, 1, 1)
    return np.ascontiguousarray(y)


def conv_transpose2d_backward(grad_out, x, w, stride=1, padding=0, output_padding=0, groups=1, dilation=1,
                              need_bias=True):
    """(grad_x, grad_w, grad_b or None) of conv_transpose2d: each input pixel gathers what it scattered."""
    (sh, sw), (dh, dw), (ph, pw), Ho, Wo, (Hf, Wf) = _transpose_geometry(x.shape, w.shape, stride, padding,
                                                                         output_padding, dilation)
    N, C, H, W = x.shape
    _, Kg, R, S = w.shape
    G = groups
    full = np.zeros((N, G, Kg, Hf, Wf), dtype=grad_out.dtype)
    full[:, :, :, ph:ph + Ho, pw:pw + Wo] = grad_out.reshape(N, G, Kg, Ho, Wo)
    xg = x.reshape(N, G, C // G, H, W)
    wg = w.reshape(G, C // G, Kg, R, S)
    gx = np.zeros_like(xg)
    gw = np.zeros_like(wg)
    for r in range(R):
        for s in range(S):
            hs, ws = _tap_in(r, s, sh, sw, dh, dw, H, W)
            tap = full[:, :, :, hs, ws]
            gx += _einsum("gck,ngkhw->ngchw", wg[:, :, :, r, s], tap)
            gw[:, :, :, r, s] = _einsum("ngchw,ngkhw->gck", xg, tap)
    gb = grad_out.sum(axis=(0, 2, 3)) if need_bias else None
    return gx.reshape(x.shape), gw.reshape(w.shape), gb
