"""Token <-> id vocabularies for sequence models (characters or words)."""
from __future__ import annotations

from collections import Counter

import numpy as np

__all__ = ["Vocab"]


class Vocab:
    """Ids 0 = <pad>, 1 = <unk>, 2 = <bos>, 3 = <eos>, then the tokens (sorted by decreasing
    frequency, ties alphabetically). ``tokens``: an iterable of tokens (a string gives its
    characters); those seen fewer than ``min_freq`` times, or beyond ``max_size`` tokens, are
    left out and encode as <unk>. ``join`` glues decoded tokens ('' for characters, ' ' for words)."""

    PAD, UNK, BOS, EOS = 0, 1, 2, 3
    SPECIALS = ("<pad>", "<unk>", "<bos>", "<eos>")

    def __init__(self, tokens, min_freq=1, max_size=None, join=""):
        counts = Counter(tokens)
        kept = sorted((t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t))
        self.itos = list(self.SPECIALS) + kept[:max_size]
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        self.join = join

    @classmethod
    def from_itos(cls, itos, join=""):
        """The vocabulary whose id -> token list is ``itos`` (as saved from ``vocab.itos``)."""
        itos = [str(t) for t in itos]
        if tuple(itos[:len(cls.SPECIALS)]) != cls.SPECIALS:
            raise ValueError(f"Vocab.from_itos: itos must start with {cls.SPECIALS}, got {itos[:4]}")
        vocab = cls((), join=join)
        vocab.itos = itos
        vocab.stoi = {t: i for i, t in enumerate(itos)}
        return vocab

    def __len__(self):
        return len(self.itos)

    def encode(self, tokens, length=None, eos=False):
        """int64 ids of a token sequence (a string: its characters), optionally + <eos>, padded or
        cut to ``length``."""
        ids = [self.stoi.get(t, self.UNK) for t in tokens] + ([self.EOS] if eos else [])
        if length is not None:
            ids = (ids + [self.PAD] * length)[:length]
        return np.array(ids, dtype=np.int64)

    def decode(self, ids):
        """Tokens up to the first <eos>, specials dropped, joined with ``join``."""
        out = []
        for i in ids:
            i = int(i)
            if i == self.EOS:
                break
            if i >= len(self.SPECIALS):
                out.append(self.itos[i])
        return self.join.join(out)
