"""Distances between points (array in, array out), with PyTorch's names and semantics.

``cdist(x1, x2, p)``: every row of x1 (..., P, M) against every row of x2 (..., R, M) ->
(..., P, R), batch dims broadcast. The Euclidean distance (p = 2) runs through a GEMM plus
norms (||a||^2 + ||b||^2 - 2 a.b, clamped at zero), with pairs nearer than half their norm
scale recomputed as a direct sum of squared differences: coincident points get exactly 0 and
the gradient there is 0 (the minimum-norm subgradient). ``squared=True`` returns squared
Euclidean distances (no square root; its gradient is smooth everywhere). Other p (0, 1, inf,
any p > 0) are summed directly. ``compute_mode`` takes PyTorch's values:
'donot_use_mm_for_euclid_dist' sums p = 2 directly too; the others use the GEMM form (it is
accurate at every size here, so 'use_mm_for_euclid_dist_if_necessary' always uses it).

``pairwise_distance(x1, x2, p, eps)``: row i against row i, ||x1 - x2 + eps||_p over the last
dim (PyTorch's F.pairwise_distance), inputs broadcast against each other.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import _checks
from .._backend import kernels

COMPUTE_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist")


def _p(op, p):
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Real):
        raise TypeError(f"{op}: p must be a real number, got {type(p).__name__} {p!r}")
    p = float(p)
    if not p >= 0:
        raise ValueError(f"{op}: p must be >= 0 (or inf), got {p}")
    return p


def _euclidean_mm(op, p, compute_mode, squared):
    """Whether cdist takes the GEMM path (p = 2 unless told not to), after checking the options."""
    if compute_mode not in COMPUTE_MODES:
        raise ValueError(f"{op}: compute_mode must be one of {', '.join(map(repr, COMPUTE_MODES))}, "
                         f"got {compute_mode!r}")
    if squared and p != 2:
        raise ValueError(f"{op}: squared=True needs p=2 (squared Euclidean distances), got p={p}")
    return p == 2 and (squared or compute_mode != "donot_use_mm_for_euclid_dist")


def _cdist_inputs(op, x1, x2):
    """(xp, x1, x2, batch shape) with x1, x2 contiguous (B, P, M), (B, R, M) over the broadcast batch."""
    xp, (x1, x2) = _checks.arrays(op, x1=x1, x2=x2)
    for name, x in (("x1", x1), ("x2", x2)):
        if x.ndim < 2:
            raise ValueError(f"{op}: {name} must be (..., rows, features) with at least 2 dims, "
                             f"got shape {tuple(x.shape)}")
    if x1.shape[-1] != x2.shape[-1]:
        raise ValueError(f"{op}: x1 and x2 must have the same number of features (last dim), got "
                         f"x1.shape={tuple(x1.shape)} and x2.shape={tuple(x2.shape)}")
    try:
        batch = np.broadcast_shapes(x1.shape[:-2], x2.shape[:-2])
    except ValueError:
        raise ValueError(f"{op}: the batch dims of x1 {tuple(x1.shape[:-2])} and x2 {tuple(x2.shape[:-2])} "
                         "do not broadcast") from None
    b = int(np.prod(batch, dtype=np.int64))

    def flat(x):
        if x.shape[:-2] != batch:
            x = xp.ascontiguousarray(xp.broadcast_to(x, batch + x.shape[-2:]))
        return x.reshape((b,) + x.shape[-2:])

    return xp, flat(x1), flat(x2), batch


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary", squared=False):
    """p-norm distance between each pair of rows: x1 (..., P, M), x2 (..., R, M) -> (..., P, R).

    p = 2 through a GEMM plus norms (exact 0 at coincident points), any other p >= 0 (inf
    included) directly; ``squared=True`` gives squared Euclidean distances.
    """
    op = "cdist"
    p = _p(op, p)
    mm = _euclidean_mm(op, p, compute_mode, squared)
    xp, a, c, batch = _cdist_inputs(op, x1, x2)
    B, P, R = a.shape[0], a.shape[1], c.shape[1]
    out = xp.empty((B, P, R), dtype=a.dtype)
    if mm:
        work = xp.empty(B * (P + R), dtype=a.dtype)
        kernels(xp).cdist_euclidean_forward(a, c, out, work, bool(squared))
    else:
        kernels(xp).cdist_lp_forward(a, c, out, p)
    return out.reshape(batch + (P, R))


def cdist_backward(grad_out, x1, x2, dist, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary",
                   squared=False):
    """Gradients (grad_x1, grad_x2) of sum(grad_out * cdist(x1, x2, ...)), dist being that
    cdist's output; shapes of x1 and x2 (broadcast batch dims summed back)."""
    op = "cdist_backward"
    p = _p(op, p)
    mm = _euclidean_mm(op, p, compute_mode, squared)
    xp, a, c, batch = _cdist_inputs(op, x1, x2)
    _, (_, grad_out, dist) = _checks.arrays(op, x1=a, grad_out=grad_out, dist=dist)
    B, P, R = a.shape[0], a.shape[1], c.shape[1]
    for name, v in (("grad_out", grad_out), ("dist", dist)):
        if tuple(v.shape) != batch + (P, R):
            raise ValueError(f"{op}: {name} must have shape {batch + (P, R)} (cdist of x1 {tuple(x1.shape)} and "
                             f"x2 {tuple(x2.shape)}), got {tuple(v.shape)}")
    g = grad_out.reshape(B, P, R)
    d = dist.reshape(B, P, R)
    ga, gc = xp.empty_like(a), xp.empty_like(c)
    if mm:
        work = xp.empty(B * (P * R + 2 * P + R), dtype=a.dtype)
        kernels(xp).cdist_euclidean_backward(g, a, c, d, ga, gc, work, bool(squared))
    else:
        kernels(xp).cdist_lp_backward(g, a, c, d, ga, gc, p)
    return _sum_to(ga.reshape(batch + a.shape[1:]), x1.shape), _sum_to(gc.reshape(batch + c.shape[1:]), x2.shape)


