"""Word2Vec: gensim's Word2Vec, trained by deepkern's kernels (deepkern.ops.word2vec_train).

    from deepkern.text import Word2Vec            # instead of: from gensim.models import Word2Vec
    model = Word2Vec(sentences, vector_size=100, window=5, min_count=5, sg=1, negative=5, hs=0,
                     sample=1e-3, alpha=0.025, min_alpha=1e-4, epochs=5, workers=2, seed=0)
    model.wv.most_similar("king")

The arguments, their defaults and their meanings are gensim's: skip-gram (``sg=1``) or CBOW
(``sg=0``, ``cbow_mean``), negative sampling from the unigram^``ns_exponent`` distribution
(``negative``) and/or hierarchical softmax over a Huffman tree (``hs=1``), frequent-word
subsampling (``sample``), a window drawn in [1, ``window``] around each word, and a learning
rate decaying linearly from ``alpha`` to ``min_alpha`` over all epochs. ``workers`` threads
train without locks; ``workers=1`` is exactly reproducible for a given ``seed`` (gensim needs
that plus a fixed PYTHONHASHSEED). One deliberate difference: in skip-gram the noise words are
drawn once per center word and shared by its context words, which lets the kernel train a
whole window as one small matrix product (pWord2Vec); see csrc/cpu/word2vec.cpp.
deepkern additions: ``device='cuda'`` trains on the GPU (CuPy), ``progress=True`` shows a
progress bar with words/s.
"""
from __future__ import annotations

import itertools
import math
import time
from collections import Counter

import numpy as np

from .. import ops
from ..serialization import load as _dk_load, save as _dk_save
from .keyedvectors import KeyedVectors
from .vocab_tables import huffman_tree, keep_thresholds, noise_table

__all__ = ["Word2Vec", "LineSentence", "MAX_WORDS_IN_BATCH", "count_vocabulary", "encode_corpus"]

MAX_WORDS_IN_BATCH = 10000  # longer sentences are cut into pieces of this many words (as gensim)


class LineSentence:
    """A text file as sentences: one sentence per line, tokens separated by whitespace
    (gensim.models.word2vec.LineSentence). Iterable any number of times."""

    def __init__(self, source, max_sentence_length=MAX_WORDS_IN_BATCH, limit=None):
        self.source, self.max_sentence_length, self.limit = source, max_sentence_length, limit

    def __iter__(self):
        with open(self.source, encoding="utf-8", errors="replace") as f:
            for line in itertools.islice(f, self.limit):
                words = line.split()
                for i in range(0, len(words), self.max_sentence_length):
                    yield words[i:i + self.max_sentence_length]


def count_vocabulary(corpus, min_count, where, max_vocab_size=None, max_final_vocab=None):
    """The words seen >= min_count times, most frequent first (ties in order of first
    appearance), as (words, counts int64), with the number of sentences and of tokens."""
    counts, sentences = Counter(), 0
    for sentence in corpus:
        if isinstance(sentence, str):
            raise TypeError(f"{where}: each sentence must be a list of words, got the string {sentence[:40]!r}")
        counts.update(sentence)
        sentences += 1
    total = sum(counts.values())
    if total == 0:
        raise ValueError(f"{where}: the corpus is empty ({sentences} sentences, no words)")
    kept = [(w, c) for w, c in counts.items() if c >= min_count]
    kept.sort(key=lambda wc: -wc[1])  # stable: ties stay in order of first appearance
    for limit in (max_vocab_size, max_final_vocab):
        if limit is not None:
            kept = kept[:int(limit)]
    if not kept:
        raise ValueError(f"{where}: min_count={min_count} leaves no words: the corpus has {len(counts)} "
                         f"distinct words, the most frequent seen {max(counts.values())} times")
    return [w for w, _ in kept], np.array([c for _, c in kept], dtype=np.int64), sentences, total


def encode_corpus(corpus, key_to_index):
    """The corpus as (word ids int32, sentence offsets int64): unknown words dropped (the
    window then spans them, as in gensim), sentences cut at MAX_WORDS_IN_BATCH words."""
    ids, lengths = [], []
    for sentence in corpus:
        s = [i for i in map(key_to_index.get, sentence) if i is not None]
        for lo in range(0, len(s), MAX_WORDS_IN_BATCH):
            ids.append(s[lo:lo + MAX_WORDS_IN_BATCH])
            lengths.append(len(ids[-1]))
    flat = np.fromiter(itertools.chain.from_iterable(ids), dtype=np.int32, count=sum(lengths))
    starts = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=starts[1:])
    return flat, starts


