"""Siamese networks for one-shot face verification (the course's one-shot learning chapter).

Recognition becomes matching: an embedding network f maps a face to a point on the unit
sphere, and two faces are the same person when ||f(a) - f(b)|| is below a threshold. People
never seen in training are recognized from one image each (one-shot), because f was trained
to measure similarity, not to classify fixed identities.

- :class:`FaceEmbeddingNet`: a small CNN, grayscale (N, 1, H, W) -> (N, embedding_dim),
  L2-normalized. For 112x92 ORL faces:
  (N, 1, 112, 92) -conv5x5/2 + BN + ReLU + pool-> (N, w, 28, 23) -conv3x3 + BN + ReLU + pool->
  (N, 2w, 14, 11) -conv3x3 + BN + ReLU + pool-> (N, 4w, 7, 5) -conv3x3 + BN + ReLU-> global
  average -> Linear -> (N, embedding_dim) -> x / ||x||.
- :class:`Siamese`: one embedding network run on both inputs (shared weights: one set of
  Parameters, whose gradients sum the contributions of both branches), trained with the
  triplet or contrastive loss on the distance between the two embeddings.
- :class:`SiameseClassifier`: the course's alternative, verification as binary classification:
  y_hat = sigmoid(sum_k w_k |f(a)_k - f(b)_k| + b), trained with binary cross-entropy.

Both wrappers called with one input return its embeddings (``model(x)``), so the same model
trains on batches of single images with in-batch mining; called with two they return the pair
output.
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import nn

__all__ = ["FaceEmbeddingNet", "Siamese", "SiameseClassifier", "in_batch_pairs"]


def _block(cin, cout, kernel, stride=1, pool=True):
    layers = [nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=False), nn.BatchNorm2d(cout),
              nn.ReLU()]
    return layers + [nn.MaxPool2d(2)] if pool else layers


class FaceEmbeddingNet(nn.Module):
    """CNN embedding of grayscale faces: (N, in_channels, H, W) -> (N, embedding_dim) on the unit
    sphere (``normalize=False`` leaves the raw Linear output). ``width`` channels in the first
    block, doubling twice. Any H, W >= 16 (global average pooling at the end)."""

    def __init__(self, embedding_dim=64, in_channels=1, width=32, normalize=True):
        super().__init__()
        self.embedding_dim, self.normalize = int(embedding_dim), bool(normalize)
        w = int(width)
        self.features = nn.Sequential(*_block(in_channels, w, 5, stride=2), *_block(w, 2 * w, 3),
                                      *_block(2 * w, 4 * w, 3), *_block(4 * w, 4 * w, 3, pool=False),
                                      nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(4 * w, self.embedding_dim)

    def forward(self, x):
        h = self.fc(self.features(x))
        return F.normalize(h, dim=1) if self.normalize else h


def _same_shape(op, x1, x2):
    if tuple(x1.shape) != tuple(x2.shape):
        raise ValueError(f"{op}: the two inputs must have one shape (the same images size for both branches), "
                         f"got {tuple(x1.shape)} and {tuple(x2.shape)}")


class Siamese(nn.Module):
    """Shared-weight twin: ``model(x1, x2) -> (f(x1), f(x2))``; ``model(x) -> f(x)``.

    The embedding network is held once, so ``parameters()`` lists its Parameters once and a
    loss on both outputs accumulates both branches' gradients into them.
    """

    def __init__(self, embedding_net):
        super().__init__()
        self.embedding = embedding_net

    def forward(self, x1, x2=None):
        if x2 is None:
            return self.embedding(x1)
        _same_shape("Siamese", x1, x2)
        return self.embedding(x1), self.embedding(x2)


class SiameseClassifier(nn.Module):
    """Verification as binary classification (the course's alternative to the triplet loss):
    ``model(x1, x2)`` -> logits (N,) of "same person", sigmoid(w . |f(x1) - f(x2)| + b);
    ``model(x)`` -> f(x). ``embedding_dim`` is f's output size."""

    def __init__(self, embedding_net, embedding_dim):
        super().__init__()
        self.embedding = embedding_net
        self.head = nn.Linear(int(embedding_dim), 1)

    def score(self, e1, e2):
        """Logits (N,) of "same person" from two batches of embeddings (N, D)."""
        return self.head(F.abs(e1 - e2)).reshape(-1)

    def forward(self, x1, x2=None):
        if x2 is None:
            return self.embedding(x1)
        _same_shape("SiameseClassifier", x1, x2)
        return self.score(self.embedding(x1), self.embedding(x2))


def in_batch_pairs(labels, rng, negatives_per_positive=1):
    """Pairs (i, j) with i < j inside a batch for pair losses: every same-identity pair, and
    ``negatives_per_positive`` times as many different-identity pairs drawn at random (all of
    them if there are fewer). Returns (i, j, same) with same float (1 = same identity)."""
    labels = np.asarray(labels)
    i, j = np.triu_indices(len(labels), k=1)
    same = labels[i] == labels[j]
    pos, neg = np.flatnonzero(same), np.flatnonzero(~same)
    if pos.size == 0 or neg.size == 0:
        raise ValueError(f"in_batch_pairs: a batch needs same and different pairs, got {pos.size} same and "
                         f"{neg.size} different (labels {np.unique(labels).tolist()})")
    take = rng.choice(neg, size=min(neg.size, negatives_per_positive * pos.size), replace=False)
    keep = np.concatenate([pos, np.sort(take)])
    return i[keep], j[keep], same[keep].astype(np.float32)
