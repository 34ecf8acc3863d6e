"""DataLoader: batches of a map-style dataset, shuffled reproducibly.

Each pass over the loader is one epoch. The order of epoch ``e`` is a permutation drawn from
``numpy.random.default_rng([seed, e])``, so it depends only on the loader's seed and the epoch
number: every sample is seen exactly once per epoch, two loaders with one seed agree batch for
batch, and a run resumed from a checkpoint (``load_state_dict``) continues with exactly the
order (and augmentation draws) an uninterrupted run would have had.
"""
from __future__ import annotations

import numpy as np

from .. import _random
from .._checks import integer
from .dataset import default_collate
from .transforms import Transform

__all__ = ["DataLoader"]


class DataLoader:
    """Iterate over ``dataset`` in batches of NumPy arrays.

    Args:
        dataset: a map-style dataset (``len`` and ``[i]``; ``get_batch`` is used when present).
        batch_size: samples per batch. The course's three flavours of gradient descent are
            ``batch_size=len(dataset)`` (batch GD: one step per epoch), ``batch_size=b``
            (mini-batch GD, typically 32-256) and ``batch_size=1`` (online / stochastic GD).
        shuffle: draw a fresh random order each epoch (else dataset order).
        drop_last: drop the last batch when it is smaller than ``batch_size``.
        seed: seeds the order and the ``transform``'s random draws; None takes a seed from
            deepkern's generator (so ``dk.manual_seed`` makes the run reproducible).
        collate_fn: turns a list of samples into a batch (default :func:`default_collate`);
            giving one disables ``dataset.get_batch``.
        transform: applied to the first field of every batch (the inputs, e.g. (N, C, H, W)
            images) with this epoch's generator: batch-level augmentation.
        sampler: an iterable of dataset indices with ``len`` (e.g.
            ``deepkern.distributed.DistributedSampler``) that replaces the loader's own order;
            not with ``shuffle=True``. Its ``set_epoch`` is called with the loader's epoch.

    Yields tuples ``(x, y, ...)`` of arrays with a leading batch dimension (whatever the
    collate function builds). ``len(loader)`` is the number of batches per epoch.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, seed=None,
                 collate_fn=None, transform=None, sampler=None):
        self.dataset = dataset
        self.batch_size = integer("DataLoader", "batch_size", batch_size, minimum=1)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        if seed is None:
            seed = int(_random.generator().integers(2**63))
        self.seed = integer("DataLoader", "seed", seed, minimum=0)
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable, got {type(collate_fn).__name__}")
        if transform is not None and not callable(transform):
            raise TypeError(f"DataLoader: transform must be callable, got {type(transform).__name__}")
        if sampler is not None:
            if shuffle:
                raise ValueError("DataLoader: sampler and shuffle=True are exclusive (the sampler sets the order)")
            if not (hasattr(sampler, "__iter__") and hasattr(sampler, "__len__")):
                raise TypeError(f"DataLoader: sampler must be an iterable of indices with len(), got "
                                f"{type(sampler).__name__}")
        self.collate_fn = collate_fn
        self.transform = transform
        self.sampler = sampler
        self.epoch = 0

    def __len__(self):
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """The epoch whose order the next iteration uses (iterating advances it by one)."""
        self.epoch = integer("DataLoader.set_epoch", "epoch", epoch, minimum=0)

    def state_dict(self) -> dict:
        return {"seed": self.seed, "epoch": self.epoch}

    def load_state_dict(self, state) -> None:
        self.seed = integer("DataLoader.load_state_dict", "seed", int(state["seed"]), minimum=0)
        self.set_epoch(int(state["epoch"]))

    def _fetch(self, indices):
        if self.collate_fn is not None:
            return self.collate_fn([self.dataset[int(i)] for i in indices])
        if hasattr(self.dataset, "get_batch"):
            return self.dataset.get_batch(indices)
        return default_collate([self.dataset[int(i)] for i in indices])

    def _augment(self, batch, rng):
        apply = (lambda x: self.transform(x, rng=rng)) if isinstance(self.transform, Transform) else self.transform
        if isinstance(batch, tuple):
            return (apply(batch[0]),) + batch[1:]
        return apply(batch)

    def __iter__(self):
        rng = np.random.default_rng([self.seed, self.epoch])
        if self.sampler is not None:
            if hasattr(self.sampler, "set_epoch"):
                self.sampler.set_epoch(self.epoch)
            order = np.fromiter(self.sampler, dtype=np.int64)
        else:
            n = len(self.dataset)
            order = rng.permutation(n) if self.shuffle else np.arange(n, dtype=np.int64)
        self.epoch += 1
        n = len(order)
        stop = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop, self.batch_size):
            batch = self._fetch(order[start:start + self.batch_size])
            yield self._augment(batch, rng) if self.transform is not None else batch

    def __repr__(self):
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, seed={self.seed})")
