"""Small public-domain text corpora shipped inside the package (see README.md here)."""
from __future__ import annotations

from pathlib import Path

_FILES = {"tiny_shakespeare": "tiny_shakespeare_150k.txt"}


def available():
    """Names of the embedded corpora."""
    return sorted(_FILES)


def path(name: str = "tiny_shakespeare") -> Path:
    """Path of an embedded corpus file."""
    if name not in _FILES:
        raise ValueError(f"deepkern.data.text: unknown corpus {name!r}; available: {available()}")
    return Path(__file__).with_name(_FILES[name])


def load(name: str = "tiny_shakespeare") -> str:
    """The text of an embedded corpus (UTF-8)."""
    return path(name).read_text(encoding="utf-8")
