"""GloVe kernels: co-occurrence counting (CPU) and the fused AdaGrad pass (CPU and GPU).

    glove_cooccurrence(corpus (N,) int32, sentence_starts (S+1,) int64, window, vocab_size)
        -> rows (nnz,) int32, cols (nnz,) int32, values (nnz,) float64   sorted by (row, col)
    glove_train(W, Wc (V, D), b, bc (V,), gW, gWc, gb, gbc, rows, cols, log_x, weight, ...)
        -> (cost, skipped)   in place

See csrc/cpu/glove.cpp for the algorithms; deepkern.reference holds the NumPy versions.
"""
from __future__ import annotations

import numpy as np

from .. import _checks, _cpu
from .._backend import is_array, kernels

_CHUNK_PAIRS = 1 << 23  # pair records counted per kernel call (~128 MB of keys and values)


def _pairs_per_sentence(starts, window):
    lengths = np.diff(starts)
    w = np.clip(np.minimum(window, lengths - 1), 0, None)
    return w * lengths - w * (w + 1) // 2


def glove_cooccurrence(corpus, sentence_starts, window=10, vocab_size=None):
    """Distance-weighted symmetric co-occurrence counts: every two tokens a, c at distance
    d <= ``window`` within a sentence add 1/d to X[a, c] and to X[c, a] (GloVe's cooccur with
    its defaults). NumPy inputs; counted in chunks of bounded memory. Returns the nonzero
    entries as (rows int32, cols int32, values float64), sorted by row, then column."""
    op = "glove_cooccurrence"
    corpus = _checks.index_array(op, "corpus", corpus, np, dtype="int32")
    starts = _checks.index_array(op, "sentence_starts", sentence_starts, np)
    _checks.ndim(op, "corpus", corpus, 1)
    _checks.ndim(op, "sentence_starts", starts, 1)
    window = _checks.integer(op, "window", window, minimum=1)
    if starts.size == 0 or starts[0] < 0 or starts[-1] > corpus.size or np.any(np.diff(starts) < 0):
        raise ValueError(f"{op}: sentence_starts must be non-empty, non-decreasing offsets in [0, {corpus.size}]")
    if vocab_size is None:
        V = int(corpus.max()) + 1 if corpus.size else 1
    else:
        V = _checks.integer(op, "vocab_size", vocab_size, minimum=1)
    used = corpus[starts[0]:starts[-1]]
    if used.size and (used.min() < 0 or used.max() >= V):
        raise ValueError(f"{op}: corpus holds ids outside [0, {V})")
    per_sentence = _pairs_per_sentence(starts, window)
    parts, lo, S = [], 0, len(starts) - 1
    bound = np.concatenate([[0], np.cumsum(per_sentence)])
    while lo < S:
        hi = max(lo + 1, int(np.searchsorted(bound, bound[lo] + _CHUNK_PAIRS, side="right")) - 1)
        hi = min(hi, S)
        n = int(bound[hi] - bound[lo])
        if n:
            keys, values = np.empty(n, np.int64), np.empty(n, np.float64)
            _cpu.glove_pairs(corpus, starts[lo:hi + 1], window, V, keys, values)
            parts.append(_sort_reduce(keys, values, n, V * V))
        lo = hi
    if not parts:
        return np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.float64)
    if len(parts) > 1:
        keys = np.concatenate([k for k, _ in parts])
        values = np.concatenate([v for _, v in parts])
        parts = [_sort_reduce(keys, values, keys.size, V * V)]
    keys, values = parts[0]
    i, j = keys // V, keys % V                       # i <= j: each unordered pair once
    off = i != j
    rows = np.concatenate([i, j[off]])
    cols = np.concatenate([j, i[off]])
    vals = np.concatenate([values, values[off]])
    order = np.argsort(rows * V + cols, kind="stable")
    return rows[order].astype(np.int32), cols[order].astype(np.int32), vals[order]


def _sort_reduce(keys, values, n, key_bound):
    m = _cpu.glove_sort_reduce(keys, values, n, key_bound, np.empty(n, np.int64), np.empty(n, np.float64))
    return keys[:m].copy(), values[:m].copy()


def glove_train(W, Wc, b, bc, gW, gWc, gb, gbc, rows, cols, log_x, weight, learning_rate=0.05, workers=1):
    """One AdaGrad pass of GloVe's weighted least squares over the pairs (in the given order),
    updating the model and its accumulators in place:
    cost f(X) (W[i].Wc[j] + b[i] + bc[j] - log X)^2 / 2 for pair (i, j) with log X = log_x,
    f(X) = weight. ``workers``: CPU threads (Hogwild, as glove.c), or on the GPU pairs per
    synchronous batch; 1 is the exact sequential order. Returns (cost, pairs skipped)."""
    op = "glove_train"
    model = dict(W=W, Wc=Wc, b=b, bc=bc, gW=gW, gWc=gWc, gb=gb, gbc=gbc)
    for name, x in model.items():
        if is_array(x) and not (x.flags.c_contiguous and getattr(x.flags, "writeable", True)):
            raise ValueError(f"{op}: {name} must be C-contiguous and writable (it is updated in place)")
    xp, arrays = _checks.arrays(op, **model, log_x=log_x, weight=weight)
    W, Wc, b, bc, gW, gWc, gb, gbc, log_x, weight = arrays
    _checks.ndim(op, "W", W, 2, "(vocab_size, vector_size)")
    V, D = W.shape
    for name, x in (("Wc", Wc), ("gW", gW), ("gWc", gWc)):
        _checks.shape(op, name, x, (V, D))
    for name, x in (("b", b), ("bc", bc), ("gb", gb), ("gbc", gbc)):
        _checks.shape(op, name, x, (V,))
    rows = _checks.index_array(op, "rows", rows, xp, dtype="int32")
    cols = _checks.index_array(op, "cols", cols, xp, dtype="int32")
    n = rows.size
    for name, x in (("rows", rows), ("cols", cols), ("log_x", log_x), ("weight", weight)):
        _checks.shape(op, name, x, (n,))
    if n and (int(rows.min()) < 0 or int(rows.max()) >= V or int(cols.min()) < 0 or int(cols.max()) >= V):
        raise ValueError(f"{op}: rows and cols must be word ids in [0, {V})")
    learning_rate = _checks.real(op, "learning_rate", learning_rate, low=0.0)
    workers = _checks.integer(op, "workers", workers, minimum=1)
    ext = kernels(xp)
    workspace = xp.empty((ext.glove_workspace_size(V, D, W.itemsize),), dtype=xp.uint8)
    stats = xp.zeros((2,), dtype=xp.float64)
    ext.glove_train(W, Wc, b, bc, gW, gWc, gb, gbc, rows, cols, log_x, weight, workspace, stats, learning_rate,
                    workers)
    cost, skipped = (float(v) for v in (stats.get() if xp is not np else stats))
    return cost, skipped
