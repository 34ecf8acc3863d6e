"""Seeding: one call seeds every random source deepkern uses."""
from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seed deepkern's generators (initializers, dropout, data shuffling) and CuPy's if present."""
    global _generator
    _generator = np.random.default_rng(seed)
    import sys
    if "cupy" in sys.modules:
        try:
            sys.modules["cupy"].random.seed(seed)
        except Exception:  # no GPU: nothing to seed
            pass


def generator() -> np.random.Generator:
    """The process-wide NumPy generator seeded by manual_seed."""
    return _generator
