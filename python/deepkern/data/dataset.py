"""Map-style datasets: ``Dataset``, ``TensorDataset``, ``Subset``, ``ConcatDataset`` and
``random_split`` (PyTorch's names and meanings).

A dataset has ``len(ds)`` samples and ``ds[i]`` returns sample ``i`` (for supervised data a
tuple ``(x, y)`` of NumPy arrays / numbers). On top of PyTorch's protocol a dataset may define
``get_batch(indices)``, returning the *collated* batch for an int64 index array in one
vectorized step; ``DataLoader`` uses it, so an epoch over in-memory data costs one fancy-index
per batch instead of ``batch_size`` Python calls. The default ``get_batch`` collates
``[self[i] for i in indices]`` with :func:`default_collate`.
"""
from __future__ import annotations

import bisect
import numbers

import numpy as np

from .. import _random
from .._checks import integer
from ..autograd import Tensor

__all__ = ["Dataset", "TensorDataset", "Subset", "ConcatDataset", "random_split", "default_collate"]


def default_collate(samples):
    """Stack a list of samples into a batch.

    Samples that are tuples give a tuple of batches (one per field); arrays are stacked along a
    new first axis; Python ints become int64 arrays, floats float32 (the parameters' default
    dtype), bools bool arrays; dicts collate per key.
    """
    if len(samples) == 0:
        raise ValueError("default_collate: got an empty list of samples")
    first = samples[0]
    if isinstance(first, tuple):
        if any(len(s) != len(first) for s in samples):
            raise ValueError("default_collate: samples have different numbers of fields")
        return tuple(default_collate([s[k] for s in samples]) for k in range(len(first)))
    if isinstance(first, dict):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    if isinstance(first, (bool, np.bool_)):
        return np.asarray(samples, dtype=bool)
    if isinstance(first, numbers.Integral):
        return np.asarray(samples, dtype=np.int64)
    if isinstance(first, numbers.Real) and not isinstance(first, np.ndarray):
        return np.asarray(samples, dtype=np.float32)
    return np.stack([np.asarray(s) for s in samples])


class Dataset:
    """Base class of map-style datasets: define ``__len__`` and ``__getitem__(i)``.

    Override ``get_batch(indices)`` when a whole batch can be gathered at once.
    """

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def get_batch(self, indices):
        """The collated batch of samples ``indices`` (an int64 array)."""
        return default_collate([self[int(i)] for i in indices])

    def __add__(self, other):
        return ConcatDataset([self, other])


def _check_index(name, index, n):
    index = integer(name, "index", index)
    if not -n <= index < n:
        raise IndexError(f"{name}: index {index} is out of range for {n} samples")
    return index % n if n else index


class TensorDataset(Dataset):
    """Samples are the rows of arrays that share their first dimension.

    ``TensorDataset(x, y)[i] == (x[i], y[i])``; x may be (N, ...) features or images, y (N,)
    labels. The arrays are kept, not copied.
    """

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("TensorDataset: expected at least one array")
        arrays = tuple(a.data if isinstance(a, Tensor) else a for a in arrays)
        for k, a in enumerate(arrays):
            if not isinstance(a, np.ndarray):
                raise TypeError(f"TensorDataset: array {k} must be a NumPy array, got {type(a).__name__}")
            if a.ndim == 0:
                raise ValueError(f"TensorDataset: array {k} must have a first (sample) dimension, got a scalar")
            if a.shape[0] != arrays[0].shape[0]:
                raise ValueError(f"TensorDataset: array {k} has {a.shape[0]} samples but array 0 has "
                                 f"{arrays[0].shape[0]} (shapes {[tuple(b.shape) for b in arrays]})")
        self.arrays = arrays

    def __len__(self):
        return int(self.arrays[0].shape[0])

    def __getitem__(self, index):
        i = _check_index("TensorDataset", index, len(self))
        return tuple(a[i] for a in self.arrays)

    def get_batch(self, indices):
        return tuple(a[indices] for a in self.arrays)


class Subset(Dataset):
    """The samples ``indices`` of ``dataset``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(dataset)
        if self.indices.size and (self.indices.min() < 0 or self.indices.max() >= n):
            raise IndexError(f"Subset: indices must be in [0, {n}), got values in "
                             f"[{self.indices.min()}, {self.indices.max()}]")

    def __len__(self):
        return int(self.indices.size)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[_check_index("Subset", index, len(self))])]

    def get_batch(self, indices):
        inner = self.indices[indices]
        if hasattr(self.dataset, "get_batch"):
            return self.dataset.get_batch(inner)
        return default_collate([self.dataset[int(i)] for i in inner])


class ConcatDataset(Dataset):
    """The samples of several datasets one after the other."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: expected at least one dataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self):
        return int(self.cumulative_sizes[-1])

    def __getitem__(self, index):
        index = _check_index("ConcatDataset", index, len(self))
        k = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[k - 1] if k else 0
        return self.datasets[k][index - start]


def random_split(dataset, lengths, seed=None):
    """Split ``dataset`` into non-overlapping random ``Subset``s of the given lengths.

    ``lengths`` are sample counts summing to ``len(dataset)``, or fractions summing to 1 (the
    remainder after flooring goes to the first splits one by one, as in PyTorch). The
    permutation comes from ``seed``, or from deepkern's generator (``dk.manual_seed``) when
    ``seed`` is None.
    """
    n = len(dataset)
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: lengths must not be empty")
    if all(isinstance(v, numbers.Real) and not isinstance(v, numbers.Integral) for v in lengths):
        if any(v < 0 for v in lengths) or not np.isclose(sum(lengths), 1.0):
            raise ValueError(f"random_split: fractions must be >= 0 and sum to 1, got {lengths}")
        counts = [int(np.floor(n * v)) for v in lengths]
        for k in range(n - sum(counts)):
            counts[k % len(counts)] += 1
        lengths = counts
    lengths = [integer("random_split", "lengths[]", v, minimum=0) for v in lengths]
    if sum(lengths) != n:
        raise ValueError(f"random_split: lengths sum to {sum(lengths)} but the dataset has {n} samples")
    rng = np.random.default_rng(seed) if seed is not None else _random.generator()
    perm = rng.permutation(n)
    bounds = np.cumsum([0] + lengths)
    return [Subset(dataset, perm[bounds[k]:bounds[k + 1]]) for k in range(len(lengths))]
