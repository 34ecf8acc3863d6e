"""Corpora of the NLP chapter: the Brown corpus, the sentence polarity dataset and the analogy
questions ship inside the package (deepkern/data/text, free to redistribute); WordSim-353,
SimLex-999 and the Emojify set are read from a data directory you provide.

    brown()                        -> [[token, ...], ...] 57,340 sentences, 1,161,192 tokens
    sentence_polarity()            -> (sentences [str], labels int64 (10662,)), 1 = positive
    questions_words()              -> path of questions-words.txt (xz; the evaluators read it)
    word_eval_file(name, data_dir) -> path of wordsim353.tsv / simlex999.txt under data_dir
    emojify(data_dir)              -> ((train sentences, labels), (test sentences, labels))
"""
from __future__ import annotations

import bz2
import csv
import gzip
import io
import lzma
from pathlib import Path

import numpy as np

from ..data import text as embedded

__all__ = ["brown", "sentence_polarity", "questions_words", "word_eval_file", "emojify", "open_text", "EMOJIS"]

# The Emojify labels, in the order of the deeplearning.ai assignment's CSV files.
EMOJIS = ("\u2764\ufe0f", "\u26be", "\U0001f604", "\U0001f61e", "\U0001f374")


def open_text(path, encoding="utf-8", errors="strict"):
    """Opens a text file for reading, decompressing .xz / .gz / .bz2 by their suffix."""
    path = Path(path)
    opener = {".xz": lzma.open, ".gz": gzip.open, ".bz2": bz2.open}.get(path.suffix)
    if opener is None:
        return open(path, encoding=encoding, errors=errors)
    return io.TextIOWrapper(opener(path, "rb"), encoding=encoding, errors=errors)


def brown(lowercase=True):
    """The Brown corpus as sentences of tokens (punctuation tokens included, as NLTK's
    brown.sents()); lower-cased unless ``lowercase=False``."""
    text = embedded.load("brown")
    if lowercase:
        text = text.lower()
    return [line.split() for line in text.splitlines()]


def sentence_polarity():
    """Pang & Lee's 10,662 movie-review sentences (lower-cased, tokenized): 5,331 positive
    (label 1) then 5,331 negative (label 0)."""
    sentences, labels = [], []
    for line in embedded.load("sentence_polarity").splitlines():
        label, sentence = line.split("\t", 1)
        sentences.append(sentence)
        labels.append(int(label))
    return sentences, np.array(labels, dtype=np.int64)


def questions_words():
    """Path of Mikolov et al.'s analogy questions (questions-words.txt, xz-compressed)."""
    return embedded.path("questions_words")


_WORD_EVAL = {"wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt", "questions-words": "questions-words.txt"}


def _find(data_dir, names, what):
    if data_dir is None:
        raise FileNotFoundError(f"{what} is not shipped with deepkern (its license does not allow it): pass "
                                "--data-dir DIR (or data_dir=) pointing to a folder that holds it")
    base = Path(data_dir)
    for name in names:
        if (base / name).is_file():
            return base / name
    raise FileNotFoundError(f"{what}: none of {', '.join(names)} found under {base}")


def word_eval_file(name, data_dir):
    """Path of a word-similarity file ('wordsim353' or 'simlex999') in ``data_dir`` or its
    word_eval/ folder."""
    if name not in _WORD_EVAL:
        raise ValueError(f"word_eval_file: unknown set {name!r}; known: {', '.join(_WORD_EVAL)}")
    f = _WORD_EVAL[name]
    return _find(data_dir, [f, f"word_eval/{f}"], name)


def emojify(data_dir):
    """The Emojify sentences (132 train, 56 test; labels 0-4 index EMOJIS) from
    ``data_dir`` or its emojify/ folder."""
    splits = []
    for split in ("train", "test"):
        f = f"{split}_emoji.csv"
        path = _find(data_dir, [f, f"emojify/{f}"], "the Emojify set")
        with open(path, encoding="utf-8", newline="") as fh:
            rows = [r for r in csv.reader(fh) if r]
        splits.append(([r[0].strip() for r in rows], np.array([int(r[1]) for r in rows], dtype=np.int64)))
    return tuple(splits)
