"""A bag-of-embeddings classifier learns a token rule: Embedding + mean + Linear, trained with
Adam through the fused kernels (embedding scatter-add backward, adam_step)."""
import numpy as np

import deepkern as dk
import deepkern.functional as F
from deepkern import nn, optim


class BagClassifier(nn.Module):
    def __init__(self, vocab, dim, classes):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim, padding_idx=0)
        self.out = nn.Linear(dim, classes)

    def forward(self, ids):          # ids (N, T) -> logits (N, classes)
        return self.out(self.emb(ids).mean(axis=1))


def _data(rng, n, vocab=30, length=6):
    ids = rng.integers(1, vocab, size=(n, length))
    ids[:, -2:][rng.random((n, 2)) < 0.3] = 0        # some padding
    labels = (np.isin(ids, [3, 7]).any(axis=1)).astype(np.int64)   # class 1 iff token 3 or 7 occurs
    return ids, labels


def test_bag_of_embeddings_learns_a_token_rule():
    dk.manual_seed(0)
    rng = np.random.default_rng(0)
    x_train, y_train = _data(rng, 512)
    x_test, y_test = _data(rng, 256)
    model = BagClassifier(30, 16, 2)
    opt = optim.Adam(model.parameters(), lr=0.05)
    for epoch in range(30):
        for i in range(0, 512, 64):
            opt.zero_grad()
            loss = F.cross_entropy(model(x_train[i:i + 64]), y_train[i:i + 64])
            loss.backward()
            opt.step()
    assert np.all(model.emb.weight.data[0] == 0)     # the padding row never moved
    with dk.no_grad():
        accuracy = float(np.mean(model(x_test).data.argmax(axis=1) == y_test))
    assert accuracy > 0.9, accuracy                  # always guessing class 0 scores ~0.72
