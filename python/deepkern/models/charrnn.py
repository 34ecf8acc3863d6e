"""Character-level language model (Karpathy's char-rnn, the course's "Dinosaur Island" /
Shakespeare model): Embedding -> multi-layer LSTM or GRU -> Linear to next-character logits.

    model = CharRNN(vocab_size=len(chars), hidden_size=256, num_layers=2, cell="lstm", chars=chars)
    logits, state = model(ids)            # ids (B, T) int -> logits (B, T, V)
    print(model.sample("ROMEO:", length=200, temperature=0.8))
"""
from __future__ import annotations

import numpy as np

from .. import _random
from .._device import to_device
from .. import functional as F
from ..autograd import Tensor, no_grad
from ..nn import GRU, LSTM, Embedding, Linear, Module

__all__ = ["CharRNN"]


def sample_logits(logits, temperature, rng):
    """Draw one id per row of host logits (B, V): softmax(logits / temperature); temperature 0
    takes the argmax."""
    if temperature < 0:
        raise ValueError(f"sample: temperature must be >= 0, got {temperature}")
    if temperature == 0:
        return logits.argmax(axis=1)
    z = logits.astype(np.float64) / temperature
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return np.array([rng.choice(p.shape[1], p=row) for row in p])


class CharRNN(Module):
    """Embedding(V, E) -> LSTM/GRU(E, H, num_layers, batch_first) -> Linear(H, V).

    ``chars`` (a string of the V characters, id = position) lets ``encode``, ``decode`` and
    ``sample`` work on text; without it the model works on ids only.
    """

    def __init__(self, vocab_size, hidden_size=256, num_layers=2, cell="lstm", embedding_dim=64, dropout=0.0,
                 chars=None, dtype=None):
        super().__init__()
        if cell not in ("lstm", "gru"):
            raise ValueError(f"CharRNN: cell must be 'lstm' or 'gru', got {cell!r}")
        if chars is not None and len(chars) != vocab_size:
            raise ValueError(f"CharRNN: chars has {len(chars)} characters but vocab_size={vocab_size}")
        self.vocab_size, self.cell, self.chars = int(vocab_size), cell, chars
        self.embedding = Embedding(vocab_size, embedding_dim, dtype=dtype)
        rnn = LSTM if cell == "lstm" else GRU
        self.rnn = rnn(embedding_dim, hidden_size, num_layers, batch_first=True, dropout=dropout, dtype=dtype)
        self.head = Linear(hidden_size, vocab_size, dtype=dtype)

    def forward(self, ids, state=None):
        """ids (B, T) ints -> (logits (B, T, V), state) — state as the RNN's (h_n or (h_n, c_n))."""
        out, state = self.rnn(self.embedding(ids), state)
        return self.head(out), state

    @staticmethod
    def detach_state(state):
        """The state without its history (truncated BPTT between windows)."""
        if isinstance(state, tuple):
            return tuple(Tensor(s.data) for s in state)
        return Tensor(state.data)

    def _need_chars(self):
        if self.chars is None:
            raise ValueError("CharRNN: this model was built without chars=, so it cannot encode or decode text")
        return self.chars

    def encode(self, text):
        """Text -> int64 ids (1-D); characters outside the vocabulary are a ValueError."""
        chars = self._need_chars()
        index = {c: i for i, c in enumerate(chars)}
        missing = sorted(set(text) - set(index))
        if missing:
            raise ValueError(f"CharRNN.encode: characters not in the vocabulary: {missing[:10]}")
        return np.array([index[c] for c in text], dtype=np.int64)

    def decode(self, ids):
        chars = self._need_chars()
        return "".join(chars[int(i)] for i in ids)

    def generate(self, seed_ids, length, temperature=1.0, rng=None):
        """One-to-many: feed ``seed_ids`` (1-D, at least one id), then draw ``length`` more ids
        one at a time, each fed back as the next input. Returns the drawn ids (length,)."""
        seed_ids = np.asarray(seed_ids, dtype=np.int64).reshape(-1)
        if seed_ids.size == 0:
            raise ValueError("CharRNN.generate: seed_ids must hold at least one id")
        rng = _random.generator() if rng is None else rng
        was_training = self.training
        self.eval()
        device = self.device
        out = np.empty(int(length), dtype=np.int64)
        try:
            with no_grad():
                logits, state = self(to_device(seed_ids[None, :], device))
                for k in range(int(length)):
                    out[k] = sample_logits(logits[:, -1, :].numpy(), temperature, rng)[0]
                    logits, state = self(to_device(out[k:k + 1][None, :], device), state)
        finally:
            self.train(was_training)
        return out

    def sample(self, seed_text, length=200, temperature=1.0, rng=None):
        """Text from a seed: ``seed_text`` followed by ``length`` sampled characters (temperature
        < 1 is more conservative, 0 is greedy)."""
        return seed_text + self.decode(self.generate(self.encode(seed_text), length, temperature, rng))

    def extra_repr(self):
        return f"vocab_size={self.vocab_size}, cell={self.cell!r}"