def _sum_to(g, shape):
    """Sum a gradient over the dims that broadcasting added or stretched, back to ``shape``."""
    shape = tuple(shape)
    extra = g.ndim - len(shape)
    if extra:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


def _pairwise_inputs(op, x1, x2, p, eps):
    p = _p(op, p)
    eps = _checks.real(op, "eps", eps)
    xp, (x1, x2) = _checks.arrays(op, x1=x1, x2=x2)
    if x1.ndim == 0 or x2.ndim == 0:
        raise ValueError(f"{op}: x1 and x2 must have at least 1 dim (..., features), got shapes "
                         f"{tuple(x1.shape)} and {tuple(x2.shape)}")
    try:
        shape = np.broadcast_shapes(x1.shape, x2.shape)
    except ValueError:
        raise ValueError(f"{op}: x1 of shape {tuple(x1.shape)} and x2 of shape {tuple(x2.shape)} "
                         "do not broadcast") from None
    flat = [xp.ascontiguousarray(xp.broadcast_to(x, shape)).reshape(-1, shape[-1]) if x.shape != shape
            else x.reshape(-1, shape[-1]) for x in (x1, x2)]
    return xp, flat[0], flat[1], shape, p, eps


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p over the last dim: (..., M) and (..., M) broadcast -> (...)
    ((..., 1) with keepdim)."""
    op = "pairwise_distance"
    xp, a, c, shape, p, eps = _pairwise_inputs(op, x1, x2, p, eps)
    out = xp.empty(a.shape[0], dtype=a.dtype)
    kernels(xp).pairwise_distance_forward(a, c, out, p, eps)
    return out.reshape(shape[:-1] + ((1,) if keepdim else ()))


def pairwise_distance_backward(grad_out, x1, x2, dist, p=2.0, eps=1e-6, keepdim=False):
    """(grad_x1, grad_x2) of sum(grad_out * pairwise_distance(x1, x2, ...)), dist its output."""
    op = "pairwise_distance_backward"
    xp, a, c, shape, p, eps = _pairwise_inputs(op, x1, x2, p, eps)
    _, (_, grad_out, dist) = _checks.arrays(op, x1=a, grad_out=grad_out, dist=dist)
    expected = shape[:-1] + ((1,) if keepdim else ())
    for name, v in (("grad_out", grad_out), ("dist", dist)):
        if tuple(v.shape) != expected:
            raise ValueError(f"{op}: {name} must have shape {expected}, got {tuple(v.shape)}")
    ga = xp.empty_like(a)
    kernels(xp).pairwise_distance_backward(grad_out.reshape(-1), a, c, dist.reshape(-1), ga, p, eps)
    ga = ga.reshape(shape)
    return _sum_to(ga, x1.shape), _sum_to(-ga, x2.shape)
