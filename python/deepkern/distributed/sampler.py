"""DistributedSampler: each rank's disjoint share of a dataset's indices, epoch by epoch."""
from __future__ import annotations

import numpy as np

from .._checks import integer
from . import group as _group

__all__ = ["DistributedSampler"]


class DistributedSampler:
    """Indices of ``dataset`` for one rank, as PyTorch's ``DistributedSampler``.

    Every epoch, all ranks draw the same permutation (seeded by ``seed`` and the epoch) and
    rank r takes positions r, r + R, r + 2R, ... of it (R ranks), so the shards are disjoint
    and together cover the dataset. Unless ``drop_last``, the permutation is padded with its
    own first indices up to a multiple of R, so every rank takes the same number of steps
    (a few samples are seen twice per epoch); with ``drop_last`` the tail is dropped instead.

    Give it to ``DataLoader(dataset, batch_size, sampler=...)``; the loader sets the epoch.
    ``num_replicas`` and ``rank`` default to the initialized process group's.
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if num_replicas is None:
            num_replicas = _group.world_size()
        if rank is None:
            rank = _group.rank()
        self.num_replicas = integer("DistributedSampler", "num_replicas", num_replicas, minimum=1)
        self.rank = integer("DistributedSampler", "rank", rank, minimum=0)
        if self.rank >= self.num_replicas:
            raise ValueError(f"DistributedSampler: rank must be in [0, {self.num_replicas}), got {self.rank}")
        self.dataset = dataset
        self.shuffle = bool(shuffle)
        self.seed = integer("DistributedSampler", "seed", seed, minimum=0)
        self.drop_last = bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        self.num_samples = n // self.num_replicas if self.drop_last else -(-n // self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch: int) -> None:
        """The epoch whose permutation the next iteration uses."""
        self.epoch = integer("DistributedSampler.set_epoch", "epoch", epoch, minimum=0)

    def __len__(self):
        return self.num_samples

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(n)
        else:
            order = np.arange(n, dtype=np.int64)
        if self.total_size > n:  # pad with the permutation's own head (repeated if needed)
            order = np.resize(order, self.total_size) if n else order
        order = order[:self.total_size]
        return iter(order[self.rank:self.total_size:self.num_replicas].tolist())
