"""Sentence classifiers over word embeddings (the course's sentiment and Emojify models).

Input: token ids (B, T), right-padded with ``padding_idx`` (0); a sentence's length is its
number of non-padding ids. Output: logits (B, num_classes).

- ``AveragedEmbeddingClassifier``: the mean of the sentence's word vectors -> dropout ->
  Linear (softmax regression on the average; Emojify V1).
- ``LSTMClassifier``: word vectors -> dropout -> a many-to-one LSTM read at each sentence's
  last real word (padded steps change neither its state nor the others', see
  ``deepkern.models.SequenceClassifier``) -> Linear (Emojify V2).

``embedding_matrix(itos, keyed_vectors)`` builds the (V, D) initial table from trained word
vectors (word2vec / GloVe KeyedVectors); pass it as ``embeddings=`` (``freeze`` keeps it fixed).
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..autograd import Tensor
from ..nn import Dropout, Embedding, Linear, Module
from .rnn_heads import SequenceClassifier

__all__ = ["AveragedEmbeddingClassifier", "LSTMClassifier", "embedding_matrix"]


def embedding_matrix(itos, keyed_vectors, seed=0, scale=None):
    """(len(itos), D) float32: the vector of each vocabulary word found in ``keyed_vectors``
    (case-folded lookup as a fallback), small random vectors for the others, zeros for id 0
    (padding). Returns (matrix, number of words found)."""
    D = keyed_vectors.vector_size
    known = keyed_vectors.vectors
    scale = float(np.std(known)) if scale is None else scale
    out = (np.random.default_rng(seed).standard_normal((len(itos), D)) * scale).astype(np.float32)
    found = 0
    for i, w in enumerate(itos):
        if i == 0:
            out[i] = 0
            continue
        for key in (w, w.lower()):
            if key in keyed_vectors:
                out[i] = keyed_vectors[key]
                found += 1
                break
    return out, found


def _ids_and_lengths(ids, padding_idx):
    ids = ids.data if isinstance(ids, Tensor) else ids
    lengths = (ids != padding_idx).sum(axis=1)
    if (lengths == 0).any():
        raise ValueError("sentence classifier: a sentence has no tokens (every id is the padding id)")
    return ids, lengths


def _embedding(vocab_size, embedding_dim, embeddings, freeze, padding_idx):
    if embeddings is None:
        return Embedding(vocab_size, embedding_dim, padding_idx=padding_idx)
    embeddings = np.asarray(embeddings, dtype=np.float32)
    if embeddings.shape != (vocab_size, embedding_dim):
        raise ValueError(f"embeddings must have shape ({vocab_size}, {embedding_dim}), got {embeddings.shape}")
    return Embedding.from_pretrained(embeddings, freeze=freeze, padding_idx=padding_idx)


class AveragedEmbeddingClassifier(Module):
    """ids (B, T) -> logits (B, num_classes) from the mean word vector of each sentence."""

    def __init__(self, vocab_size, embedding_dim, num_classes, dropout=0.0, embeddings=None, freeze=False,
                 padding_idx=0):
        super().__init__()
        self.padding_idx = padding_idx
        self.embedding = _embedding(vocab_size, embedding_dim, embeddings, freeze, padding_idx)
        self.dropout = Dropout(dropout)
        self.fc = Linear(embedding_dim, num_classes)

    def forward(self, ids):
        ids, lengths = _ids_and_lengths(ids, self.padding_idx)
        e = self.embedding(ids)                                     # (B, T, D); padding rows are 0
        mean = F.sum(e, axis=1) * Tensor((1.0 / lengths)[:, None].astype(np.float32))
        return self.fc(self.dropout(mean))


class LSTMClassifier(Module):
    """ids (B, T) -> logits (B, num_classes) from an LSTM's state after each sentence's last word."""

    def __init__(self, vocab_size, embedding_dim, hidden_size, num_classes, num_layers=1, bidirectional=False,
                 dropout=0.0, embeddings=None, freeze=False, padding_idx=0):
        super().__init__()
        self.padding_idx = padding_idx
        self.embedding = _embedding(vocab_size, embedding_dim, embeddings, freeze, padding_idx)
        self.dropout = Dropout(dropout)
        self.encoder = SequenceClassifier(embedding_dim, hidden_size, num_classes, cell="lstm", num_layers=num_layers,
                                          bidirectional=bidirectional)

    def forward(self, ids):
        ids, lengths = _ids_and_lengths(ids, self.padding_idx)
        return self.encoder(self.dropout(self.embedding(ids)), lengths=lengths)
