"""DistributedDataParallel: the same model on every rank, gradients averaged during backward.

At construction every rank checks that the others hold the same model (parameter and buffer
names, shapes, dtypes) and takes rank 0's parameters and buffers, so all start identical.
Parameters are grouped into buckets of about ``bucket_cap_mb`` in reverse registration order
(roughly the order backward produces their gradients, as PyTorch's DDP does). A gradient hook
marks a parameter ready once backward has accumulated its whole gradient; when every
parameter of a bucket is ready, its gradients are copied into one flat buffer and an
asynchronous all-reduce starts, while backward goes on with earlier layers. Buckets start in
bucket order on every rank (collectives must match across ranks). When backward ends, the
reduced buffers are waited for, divided by the world size and written back to ``.grad``; so
after ``loss.backward()`` every rank holds the gradient of the mean loss over the global batch
and identical optimizer steps keep the replicas bit-identical.

Parameters that received no gradient in a pass (unused branches) are reduced as zeros, so the
ranks still agree. BatchNorm batch statistics stay per rank (each normalizes its own shard, as
PyTorch's DDP without SyncBatchNorm); with ``broadcast_buffers=True`` (default) rank 0's
buffers (running statistics) are copied to every rank before each forward, as in PyTorch.
"""
from __future__ import annotations

import contextlib
import hashlib
import time

from .._backend import array_module
from ..autograd import queue_callback
from ..nn.module import Module
from . import group as _group

__all__ = ["DistributedDataParallel"]


