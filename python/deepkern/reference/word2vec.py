"""Pure-NumPy word2vec training: the ground truth for deepkern.ops.word2vec_train.

It makes exactly the kernels' random choices (csrc/core/word2vec_sampling.h: counter draws
keyed by seed, epoch and corpus position) and follows the single-thread kernel's order, one
center word after another; ``workers=B`` computes the updates of B consecutive corpus
positions from the same weights before applying them (the CUDA kernels' batches). Written for
clarity and for any float dtype (float32, float64, long double), not for speed.
"""
from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def counter_draw(seed, i):
    """dk::counter_draw (csrc/core/counter_rng.h): SplitMix64 of seed + (i + 1) * golden, for a
    uint64 array ``i`` (uint64 array arithmetic wraps silently, as the C++ does)."""
    seed = np.asarray(seed, dtype=np.uint64)
    z = seed + (np.asarray(i, dtype=np.uint64) + np.uint64(1)) * _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _epoch_stream(seed, epoch):
    return counter_draw(np.array([seed], dtype=np.uint64), np.array([epoch], dtype=np.uint64))[0]


def _token_draws(stream, positions, slots, slot):
    pos = np.asarray(positions, dtype=np.uint64)
    return counter_draw(stream, pos * np.uint64(slots) + np.uint64(slot))


def _learning_rate(alpha, min_alpha, done, total):
    a = alpha - (alpha - min_alpha) * (float(done) / float(total))
    return a if a > min_alpha else min_alpha


def _noise_words(stream, pos, slots, negative, noise_threshold, noise_alias):
    u = _token_draws(stream, [pos] * negative, slots, np.arange(2, 2 + negative, dtype=np.uint64))
    V = np.uint64(noise_threshold.shape[0])
    bucket = (((u & np.uint64(0xFFFFFFFF)) * V) >> np.uint64(32)).astype(np.int64)
    high = (u >> np.uint64(32)).astype(np.int64)
    return np.where(high < noise_threshold[bucket], bucket, noise_alias[bucket]).astype(np.int64)


def _softplus(t):
    t = np.asarray(t, dtype=np.float64)
    return np.where(t > 30, t, np.log1p(np.exp(np.minimum(t, 30))))


def word2vec_train(syn0, syn1neg, syn1, corpus, sentence_starts, keep_threshold, noise_threshold=None,
                   noise_alias=None, hs_points=None, hs_codes=None, hs_lengths=None, *, sg=True, cbow_mean=True,
                   window=5, negative=5, alpha=0.025, min_alpha=1e-4, words_before=0, total_words=None, seed=0,
                   epoch=0, workers=1, compute_loss=False):
    """Updates syn0 / syn1neg / syn1 in place; returns (words kept by subsampling, loss)."""
    T = syn0.dtype.type
    hs = syn1 is not None
    starts = np.asarray(sentence_starts, dtype=np.int64)
    if total_words is None:
        total_words = int(starts[-1])
    slots = 2 + negative
    stream = _epoch_stream(seed, epoch)
    weights = [syn0, syn1neg, syn1]
    deltas = [np.zeros_like(w) if w is not None else None for w in weights]
    words, loss = 0, 0.0
    first = int(starts[0])
    batch = None  # the batch of corpus positions whose updates are pending in `deltas`

    def flush():
        for w, d in zip(weights, deltas):
            if w is not None:
                w += d
                d[...] = 0

    for s in range(len(starts) - 1):
        begin, end = int(starts[s]), int(starts[s + 1])
        a = T(_learning_rate(alpha, min_alpha, words_before + begin, total_words))
        positions = np.arange(begin, end)
        draws = _token_draws(stream, positions, slots, 0) >> np.uint64(32)
        kept = positions[draws.astype(np.int64) < keep_threshold[corpus[positions]]]
        words += len(kept)
        for c, pos in enumerate(kept):
            if (pos - first) // workers != batch:
                flush()
                batch = (pos - first) // workers
            word = int(corpus[pos])
            u = _token_draws(stream, [pos], slots, 1)[0] >> np.uint64(32)
            b = window - int(u % np.uint64(window))
            ctx = [int(corpus[kept[j]]) for j in range(max(0, c - b), min(len(kept), c + b + 1)) if j != c]
            if not ctx:
                continue
            outs = []  # (matrix index in weights, row, label)
            if hs:
                for l in range(int(hs_lengths[word])):
                    outs.append((2, int(hs_points[word, l]), T(1) - T(hs_codes[word, l])))
            if negative > 0:
                outs.append((1, word, T(1)))
                for noise in _noise_words(stream, pos, slots, negative, noise_threshold, noise_alias):
                    if noise != word:
                        outs.append((1, int(noise), T(0)))
            if not outs:  # a one-word vocabulary's Huffman tree has no inner node
                continue
            out = np.stack([weights[k][r] for k, r, _ in outs])        # (N, D)
            label = np.array([lab for _, _, lab in outs], dtype=syn0.dtype)
            inp = syn0[ctx]                                             # (M, D)
            if not sg:
                h = inp.sum(axis=0)
                inp = (h * (T(1) / T(len(ctx))) if cbow_mean else h)[None, :]
            logits = inp @ out.T                                        # (M, N)
            with np.errstate(over="ignore"):
                g = a * (label - T(1) / (T(1) + np.exp(-logits)))
            if compute_loss:
                loss += float(np.sum(_softplus(np.where(label > 0.5, -logits, logits))))
            d_in = g @ out                                              # (M, D)
            d_out = g.T @ inp                                           # (N, D)
            for n, (k, r, _) in enumerate(outs):
                deltas[k][r] += d_out[n]
            if sg:
                for m, w in enumerate(ctx):
                    deltas[0][w] += d_in[m]
            else:
                d = d_in[0] if cbow_mean else d_in[0] * (T(1) / T(len(ctx)))
                for w in ctx:
                    deltas[0][w] += d
    flush()
    return float(words), float(loss)
