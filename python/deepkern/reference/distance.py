"""Pure-NumPy distances: the ground truth for deepkern.ops.distance (same names and signatures).

The Euclidean cdist mirrors the kernel's algorithm (norms plus a matrix product; pairs nearer
than (n1 + n2) / 4 in squared distance, and pairs with a non-finite norm, summed directly: see
csrc/core/distance_kind.h), so the float32 baseline of the tests carries the same cancellation
the algorithm does;
``compute_mode='donot_use_mm_for_euclid_dist'`` is the direct sum of squared differences.
"""
import numpy as np

NEAR_FRACTION = 0.25
_DIRECT = "donot_use_mm_for_euclid_dist"


def _broadcast_batch(x1, x2):
    batch = np.broadcast_shapes(x1.shape[:-2], x2.shape[:-2])
    return (np.broadcast_to(x1, batch + x1.shape[-2:]), np.broadcast_to(x2, batch + x2.shape[-2:]))


def _diff(x1, x2):
    """(..., P, R, M) differences x1_i - x2_j."""
    return x1[..., :, None, :] - x2[..., None, :, :]


def _lp(diff, p):
    a = np.abs(diff)
    if p == 0:
        return (diff != 0).sum(-1).astype(diff.dtype)
    if p == 1:
        return a.sum(-1)
    if np.isinf(p):
        return a.max(-1, initial=0)
    if p == 2:
        return np.sqrt((diff * diff).sum(-1))
    return (a ** p).sum(-1) ** (1 / p)


def _lp_grad(diff, dist, p):
    """d(dist)/d(diff), PyTorch's cdist backward conventions (0 at dist = 0)."""
    dist = dist[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        if p == 0:
            return np.zeros_like(diff)
        if p == 1:
            return np.sign(diff)
        if np.isinf(p):  # the coordinates attaining the max (recomputed: dist may be rounded)
            a = np.abs(diff)
            return np.sign(diff) * (a == a.max(-1, keepdims=True, initial=0))
        if p == 2:
            return np.where(dist == 0, 0, diff / dist)
        g = np.sign(diff) * np.abs(diff) ** (p - 1) / dist ** (p - 1)
        zero = (dist == 0) | ((diff == 0) & (p < 1))
        return np.where(zero, 0, g)


def _norms(x1, x2):
    return (x1 * x1).sum(-1), (x2 * x2).sum(-1)


def _near(s, n1, n2):
    """Pairs summed directly: near ones, and those with a non-finite norm (where the expansion
    computes inf - inf; the difference form gives inf, or NaN for a NaN)."""
    scale = n1[..., :, None] + n2[..., None, :]
    with np.errstate(invalid="ignore"):
        return (s < NEAR_FRACTION * scale) | ~np.isfinite(scale)


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary", squared=False):
    x1, x2 = _broadcast_batch(x1, x2)
    if p == 2 and compute_mode != _DIRECT:
        n1, n2 = _norms(x1, x2)
        s = n1[..., :, None] + n2[..., None, :] - 2 * (x1 @ np.swapaxes(x2, -1, -2))
        direct = (_diff(x1, x2) ** 2).sum(-1)
        with np.errstate(invalid="ignore"):
            s = np.where(_near(s, n1, n2), direct, np.maximum(s, 0))
        return s if squared else np.sqrt(s)
    if squared:
        d = (_diff(x1, x2) ** 2).sum(-1)
        return d
    return _lp(_diff(x1, x2), p)


def _sum_to(g, shape):
    """Sum a broadcast gradient back to ``shape`` (leading batch dims)."""
    extra = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(extra))) if extra else g
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


def cdist_backward(grad_out, x1, x2, dist, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary", squared=False):
    shape1, shape2 = x1.shape, x2.shape
    x1, x2 = _broadcast_batch(x1, x2)
    diff = _diff(x1, x2)
    with np.errstate(divide="ignore", invalid="ignore"):
        if squared:
            c = 2 * grad_out
        elif p == 2:
            c = np.where(dist == 0, 0, grad_out / dist)
        else:
            c = None
    if c is not None and compute_mode != _DIRECT:
        n1, n2 = _norms(x1, x2)
        near = _near(dist if squared else dist * dist, n1, n2)
        far, close = np.where(near, 0, c), np.where(near, c, 0)
        near_terms = close[..., None] * diff
        g1 = far.sum(-1)[..., None] * x1 - far @ x2 + near_terms.sum(-2)
        g2 = far.sum(-2)[..., None] * x2 - np.swapaxes(far, -1, -2) @ x1 - near_terms.sum(-3)
    else:
        terms = (c[..., None] * diff) if c is not None else grad_out[..., None] * _lp_grad(diff, dist, p)
        g1, g2 = terms.sum(-2), -terms.sum(-3)
    return _sum_to(g1, shape1), _sum_to(g2, shape2)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    diff = x1 - x2 + eps
    d = _lp(diff, p)
    return d[..., None] if keepdim else d


def pairwise_distance_backward(grad_out, x1, x2, dist, p=2.0, eps=1e-6, keepdim=False):
    if keepdim:
        grad_out, dist = grad_out[..., 0], dist[..., 0]
    diff = x1 - x2 + eps
    g = grad_out[..., None] * _lp_grad(diff, dist, p)
    return _sum_to(g, x1.shape), _sum_to(-g, x2.shape)
