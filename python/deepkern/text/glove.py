"""GloVe: global word vectors from co-occurrence counts (Pennington, Socher & Manning 2014),
trained by deepkern's kernels.

    from deepkern.text import GloVe, corpora
    model = GloVe(corpora.brown(), vector_size=100, window=10, min_count=5, epochs=25, workers=2)
    model.wv.most_similar("money")            # the same KeyedVectors as Word2Vec's

Pipeline (the Stanford tool's, with its defaults unless stated): the vocabulary (words seen
>= min_count times, most frequent first); symmetric distance-weighted co-occurrence counts X
within a sentence (deepkern.ops.glove_cooccurrence, C++); the pairs shuffled once (seeded);
then ``epochs`` AdaGrad passes (deepkern.ops.glove_train, CPU threads or GPU) on
    sum over pairs  f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2,  f(x) = min(1, (x / x_max)^alpha)
from vectors and biases uniform in [-0.5, 0.5) / vector_size and accumulators at 1. The word
vectors are W + W~ (word plus context vectors), as the paper recommends.
"""
from __future__ import annotations

import time

import numpy as np

from .. import ops
from ..serialization import load as _dk_load, save as _dk_save
from .keyedvectors import KeyedVectors
from .word2vec import LineSentence, _int, _progress_bar, _real, check_sentences, count_vocabulary, encode_corpus

__all__ = ["GloVe"]