class _Bucket:
    def __init__(self, params, xp, dtype):
        self.params = params
        self.sizes = [p.size for p in params]
        self.buffer = xp.empty(sum(self.sizes), dtype=dtype)
        self.ready = 0
        self.work = None


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training (``deepkern.distributed.init`` first).

    Args:
        module: the model; its parameters must live on the backend's device (NumPy for "mpi",
            CuPy for "nccl").
        bucket_cap_mb: target size of one all-reduce, in MiB (25 as PyTorch).
        broadcast_buffers: copy rank 0's buffers to every rank before each forward.

    ``ddp(x)`` calls ``module(x)``; ``ddp.module`` is the wrapped model (save its state_dict).
    ``stats`` counts all-reduces and the seconds backward spent waiting for them.
    """

    def __init__(self, module, bucket_cap_mb: float = 25.0, broadcast_buffers: bool = True):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: module must be a deepkern.nn.Module, got "
                            f"{type(module).__name__}")
        if not bucket_cap_mb > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be > 0, got {bucket_cap_mb}")
        _group._require("DistributedDataParallel")
        self.module = module
        self.broadcast_buffers = bool(broadcast_buffers)
        self._sync = True
        self.stats = {"all_reduces": 0, "wait_seconds": 0.0, "steps": 0}
        self._check_same_model()
        for p in module.parameters():
            _group.broadcast(p.data, 0)
        self._broadcast_buffers()
        buckets = self._make_buckets([p for p in module.parameters() if p.requires_grad], bucket_cap_mb)
        self._buckets = buckets
        self._bucket_of = {id(p): b for b in buckets for p in b.params}
        self._next = 0          # first bucket not yet started in this pass
        self._pass_open = False
        for b in buckets:
            for p in b.params:
                p.register_post_accumulate_grad_hook(self._on_grad_ready)

    # ---- construction ----------------------------------------------------------------------
    def _check_same_model(self):
        """Every rank must hold the same architecture: compare a digest of names, shapes and
        dtypes with one all-reduce (max and min agree only if all digests agree)."""
        xp = self._xp()
        described = [f"{n}:{tuple(t.shape)}:{t.dtype}" for n, t in self.module.named_parameters()]
        described += [f"{n}:{tuple(b.shape)}:{b.dtype}" for n, b in self.module.named_buffers()]
        digest = hashlib.sha256("\n".join(described).encode()).digest()
        words = xp.asarray([int.from_bytes(digest[i:i + 4], "little") for i in range(0, 32, 4)], dtype=xp.int64)
        high, low = words.copy(), -words
        _group.all_reduce(high, "max")
        _group.all_reduce(low, "max")
        if bool((high != -low).any()):
            models = _group._allgather_object(described)
            mine = set(models[_group.rank()])
            first_diff = next((r for r in range(len(models)) if set(models[r]) != set(models[0])), 0)
            extra = sorted(set(models[first_diff]) - set(models[0]))[:3]
            missing = sorted(set(models[0]) - set(models[first_diff]))[:3]
            raise _group.DistributedError(
                f"DistributedDataParallel: the ranks hold different models (rank {first_diff} differs from "
                f"rank 0: it has {extra or 'nothing more'}, lacks {missing or 'nothing'}; this rank has "
                f"{len(mine)} tensors); build the same model on every rank")

    def _xp(self):
        params = list(self.module.parameters())
        import numpy as np
        return array_module(params[0].data) if params else np

    @staticmethod
    def _make_buckets(params, cap_mb):
        cap = cap_mb * 2**20
        buckets, current, size, key = [], [], 0, None
        for p in reversed(params):
            k = (type(p.data), p.dtype)
            if current and (k != key or size + p.data.nbytes > cap):
                buckets.append(current)
                current, size = [], 0
            current.append(p)
            size += p.data.nbytes
            key = k
        if current:
            buckets.append(current)
        return [_Bucket(ps, array_module(ps[0].data), ps[0].dtype) for ps in buckets]

    def _broadcast_buffers(self):
        for _, b in self.module.named_buffers():
            if b is not None and getattr(b, "ndim", None) is not None and b.dtype.kind in "fi":
                _group.broadcast(b, 0)

    # ---- training --------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        if self.broadcast_buffers and self.training:
            self._broadcast_buffers()
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Inside, backward only accumulates local gradients (gradient accumulation over several
        micro-batches); the first backward after it reduces the accumulated sum."""
        self._sync = False
        try:
            yield
        finally:
            self._sync = True

    def _on_grad_ready(self, param):
        if not self._sync:
            return
        if not self._pass_open:
            self._pass_open = True
            queue_callback(self._finish_pass)
        bucket = self._bucket_of[id(param)]
        bucket.ready += 1
        self._start_ready_buckets()
        for b in self._buckets[:self._next]:  # give MPI's progress engine a turn
            b.work.is_completed()

    def _start_ready_buckets(self, force=False):
        while self._next < len(self._buckets):
            b = self._buckets[self._next]
            if not force and b.ready < len(b.params):
                return
            xp = array_module(b.buffer)
            offset = 0
            for p, n in zip(b.params, b.sizes):
                chunk = b.buffer[offset:offset + n]
                if p.grad is None:
                    chunk[...] = 0
                else:
                    chunk[...] = xp.reshape(p.grad.data, -1)
                offset += n
            b.work = _group.all_reduce(b.buffer, "sum", async_op=True)
            self.stats["all_reduces"] += 1
            self._next += 1

    def _finish_pass(self):
        self._start_ready_buckets(force=True)   # buckets with parameters that got no gradient
        start = time.perf_counter()
        for b in self._buckets:
            b.work.wait()
        self.stats["wait_seconds"] += time.perf_counter() - start
        self.stats["steps"] += 1
        scale = 1.0 / _group.world_size()
        for b in self._buckets:
            offset = 0
            for p, n in zip(b.params, b.sizes):
                g = b.buffer[offset:offset + n].reshape(p.shape) * scale
                p.grad = g.astype(p.dtype, copy=False)
                offset += n
            b.ready, b.work = 0, None
        self._next = 0
        self._pass_open = False

    def __repr__(self):
        return f"DistributedDataParallel({self.module!r}, buckets={len(self._buckets)})"
