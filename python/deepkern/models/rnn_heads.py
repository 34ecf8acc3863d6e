"""Output heads for the course's recurrent-network shapes (batch_first throughout).

- many-to-one: ``SequenceClassifier`` — logits from the final state of the top layer (both
  directions when bidirectional), e.g. sentiment of a sentence;
- many-to-many, same length: ``SequenceTagger`` — logits at every step, read with a softmax
  (one tag per step) or a sigmoid (independent yes/no per step, e.g. trigger-word detection);
- one-to-many: generation from a seed, ``CharRNN.generate`` / ``CharRNN.sample``
  (deepkern.models.charrnn).

Inputs are token ids (B, T) when ``vocab_size`` is given (an Embedding comes first), else
features (B, T, input_size). ``lengths`` (B,) marks padded batches: padded steps change
neither the final state nor the other steps' outputs.
"""
from __future__ import annotations

from .. import functional as F
from ..nn import GRU, LSTM, RNN, Embedding, Linear, Module

__all__ = ["SequenceClassifier", "SequenceTagger"]

_CELLS = {"lstm": LSTM, "gru": GRU, "rnn": RNN}


class _Encoder(Module):
    def __init__(self, input_size, hidden_size, cell, num_layers, bidirectional, vocab_size, dtype):
        super().__init__()
        if cell not in _CELLS:
            raise ValueError(f"{type(self).__name__}: cell must be one of {sorted(_CELLS)}, got {cell!r}")
        self.embedding = Embedding(vocab_size, input_size, dtype=dtype) if vocab_size else None
        self.rnn = _CELLS[cell](input_size, hidden_size, num_layers, batch_first=True, bidirectional=bidirectional,
                                dtype=dtype)
        self.num_directions = 2 if bidirectional else 1

    def encode(self, x, lengths):
        if self.embedding is not None:
            x = self.embedding(x)
        out, state = self.rnn(x, lengths=lengths)
        h_n = state[0] if isinstance(state, tuple) else state
        return out, h_n


class SequenceClassifier(_Encoder):
    """Many-to-one: x (B, T) ids or (B, T, input_size) -> logits (B, num_classes) from the last
    state (per row: the state after its last real step when ``lengths`` is given)."""

    def __init__(self, input_size, hidden_size, num_classes, cell="lstm", num_layers=1, bidirectional=False,
                 vocab_size=None, dtype=None):
        super().__init__(input_size, hidden_size, cell, num_layers, bidirectional, vocab_size, dtype)
        self.fc = Linear(hidden_size * self.num_directions, num_classes, dtype=dtype)

    def forward(self, x, lengths=None):
        _, h_n = self.encode(x, lengths)
        top = [h_n[h_n.shape[0] - self.num_directions + d] for d in range(self.num_directions)]
        return self.fc(top[0] if len(top) == 1 else F.cat(top, axis=1))


class SequenceTagger(_Encoder):
    """Many-to-many, same length: x (B, T) ids or (B, T, input_size) -> logits (B, T, num_tags).

    ``output='softmax'``: one tag per step (train with cross_entropy); ``'sigmoid'``:
    independent binary tags per step (train with binary_cross_entropy_with_logits).
    ``predict`` applies that function.
    """

    def __init__(self, input_size, hidden_size, num_tags, cell="lstm", num_layers=1, bidirectional=False,
                 vocab_size=None, output="softmax", dtype=None):
        super().__init__(input_size, hidden_size, cell, num_layers, bidirectional, vocab_size, dtype)
        if output not in ("softmax", "sigmoid"):
            raise ValueError(f"SequenceTagger: output must be 'softmax' or 'sigmoid', got {output!r}")
        self.output = output
        self.fc = Linear(hidden_size * self.num_directions, num_tags, dtype=dtype)

    def forward(self, x, lengths=None):
        out, _ = self.encode(x, lengths)
        return self.fc(out)

    def predict(self, x, lengths=None):
        """Per-step probabilities (B, T, num_tags)."""
        logits = self(x, lengths)
        return F.softmax(logits, axis=-1) if self.output == "softmax" else F.sigmoid(logits)