class GloVe:
    """GloVe word vectors; ``wv`` is a KeyedVectors of W + W~. See the module docstring."""

    _PARAMS = ("vector_size", "window", "min_count", "x_max", "alpha", "learning_rate", "epochs", "workers",
               "seed", "batch_pairs")

    def __init__(self, sentences=None, corpus_file=None, vector_size=100, window=10, min_count=5, max_vocab_size=None,
                 x_max=100.0, alpha=0.75, learning_rate=0.05, epochs=25, workers=3, seed=1, batch_pairs=16384,
                 device="cpu", progress=False):
        where = "GloVe"
        self.vector_size = _int(where, "vector_size", vector_size, 1)
        self.window = _int(where, "window", window, 1)
        self.min_count = _int(where, "min_count", min_count, 0)
        self.epochs = _int(where, "epochs", epochs, 0)
        self.workers = _int(where, "workers", workers, 1)
        self.seed = _int(where, "seed", seed, 0)
        self.batch_pairs = _int(where, "batch_pairs", batch_pairs, 1)
        self.x_max = _real(where, "x_max", x_max)
        if self.x_max == 0:
            raise ValueError(f"{where}: x_max must be > 0")
        self.alpha = _real(where, "alpha", alpha)
        self.learning_rate = _real(where, "learning_rate", learning_rate)
        self.max_vocab_size = max_vocab_size
        if device not in ("cpu", "cuda"):
            raise ValueError(f"{where}: device must be 'cpu' or 'cuda', got {device!r}")
        self.device, self.progress = device, progress
        self.wv = KeyedVectors(self.vector_size)
        self.cooccurrence = None
        self._pair_terms = None
        self.losses = []
        self.train_seconds = 0.0
        if sentences is not None or corpus_file is not None:
            if sentences is not None and corpus_file is not None:
                raise TypeError(f"{where}: give sentences or corpus_file, not both")
            corpus = LineSentence(corpus_file) if corpus_file is not None else check_sentences(sentences, where)
            self.build_vocab(corpus)
            self.train()

    def build_vocab(self, corpus_iterable=None, corpus_file=None):
        """The vocabulary, the co-occurrence counts and the initial model."""
        where = "GloVe.build_vocab"
        corpus = LineSentence(corpus_file) if corpus_file is not None else check_sentences(corpus_iterable, where)
        if corpus is None:
            raise TypeError(f"{where}: give corpus_iterable or corpus_file")
        if not isinstance(corpus, (list, tuple)):
            corpus = list(corpus)  # read twice: counting, then encoding
        keys, counts, self.corpus_count, self.corpus_total_words = count_vocabulary(
            corpus, self.min_count, where, self.max_vocab_size)
        self.wv = KeyedVectors(self.vector_size)
        self.wv.index_to_key = keys
        self.wv.key_to_index = {w: i for i, w in enumerate(keys)}
        self.wv.expandos["count"] = counts
        ids, starts = encode_corpus(corpus, self.wv.key_to_index)
        rows, cols, values = ops.glove_cooccurrence(ids, starts, self.window, len(keys))
        if rows.size == 0:
            raise ValueError(f"{where}: no two known words share a sentence within window={self.window}: "
                             "nothing to train on")
        order = np.random.default_rng(self.seed).permutation(rows.size)  # glove.c shuffles once
        self.cooccurrence = (rows[order], cols[order], values[order])
        self._pair_terms = None
        V, D = len(keys), self.vector_size
        rng = np.random.default_rng(self.seed)
        init = lambda *shape: ((rng.random(shape) - 0.5) / D).astype(np.float32)  # noqa: E731
        self.W, self.W_context, self.b, self.b_context = init(V, D), init(V, D), init(V), init(V)
        self._accumulators = [np.ones((V, D), np.float32), np.ones((V, D), np.float32), np.ones(V, np.float32),
                              np.ones(V, np.float32)]
        self.losses = []
        self._update_wv()

    def train(self, epochs=None, bar=None):
        """``epochs`` AdaGrad passes over the shuffled co-occurrence pairs; returns the mean
        cost per pair of each epoch (also appended to ``losses``)."""
        epochs = self.epochs if epochs is None else _int("GloVe.train", "epochs", epochs, 0)
        if bar is None:
            bar = _progress_bar(self.progress, epochs * self.num_pairs)
        t0 = time.perf_counter()
        try:
            return [self.train_epoch(bar) for _ in range(epochs)]
        finally:
            if bar is not None:
                bar.close()
            self.train_seconds = time.perf_counter() - t0

    @property
    def num_pairs(self):
        return 0 if self.cooccurrence is None else int(self.cooccurrence[0].size)

    def train_epoch(self, bar=None, bar_scale=1.0):
        """One AdaGrad pass over the pairs (in the order fixed by build_vocab); returns its mean
        cost per pair. ``bar``: a tqdm bar advanced by ``bar_scale`` per pair done."""
        if self.cooccurrence is None:
            raise RuntimeError("GloVe.train: call build_vocab first (no co-occurrence counts)")
        rows, cols, values = self.cooccurrence
        if self._pair_terms is None:  # log X and f(X), computed once
            self._pair_terms = (np.log(values).astype(np.float32),
                                np.minimum(1.0, (values / self.x_max) ** self.alpha).astype(np.float32))
        model = [self.W, self.W_context, self.b, self.b_context, *self._accumulators]
        arrays = model + [rows, cols, *self._pair_terms]
        if self.device == "cuda":
            from .. import cuda
            cuda.extension()
            import cupy
            arrays = [cupy.asarray(a) for a in arrays]
        workers = self.workers if self.device == "cpu" else (1 if self.workers == 1 else self.batch_pairs)
        n, cost = rows.size, 0.0
        step = max(1 << 16, -(-n // 20) // max(workers, 1) * max(workers, 1))  # ~20 updates of the bar
        try:
            for k in range(0, n, step):
                part = [a[k:k + step] for a in arrays[8:]]
                cost += ops.glove_train(*arrays[:8], *part, learning_rate=self.learning_rate, workers=workers)[0]
                if bar is not None:
                    bar.update(part[0].size * bar_scale)
        finally:
            if self.device == "cuda":
                for host, dev in zip(model, arrays):
                    host[...] = dev.get()
            self._update_wv()
        self.losses.append(cost / n)
        return self.losses[-1]

    def _update_wv(self):
        self.wv.vectors = self.W + self.W_context
        self.wv.vectors_changed()

    def save(self, fname):
        """Parameters, vocabulary, model, accumulators and counts as one deepkern checkpoint."""
        _dk_save({"kind": "GloVe", "params": {k: getattr(self, k) for k in self._PARAMS},
                  "keys": list(self.wv.index_to_key), "counts": self.wv.expandos["count"],
                  "model": [self.W, self.W_context, self.b, self.b_context, *self._accumulators],
                  "cooccurrence": list(self.cooccurrence), "losses": list(self.losses)}, fname)

    @classmethod
    def load(cls, fname):
        state = _dk_load(fname)
        if not isinstance(state, dict) or state.get("kind") != "GloVe":
            raise ValueError(f"GloVe.load: {fname} is not a GloVe model saved by deepkern")
        model = cls(**state["params"])
        keys = list(state["keys"])
        model.wv.index_to_key, model.wv.key_to_index = keys, {w: i for i, w in enumerate(keys)}
        model.wv.expandos["count"] = np.asarray(state["counts"])
        model.W, model.W_context, model.b, model.b_context, *model._accumulators = state["model"]
        model.cooccurrence = tuple(state["cooccurrence"])
        model.losses = list(state["losses"])
        model._update_wv()
        return model

    def __repr__(self):
        return (f"GloVe<vocab={len(self.wv)}, vector_size={self.vector_size}, window={self.window}, "
                f"x_max={self.x_max}, alpha={self.alpha}>")
