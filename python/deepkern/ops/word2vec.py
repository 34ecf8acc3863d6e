"""word2vec training kernels: skip-gram or CBOW with negative sampling and/or hierarchical
softmax, on the CPU (lock-free threads) and the GPU, updating the weights in place.

    syn0 (V, D), syn1neg (V, D) or None, syn1 (V - 1, D) or None   weights, float32 / float64
    corpus (N,) int32 word ids; sentence_starts (S + 1,) int64 offsets into corpus
    keep_threshold (V,) int64        subsampling: keep probability * 2^32
    noise_threshold, noise_alias (V,) the alias table of the noise distribution (negative > 0)
    hs_points, hs_codes (V, L), hs_lengths (V,)  Huffman paths (when syn1 is given)

deepkern.text.Word2Vec builds these tables; see csrc/cpu/word2vec.cpp for the algorithm and
csrc/core/word2vec_sampling.h for the random choices, which depend only on (seed, epoch,
corpus position), so ``workers=1`` is exactly reproducible and equals
``deepkern.reference.word2vec_train``.
"""
from __future__ import annotations

import numpy as np

from .. import _checks
from .._backend import is_array, kernels


def _table(op, name, x, xp, dtype, shape):
    if x is None:
        return xp.zeros(shape, dtype=dtype)
    x = _checks.index_array(op, name, x, xp, dtype=dtype)
    _checks.shape(op, name, x, shape)
    return x


def word2vec_train(syn0, syn1neg, syn1, corpus, sentence_starts, keep_threshold, noise_threshold=None,
                   noise_alias=None, hs_points=None, hs_codes=None, hs_lengths=None, *, sg=True, cbow_mean=True,
                   window=5, negative=5, alpha=0.025, min_alpha=1e-4, words_before=0, total_words=None, seed=0,
                   epoch=0, workers=1, compute_loss=False):
    """Trains the sentences ``corpus[sentence_starts[s]:sentence_starts[s + 1]]`` once, in place.

    The learning rate decays linearly from ``alpha`` to ``min_alpha`` over ``total_words``
    corpus words (all epochs; default: this call's words); a sentence starting at corpus offset
    o uses the rate at ``words_before + o`` words done. ``workers``: CPU threads (Hogwild), or
    on the GPU the corpus positions whose updates are computed from the same weights; 1 is the
    exactly reproducible sequential order. Returns (words kept by subsampling, loss), the loss
    (-log-likelihood summed over every prediction) only when ``compute_loss``.
    """
    op = "word2vec_train"
    for name, w in (("syn0", syn0), ("syn1neg", syn1neg), ("syn1", syn1)):
        if is_array(w) and not (w.flags.c_contiguous and getattr(w.flags, "writeable", True)):
            raise ValueError(f"{op}: {name} must be C-contiguous and writable (it is updated in place)")
    xp, (syn0, syn1neg, syn1) = _checks.arrays(op, syn0=syn0, syn1neg=syn1neg, syn1=syn1)
    _checks.ndim(op, "syn0", syn0, 2, "(vocab_size, vector_size)")
    V, D = syn0.shape
    if V == 0:
        raise ValueError(f"{op}: the vocabulary is empty (syn0.shape={tuple(syn0.shape)})")
    negative = _checks.integer(op, "negative", negative, minimum=0)
    window = _checks.integer(op, "window", window, minimum=1)
    workers = _checks.integer(op, "workers", workers, minimum=1)
    hs = syn1 is not None
    if not hs and negative == 0:
        raise ValueError(f"{op}: nothing to train: give syn1 (hierarchical softmax) or negative > 0")
    if (syn1neg is None) != (negative == 0):
        raise ValueError(f"{op}: syn1neg must be given exactly when negative > 0 (negative={negative})")
    for name, w, rows in (("syn1neg", syn1neg, V), ("syn1", syn1, V - 1)):
        if w is not None:
            _checks.shape(op, name, w, (rows, D))
    corpus = _checks.index_array(op, "corpus", corpus, xp, dtype="int32")
    _checks.ndim(op, "corpus", corpus, 1)
    starts = _checks.index_array(op, "sentence_starts", sentence_starts, xp)
    _checks.ndim(op, "sentence_starts", starts, 1)
    if starts.size == 0:
        raise ValueError(f"{op}: sentence_starts needs at least one offset")
    if int(starts[0]) < 0 or int(starts[-1]) > corpus.size or bool((starts[1:] < starts[:-1]).any()):
        raise ValueError(f"{op}: sentence_starts must be non-decreasing offsets in [0, {corpus.size}]")
    trained = corpus[int(starts[0]):int(starts[-1])]
    if trained.size and (int(trained.min()) < 0 or int(trained.max()) >= V):
        raise ValueError(f"{op}: corpus holds ids outside [0, {V}) (min {int(trained.min())}, "
                         f"max {int(trained.max())})")
    keep_threshold = _table(op, "keep_threshold", keep_threshold, xp, "int64", (V,))
    if negative > 0 and (noise_threshold is None or noise_alias is None):
        raise ValueError(f"{op}: negative > 0 needs noise_threshold and noise_alias")
    noise_threshold = _table(op, "noise_threshold", noise_threshold if negative else None, xp, "int64",
                             (V if negative else 0,))
    noise_alias = _table(op, "noise_alias", noise_alias if negative else None, xp, "int32", (V if negative else 0,))
    if hs and (hs_points is None or hs_codes is None or hs_lengths is None):
        raise ValueError(f"{op}: hierarchical softmax (syn1 given) needs hs_points, hs_codes and hs_lengths")
    L = hs_points.shape[1] if hs and getattr(hs_points, "ndim", 0) == 2 else 0
    hs_points = _table(op, "hs_points", hs_points if hs else None, xp, "int32", (V if hs else 0, L))
    hs_codes = _table(op, "hs_codes", hs_codes if hs else None, xp, "uint8", (V if hs else 0, L))
    hs_lengths = _table(op, "hs_lengths", hs_lengths if hs else None, xp, "int32", (V if hs else 0,))
    alpha = _checks.real(op, "alpha", alpha, low=0.0)
    min_alpha = _checks.real(op, "min_alpha", min_alpha, low=0.0)
    words_before = _checks.integer(op, "words_before", words_before, minimum=0)
    if total_words is None:
        total_words = max(1, int(starts[-1]) - int(starts[0]))
    total_words = _checks.integer(op, "total_words", total_words, minimum=1)
    seed = _checks.integer(op, "seed", seed, minimum=0) % 2**64
    epoch = _checks.integer(op, "epoch", epoch, minimum=0)
    ext = kernels(xp)
    workspace = xp.empty((ext.word2vec_workspace_size(V, D, hs, negative, syn0.itemsize),), dtype=xp.uint8)
    stats = xp.zeros((2,), dtype=xp.float64)
    empty = xp.empty((0, D), dtype=syn0.dtype)
    ext.word2vec_train(syn0, syn1neg if syn1neg is not None else empty, syn1 if hs else empty, corpus, starts,
                       keep_threshold, noise_threshold, noise_alias, hs_points, hs_codes, hs_lengths, workspace,
                       stats, bool(sg), hs, bool(cbow_mean), window, negative, alpha, min_alpha, words_before,
                       total_words, seed, epoch, workers, bool(compute_loss))
    words, loss = (float(v) for v in (stats.get() if xp is not np else stats))
    return words, loss
