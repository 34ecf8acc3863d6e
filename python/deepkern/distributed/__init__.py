"""Data-parallel training across processes: MPI for NumPy (CPU) arrays, NCCL for CuPy (GPU) arrays.

One process per CPU socket / machine (MPI) or per GPU (NCCL), started by ``mpirun``; every
process runs the same script on its own shard of the data::

    # mpirun -np 2 python train.py
    import deepkern.distributed as dist
    dist.init("mpi")                                   # or "nccl" with CuPy arrays, one rank per GPU
    model = dist.DistributedDataParallel(model)        # rank 0's weights everywhere; gradients averaged
    sampler = dist.DistributedSampler(train_set, shuffle=True, seed=0)
    loader = dk.data.DataLoader(train_set, batch_size=64, sampler=sampler)   # 64 per rank

``DistributedDataParallel`` all-reduces gradients in buckets while backward is still running
(as PyTorch's DDP does), so communication overlaps the rest of backward. Every collective has a
timeout (``init(timeout=...)``, default 300 s): a rank that died or called another collective
makes the others raise :class:`DistributedError` instead of hanging.

Requirements are optional extras: ``pip install "deepkern[distributed]"`` brings mpi4py and an
MPI runtime from PyPI; the NCCL backend also needs CuPy (``deepkern[cuda]``). Without them this
package imports and ``init`` says what to install. See docs/distributed.md.
"""
from .group import (DistributedError, all_reduce, barrier, broadcast, destroy, get_backend, init,
                    is_available, is_initialized, rank, world_size)
from .ddp import DistributedDataParallel
from .sampler import DistributedSampler

__all__ = ["init", "destroy", "is_available", "is_initialized", "get_backend", "rank", "world_size",
           "all_reduce", "broadcast", "barrier", "DistributedError", "DistributedDataParallel",
           "DistributedSampler"]
