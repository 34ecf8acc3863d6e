"""Embedding lookup (row gather) and its backward (row scatter-add).

    weight (V, D), ids integers of any shape S  ->  out (*S, D)
    grad_out (*S, D), ids (*S)                  ->  grad_weight (V, D)
"""
from __future__ import annotations

from .. import _checks
from .._backend import kernels


def _ids(op, ids, xp, num_embeddings):
    """ids as contiguous int64 on the data's device, every one in [0, num_embeddings)."""
    ids = _checks.index_array(op, "ids", ids, xp)
    if ids.size:
        bad = (ids < 0) | (ids >= num_embeddings)
        if bool(bad.any()):  # on the GPU: one device reduction and a sync, for a clear error
            first = int(ids.reshape(-1)[int(bad.reshape(-1).argmax())])
            raise ValueError(f"{op}: id {first} is out of range for num_embeddings={num_embeddings} "
                             f"(ids must be in [0, {num_embeddings}))")
    return ids


def _padding(op, padding_idx, num_embeddings):
    """padding_idx as a row in [0, V) (negative counts from the end, as PyTorch), or -1 for none."""
    if padding_idx is None:
        return -1
    p = _checks.integer(op, "padding_idx", padding_idx)
    if not -num_embeddings <= p < num_embeddings:
        raise ValueError(f"{op}: padding_idx must be in [-{num_embeddings}, {num_embeddings}), got {p}")
    return p % num_embeddings


def embedding(weight, ids, out=None):
    """Rows of ``weight`` (V, D) selected by integer ``ids`` of any shape: result (*ids.shape, D)."""
    op = "embedding"
    xp, (weight,) = _checks.arrays(op, weight=weight)
    _checks.ndim(op, "weight", weight, 2, "(num_embeddings, embedding_dim)")
    ids = _ids(op, ids, xp, weight.shape[0])
    out = _checks.output(op, out, (*ids.shape, weight.shape[1]), weight.dtype, xp)
    kernels(xp).embedding_forward(weight, ids, out)
    return out


def embedding_backward(grad_out, ids, num_embeddings, padding_idx=None):
    """Gradient of ``embedding`` wrt weight: (num_embeddings, D), the sum of grad_out's rows per
    id; the ``padding_idx`` row (if any) gets no gradient."""
    op = "embedding_backward"
    xp, (grad_out,) = _checks.arrays(op, grad_out=grad_out)
    V = _checks.integer(op, "num_embeddings", num_embeddings, minimum=0)
    ids = _ids(op, ids, xp, V)
    if grad_out.ndim != ids.ndim + 1 or tuple(grad_out.shape[:-1]) != tuple(ids.shape):
        raise ValueError(f"{op}: grad_out must have shape (*ids.shape, embedding_dim) = "
                         f"({', '.join(map(str, ids.shape))}{', ' if ids.ndim else ''}D), "
                         f"got {tuple(grad_out.shape)}")
    grad_weight = xp.empty((V, grad_out.shape[-1]), dtype=grad_out.dtype)
    kernels(xp).embedding_backward(grad_out, ids, grad_weight, _padding(op, padding_idx, V))
    return grad_weight

