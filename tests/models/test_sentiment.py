"""Sentence classifiers over embeddings: padding never changes a sentence's logits, both models
learn a planted rule, word vectors initialize the table."""
import numpy as np
import pytest

import deepkern as dk
import deepkern.functional as F
from deepkern.models.sentiment import AveragedEmbeddingClassifier, LSTMClassifier, embedding_matrix
from deepkern.text import KeyedVectors


def planted(n=400, seed=0):
    """Sentences of 3-9 neutral ids with one 'good' (2) or 'bad' (3) id somewhere; label = which."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, 10, n)
    ids = np.zeros((n, 9), np.int64)
    y = rng.integers(0, 2, n)
    for i, L in enumerate(lengths):
        ids[i, :L] = rng.integers(4, 30, L)
        ids[i, rng.integers(0, L)] = 2 + y[i]
    return ids, y


@pytest.mark.parametrize("model_cls", [AveragedEmbeddingClassifier, LSTMClassifier])
def test_padding_does_not_change_the_logits_and_the_rule_is_learned(model_cls):
    dk.manual_seed(0)
    model = AveragedEmbeddingClassifier(30, 8, 2) if model_cls is AveragedEmbeddingClassifier else \
        LSTMClassifier(30, 8, 16, 2)
    ids, y = planted()
    model.eval()
    with dk.no_grad():
        padded = model(np.concatenate([ids, np.zeros((len(ids), 5), np.int64)], axis=1)).data
        np.testing.assert_allclose(model(ids).data, padded, rtol=1e-5, atol=1e-6)
    model.train()
    opt = dk.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(25):
        loss = F.cross_entropy(model(ids), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    test_ids, test_y = planted(200, seed=1)
    model.eval()
    with dk.no_grad():
        acc = (model(test_ids).data.argmax(1) == test_y).mean()
    assert acc > 0.9


def test_embedding_matrix_and_errors():
    kv = KeyedVectors(4)
    kv.add_vectors(["good", "Bad"], np.array([[1, 2, 3, 4], [5, 6, 7, 8]], np.float32))
    m, found = embedding_matrix(["<pad>", "<unk>", "good", "bad", "other"], kv)
    assert found == 1 and m.shape == (5, 4)
    np.testing.assert_array_equal(m[0], 0)
    np.testing.assert_array_equal(m[2], [1, 2, 3, 4])
    model = AveragedEmbeddingClassifier(5, 4, 2, embeddings=m, freeze=True)
    assert not model.embedding.weight.requires_grad
    with pytest.raises(ValueError, match="embeddings must have shape"):
        AveragedEmbeddingClassifier(6, 4, 2, embeddings=m)
    with pytest.raises(ValueError, match="a sentence has no tokens"):
        model(np.zeros((2, 3), np.int64))
