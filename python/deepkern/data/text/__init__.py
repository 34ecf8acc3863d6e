"""Small text corpora shipped inside the package, each free to redistribute (see README.md
here): read them with no network on a fresh machine."""
from __future__ import annotations

import lzma
from pathlib import Path

_FILES = {"tiny_shakespeare": "tiny_shakespeare_150k.txt",
          "brown": "brown.txt.xz",
          "sentence_polarity": "sentence_polarity.txt.xz",
          "questions_words": "questions-words.txt.xz"}


def available():
    """Names of the embedded corpora."""
    return sorted(_FILES)


def path(name: str = "tiny_shakespeare") -> Path:
    """Path of an embedded corpus file (``.xz`` files are xz-compressed)."""
    if name not in _FILES:
        raise ValueError(f"deepkern.data.text: unknown corpus {name!r}; available: {available()}")
    return Path(__file__).with_name(_FILES[name])


def load(name: str = "tiny_shakespeare") -> str:
    """The text of an embedded corpus (UTF-8), decompressed."""
    p = path(name)
    data = lzma.decompress(p.read_bytes()) if p.suffix == ".xz" else p.read_bytes()
    return data.decode("utf-8")