def check_sentences(sentences, where):
    if isinstance(sentences, (str, bytes)):
        raise TypeError(f"{where}: sentences must be an iterable of token lists, got a string "
                        "(split it into sentences of words first)")
    return sentences


class Word2Vec:
    """Word vectors by skip-gram or CBOW (Mikolov et al. 2013). See the module docstring."""

    def __init__(self, sentences=None, corpus_file=None, vector_size=100, alpha=0.025, window=5, min_count=5,
                 max_vocab_size=None, sample=1e-3, seed=1, workers=3, min_alpha=0.0001, sg=0, hs=0, negative=5,
                 ns_exponent=0.75, cbow_mean=1, epochs=5, sorted_vocab=1, batch_words=MAX_WORDS_IN_BATCH,
                 compute_loss=False, callbacks=(), max_final_vocab=None, device="cpu", progress=False):
        where = "Word2Vec"
        self.vector_size = _int(where, "vector_size", vector_size, 1)
        self.window = _int(where, "window", window, 1)
        self.min_count = _int(where, "min_count", min_count, 0)
        self.negative = _int(where, "negative", negative, 0)
        self.workers = _int(where, "workers", workers, 1)
        self.epochs = _int(where, "epochs", epochs, 0)
        self.batch_words = _int(where, "batch_words", batch_words, 1)
        self.seed = _int(where, "seed", seed, 0)
        self.sg, self.hs, self.cbow_mean = int(bool(sg)), int(bool(hs)), int(bool(cbow_mean))
        if not self.hs and self.negative == 0:
            raise ValueError(f"{where}: hs=0 and negative=0 leave nothing to train; set hs=1 or negative > 0")
        self.alpha, self.min_alpha = _real(where, "alpha", alpha), _real(where, "min_alpha", min_alpha)
        self.sample = _real(where, "sample", sample)
        self.ns_exponent = float(ns_exponent)
        self.max_vocab_size, self.max_final_vocab = max_vocab_size, max_final_vocab
        self.sorted_vocab = sorted_vocab
        if device not in ("cpu", "cuda"):
            raise ValueError(f"{where}: device must be 'cpu' or 'cuda', got {device!r}")
        self.device, self.progress = device, progress
        self.compute_loss, self.callbacks = bool(compute_loss), tuple(callbacks)
        self.wv = KeyedVectors(self.vector_size)
        self.syn1neg = self.syn1 = None
        self.corpus_count = self.corpus_total_words = 0
        self.running_training_loss = 0.0
        self.epochs_trained = 0
        self.train_seconds = 0.0
        if sentences is not None or corpus_file is not None:
            if sentences is not None and corpus_file is not None:
                raise TypeError(f"{where}: give sentences or corpus_file, not both")
            corpus = LineSentence(corpus_file) if corpus_file is not None else check_sentences(sentences, where)
            self.build_vocab(corpus)
            self.train(corpus, total_examples=self.corpus_count, epochs=self.epochs)

    # ---- vocabulary -----------------------------------------------------------------------
    def build_vocab(self, corpus_iterable=None, corpus_file=None, progress_per=10000):
        """Counts the words, keeps those seen >= min_count times (most frequent first), and
        makes the sampling tables and the initial vectors."""
        where = "Word2Vec.build_vocab"
        corpus = LineSentence(corpus_file) if corpus_file is not None else check_sentences(corpus_iterable, where)
        if corpus is None:
            raise TypeError(f"{where}: give corpus_iterable or corpus_file")
        keys, counts, sentences, total = count_vocabulary(corpus, self.min_count, where,
                                                          self.max_vocab_size, self.max_final_vocab)
        wv = self.wv = KeyedVectors(self.vector_size)
        wv.index_to_key = keys
        wv.key_to_index = {w: i for i, w in enumerate(keys)}
        wv.expandos["count"] = counts
        self.corpus_count, self.corpus_total_words = sentences, total
        self._make_tables()
        rng = np.random.default_rng(self.seed)
        V, D = len(wv.index_to_key), self.vector_size
        wv.vectors = ((rng.random((V, D), dtype=np.float32) - 0.5) / D).astype(np.float32)
        self.syn1neg = np.zeros((V, D), np.float32) if self.negative else None
        self.syn1 = np.zeros((max(V - 1, 0), D), np.float32) if self.hs else None
        wv.vectors_changed()

    def _make_tables(self):
        counts = self.wv.expandos["count"]
        self._keep = keep_thresholds(counts, self.sample)
        self._noise = noise_table(counts, self.ns_exponent) if self.negative else (None, None)
        self._tree = huffman_tree(counts) if self.hs else (None, None, None)

    def encode(self, corpus):
        """The corpus as (word ids int32, sentence offsets int64) for train_epoch: unknown words
        dropped, long sentences cut (see encode_corpus)."""
        return encode_corpus(corpus, self.wv.key_to_index)

    # ---- training -------------------------------------------------------------------------
    def train(self, corpus_iterable=None, corpus_file=None, total_examples=None, total_words=None, epochs=None,
              start_alpha=None, end_alpha=None, compute_loss=None, callbacks=()):
        """Trains ``epochs`` passes over the corpus (gensim's signature; total_examples /
        total_words are accepted for compatibility, the corpus is counted exactly anyway).
        Returns (words trained after subsampling, raw words)."""
        where = "Word2Vec.train"
        if not len(self.wv):
            raise RuntimeError(f"{where}: call build_vocab first (the vocabulary is empty)")
        corpus = LineSentence(corpus_file) if corpus_file is not None else check_sentences(corpus_iterable, where)
        if corpus is None:
            raise TypeError(f"{where}: give corpus_iterable or corpus_file")
        epochs = self.epochs if epochs is None else _int(where, "epochs", epochs, 0)
        callbacks = self.callbacks + tuple(callbacks)
        encoded = self.encode(corpus)
        N = int(encoded[0].size)
        self.running_training_loss = 0.0
        if N == 0 or epochs == 0:
            return 0, 0
        bar = _progress_bar(self.progress, epochs * N)
        trained, t0 = 0.0, time.perf_counter()
        for cb in callbacks:
            getattr(cb, "on_train_begin", lambda m: None)(self)
        try:
            for e in range(epochs):
                for cb in callbacks:
                    getattr(cb, "on_epoch_begin", lambda m: None)(self)
                words, loss = self.train_epoch(encoded, e, epochs, start_alpha, end_alpha, compute_loss, bar)
                trained += words
                self.running_training_loss += loss
                for cb in callbacks:
                    getattr(cb, "on_epoch_end", lambda m: None)(self)
        finally:
            if bar is not None:
                bar.close()
            self.train_seconds = time.perf_counter() - t0
        for cb in callbacks:
            getattr(cb, "on_train_end", lambda m: None)(self)
        return int(trained), epochs * N

    def train_epoch(self, encoded, epoch, epochs, start_alpha=None, end_alpha=None, compute_loss=None, bar=None):
        """Pass ``epoch`` (0-based) of ``epochs`` over an ``encode``-d corpus: the learning rate
        runs from where epoch/epochs of the decay left it; the random draws are keyed on the
        number of epochs this model has trained, so training epoch by epoch (and resuming from
        a saved model) equals one train() call. ``bar``: a tqdm bar advanced by corpus words.
        Returns (words kept by subsampling, loss)."""
        where = "Word2Vec.train_epoch"
        alpha = self.alpha if start_alpha is None else _real(where, "start_alpha", start_alpha)
        min_alpha = self.min_alpha if end_alpha is None else _real(where, "end_alpha", end_alpha)
        compute_loss = self.compute_loss if compute_loss is None else bool(compute_loss)
        corpus_ids, starts = encoded
        N = int(corpus_ids.size)
        arrays = self._device_arrays(corpus_ids, starts)
        trained = total_loss = 0.0
        try:
            for lo, hi in self._jobs(starts):
                words, loss = ops.word2vec_train(
                    arrays["syn0"], arrays["syn1neg"], arrays["syn1"], arrays["corpus"], arrays["starts"][lo:hi + 1],
                    arrays["keep"], arrays["noise_threshold"], arrays["noise_alias"], arrays["points"],
                    arrays["codes"], arrays["lengths"], sg=bool(self.sg), cbow_mean=bool(self.cbow_mean),
                    window=self.window, negative=self.negative, alpha=alpha, min_alpha=min_alpha,
                    words_before=epoch * N, total_words=max(epochs * N, 1), seed=self.seed,
                    epoch=self.epochs_trained, workers=self._kernel_workers(), compute_loss=compute_loss)
                trained += words
                total_loss += loss
                if bar is not None:
                    bar.update(int(starts[hi] - starts[lo]))
        finally:
            self._sync_to_host(arrays)
        self.epochs_trained += 1
        return trained, total_loss

    def _kernel_workers(self):
        # GPU: the corpus positions updated from the same weights; 1 keeps the sequential order.
        if self.device == "cuda":
            return 1 if self.workers == 1 else self.batch_words
        return self.workers

    def _jobs(self, starts):
        """Sentence ranges of one kernel call each: enough words for every thread to take
        several blocks, few enough for a live progress bar."""
        target = 1 << 22 if self.device == "cuda" else max(self.batch_words * self.workers * 8, 65536)
        jobs, lo = [], 0
        S = len(starts) - 1
        while lo < S:
            hi = int(np.searchsorted(starts, starts[lo] + target, side="left"))
            hi = min(max(hi, lo + 1), S)
            jobs.append((lo, hi))
            lo = hi
        return jobs

    def _device_arrays(self, corpus_ids, starts):
        points, codes, lengths = self._tree
        host = {"syn0": self.wv.vectors, "syn1neg": self.syn1neg, "syn1": self.syn1, "corpus": corpus_ids,
                "starts": starts, "keep": self._keep, "noise_threshold": self._noise[0],
                "noise_alias": self._noise[1], "points": points, "codes": codes, "lengths": lengths}
        if self.device == "cpu":
            return host
        from .. import cuda
        cuda.extension()  # a clear error when no GPU is usable
        import cupy
        return {k: (cupy.asarray(v) if v is not None else None) for k, v in host.items()}

    def _sync_to_host(self, arrays):
        if self.device == "cuda":
            for name, host in (("syn0", self.wv.vectors), ("syn1neg", self.syn1neg), ("syn1", self.syn1)):
                if host is not None:
                    host[...] = arrays[name].get()
        self.wv.vectors_changed()

    def get_latest_training_loss(self):
        """The loss summed over the last train() call (needs compute_loss=True)."""
        return self.running_training_loss

    # ---- persistence ----------------------------------------------------------------------
    _PARAMS = ("vector_size", "window", "min_count", "negative", "workers", "epochs", "batch_words", "seed", "sg",
               "hs", "cbow_mean", "alpha", "min_alpha", "sample", "ns_exponent", "corpus_count",
               "corpus_total_words", "epochs_trained")

    def save(self, fname):
        """The whole model (parameters, vocabulary, every weight) as one deepkern checkpoint."""
        _dk_save({"kind": "Word2Vec", "params": {k: getattr(self, k) for k in self._PARAMS},
                  "wv": {"vectors": self.wv.vectors, "index_to_key": list(self.wv.index_to_key),
                         "expandos": dict(self.wv.expandos)},
                  "syn1neg": self.syn1neg, "syn1": self.syn1}, fname)

    @classmethod
    def load(cls, fname):
        state = _dk_load(fname)
        if not isinstance(state, dict) or state.get("kind") != "Word2Vec":
            raise ValueError(f"Word2Vec.load: {fname} is not a Word2Vec model saved by deepkern")
        p = dict(state["params"])
        extra = {k: p.pop(k) for k in ("corpus_count", "corpus_total_words", "epochs_trained")}
        model = cls(**p)
        for k, v in extra.items():
            setattr(model, k, v)
        model.wv = KeyedVectors._from_state(state["wv"])
        model.syn1neg, model.syn1 = state["syn1neg"], state["syn1"]
        model._make_tables()
        return model

    def __repr__(self):
        return (f"Word2Vec<vocab={len(self.wv)}, vector_size={self.vector_size}, sg={self.sg}, hs={self.hs}, "
                f"negative={self.negative}, window={self.window}, alpha={self.alpha}>")


def _progress_bar(progress, total):
    if not progress:
        return None
    from tqdm import tqdm
    return tqdm(total=total, unit="word", unit_scale=True, dynamic_ncols=True, leave=False)


def _int(where, name, v, minimum):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{where}: {name} must be an int, got {type(v).__name__} {v!r}")
    if v < minimum:
        raise ValueError(f"{where}: {name} must be >= {minimum}, got {v}")
    return int(v)


def _real(where, name, v):
    if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)):
        raise TypeError(f"{where}: {name} must be a number, got {type(v).__name__} {v!r}")
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{where}: {name} must be a finite number >= 0, got {v}")
    return float(v)
