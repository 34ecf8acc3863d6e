"""Pure-NumPy GloVe: the ground truth for deepkern.ops.glove_cooccurrence and glove_train.

glove_train follows the pairs in order, one AdaGrad step each (glove.c's rule, see
csrc/cpu/glove.cpp); ``workers=B`` sums the gradients of B consecutive pairs, all computed from
the same model, before applying them (the CUDA kernel's batches). Any float dtype.
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np


def glove_cooccurrence(corpus, sentence_starts, window=10, vocab_size=None):
    """X[a, c] += 1/d for every two tokens a, c at distance d <= window in one sentence, both
    ways. Returns (rows int32, cols int32, values float64), sorted by (row, col)."""
    counts = defaultdict(float)
    starts = [int(s) for s in sentence_starts]
    for begin, end in zip(starts[:-1], starts[1:]):
        for p in range(begin, end):
            for d in range(1, window + 1):
                if p - d < begin:
                    break
                a, c = int(corpus[p]), int(corpus[p - d])
                counts[a, c] += 1.0 / d
                counts[c, a] += 1.0 / d
    keys = sorted(counts)
    rows = np.array([k[0] for k in keys], dtype=np.int32)
    cols = np.array([k[1] for k in keys], dtype=np.int32)
    return rows, cols, np.array([counts[k] for k in keys], dtype=np.float64)


def glove_train(W, Wc, b, bc, gW, gWc, gb, gbc, rows, cols, log_x, weight, learning_rate=0.05, workers=1):
    """One pass over the pairs, in place. Returns (cost, pairs skipped as non-finite)."""
    T = W.dtype.type
    lr = T(learning_rate)
    cost, skipped = 0.0, 0
    n = len(rows)
    for lo in range(0, n, workers):
        dW, dWc = defaultdict(lambda: np.zeros(W.shape[1], W.dtype)), defaultdict(lambda: np.zeros(W.shape[1], W.dtype))
        db, dbc = defaultdict(lambda: T(0)), defaultdict(lambda: T(0))
        for k in range(lo, min(lo + workers, n)):
            i, j = int(rows[k]), int(cols[k])
            diff = W[i] @ Wc[j] + b[i] + bc[j] - log_x[k]
            if not np.isfinite(diff):
                skipped += 1
                continue
            fdiff = weight[k] * diff
            cost += 0.5 * float(fdiff) * float(diff)
            g = lr * fdiff
            dW[i] = dW[i] + g * Wc[j]
            dWc[j] = dWc[j] + g * W[i]
            db[i] += g
            dbc[j] += g
        for w, acc, deltas in ((W, gW, dW), (Wc, gWc, dWc), (b, gb, db), (bc, gbc, dbc)):
            for row, t in deltas.items():
                w[row] -= t / np.sqrt(acc[row])
                acc[row] += t * t
    return cost, float(skipped)
