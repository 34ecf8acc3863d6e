"""The process group: ``init`` makes one per process; collectives act on it in place.

Two engines, both optional:
  * ``"mpi"`` (mpi4py) for NumPy arrays. Collectives are MPI's non-blocking ones
    (``Iallreduce``/``Ibcast``/``Ibarrier``), waited on by polling, so every wait has a
    timeout and a missing rank raises instead of hanging.
  * ``"nccl"`` (CuPy's ``cupy.cuda.nccl``) for CuPy arrays, one rank per GPU. Ranks find each
    other through MPI (rank 0 makes the NCCL id and broadcasts it), so ``mpirun`` starts both
    kinds. Collectives run on CuPy's current stream; a wait polls an event recorded after the
    collective, and on timeout the communicator is aborted.

Every collective must be called by every rank in the same order (as with MPI and NCCL).
"""
from __future__ import annotations

import os
import time

import numpy as np

from .._backend import is_cupy_array

__all__ = ["init", "destroy", "is_available", "is_initialized", "get_backend", "rank", "world_size",
           "all_reduce", "broadcast", "barrier", "DistributedError"]

BACKENDS = ("mpi", "nccl")
DEFAULT_TIMEOUT = 300.0  # seconds; DEEPKERN_DIST_TIMEOUT overrides
REDUCE_OPS = ("sum", "avg", "max", "min")
_INSTALL = {"mpi": 'pip install "deepkern[distributed]" (mpi4py and an MPI runtime from PyPI)',
            "nccl": 'pip install "deepkern[distributed,cuda]" (CuPy brings NCCL; mpi4py starts the ranks)'}

_group = None


class DistributedError(RuntimeError):
    """A collective failed or timed out, or the ranks disagree (model shapes, world size)."""


class Work:
    """A collective in flight: ``wait()`` blocks until it is done (or raises on timeout)."""

    def __init__(self, done, abort, what, timeout, finish=None):
        self._done, self._abort, self._what, self._timeout = done, abort, what, timeout
        self._finish = finish
        self.completed = False

    def is_completed(self) -> bool:
        if not self.completed and self._done():
            self._complete()
        return self.completed

    def wait(self) -> None:
        if self.completed:
            return
        deadline = time.monotonic() + self._timeout
        spins = 0
        while not self._done():
            if time.monotonic() > deadline:
                self._abort()
                raise DistributedError(
                    f"{self._what}: not every rank took part within {self._timeout:g} s (a rank stopped, hangs, "
                    f"or called a different collective); raise the limit with init(timeout=...) or "
                    f"DEEPKERN_DIST_TIMEOUT if a rank is just slow")
            spins += 1
            if spins > 64:  # short waits spin; long ones let the other ranks' threads run
                time.sleep(5e-5)
        self._complete()

    def _complete(self):
        self.completed = True
        if self._finish is not None:
            self._finish()
            self._finish = None


def _timeout_value(timeout):
    if timeout is None:
        timeout = float(os.environ.get("DEEPKERN_DIST_TIMEOUT", DEFAULT_TIMEOUT))
    timeout = float(timeout)
    if not timeout > 0:
        raise ValueError(f"init: timeout must be > 0 seconds, got {timeout}")
    return timeout


class _MPIGroup:
    backend = "mpi"

    def __init__(self, timeout):
        try:
            from mpi4py import MPI
        except ImportError as e:
            raise DistributedError(f"backend 'mpi' needs mpi4py and an MPI runtime: {_INSTALL['mpi']} "
                                   f"({e})") from None
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD.Dup()
        self.rank, self.size, self.timeout = self.comm.Get_rank(), self.comm.Get_size(), timeout
        self._ops = {"sum": MPI.SUM, "avg": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}

    def check(self, array, op):
        if is_cupy_array(array):
            raise TypeError(f"{op}: backend 'mpi' takes NumPy arrays, got a CuPy array (use backend 'nccl' "
                            f"for GPU arrays)")
        if not isinstance(array, np.ndarray):
            raise TypeError(f"{op}: array must be a NumPy array, got {type(array).__name__}")

    def all_reduce(self, array, op, what):
        req = self.comm.Iallreduce(self.MPI.IN_PLACE, array, op=self._ops[op])
        return Work(req.Test, lambda: None, what, self.timeout)

    def broadcast(self, array, src, what):
        req = self.comm.Ibcast(array, root=src)
        return Work(req.Test, lambda: None, what, self.timeout)

    def barrier(self, what):
        req = self.comm.Ibarrier()
        return Work(req.Test, lambda: None, what, self.timeout)

    def allgather_object(self, obj):
        return self.comm.allgather(obj)

    def destroy(self):
        self.comm.Free()


class _NCCLGroup:
    backend = "nccl"

    def __init__(self, timeout):
        try:
            import cupy
            from cupy.cuda import nccl
            from mpi4py import MPI
        except ImportError as e:
            raise DistributedError(f"backend 'nccl' needs CuPy with NCCL and mpi4py: {_INSTALL['nccl']} "
                                   f"({e})") from None
        self.cupy, self.nccl = cupy, nccl
        world = MPI.COMM_WORLD
        self.rank, self.size, self.timeout = world.Get_rank(), world.Get_size(), timeout
        local = world.Split_type(MPI.COMM_TYPE_SHARED)
        devices = cupy.cuda.runtime.getDeviceCount()
        if local.Get_size() > devices:
            raise DistributedError(f"init: {local.Get_size()} ranks on this machine but {devices} GPU(s); "
                                   f"backend 'nccl' runs one rank per GPU")
        cupy.cuda.Device(local.Get_rank()).use()
        uid = world.bcast(nccl.get_unique_id() if self.rank == 0 else None, root=0)
        self.comm = nccl.NcclCommunicator(self.size, uid, self.rank)
        self._mpi = world
        self._ops = {"sum": nccl.NCCL_SUM, "avg": nccl.NCCL_SUM, "max": nccl.NCCL_MAX, "min": nccl.NCCL_MIN}
        self._dtypes = {np.dtype(np.float32): nccl.NCCL_FLOAT32, np.dtype(np.float64): nccl.NCCL_FLOAT64,
                        np.dtype(np.int32): nccl.NCCL_INT32, np.dtype(np.int64): nccl.NCCL_INT64}

    def check(self, array, op):
        if not is_cupy_array(array):
            raise TypeError(f"{op}: backend 'nccl' takes CuPy arrays, got {type(array).__name__} (use backend "
                            f"'mpi' for NumPy arrays)")

    def _work(self, what):
        stream = self.cupy.cuda.get_current_stream()
        event = self.cupy.cuda.Event(disable_timing=True)
        event.record(stream)
        return Work(lambda: event.done, self.comm.abort, what, self.timeout)

    def all_reduce(self, array, op, what):
        stream = self.cupy.cuda.get_current_stream().ptr
        ptr = array.data.ptr
        self.comm.allReduce(ptr, ptr, array.size, self._dtypes[array.dtype], self._ops[op], stream)
        return self._work(what)

    def broadcast(self, array, src, what):
        stream = self.cupy.cuda.get_current_stream().ptr
        self.comm.bcast(array.data.ptr, array.size, self._dtypes[array.dtype], src, stream)
        return self._work(what)

    def barrier(self, what):
        token = self.cupy.zeros(1, dtype=self.cupy.float32)
        return self.all_reduce(token, "sum", what)

    def allgather_object(self, obj):
        return self._mpi.allgather(obj)

    def destroy(self):
        self.comm.destroy()


_GROUPS = {"mpi": _MPIGroup, "nccl": _NCCLGroup}


def is_available(backend: str = "mpi") -> bool:
    """Whether ``backend``'s packages are installed (not whether several ranks are running)."""
    import importlib.util
    if backend not in BACKENDS:
        raise ValueError(f"is_available: backend must be one of {BACKENDS}, got {backend!r}")
    if importlib.util.find_spec("mpi4py") is None:
        return False
    if backend == "nccl":
        if importlib.util.find_spec("cupy") is None:
            return False
        try:
            from cupy.cuda import nccl  # noqa: F401
        except ImportError:
            return False
    return True


def init(backend: str = "mpi", timeout: float | None = None) -> None:
    """Join the process group of this run (every rank calls it once, before any collective).

    Args:
        backend: "mpi" (NumPy arrays) or "nccl" (CuPy arrays, one rank per GPU).
        timeout: seconds a collective may wait for the other ranks before raising
            :class:`DistributedError` (default 300, or ``DEEPKERN_DIST_TIMEOUT``).
    """
    global _group
    if backend not in BACKENDS:
        raise ValueError(f"init: backend must be one of {BACKENDS}, got {backend!r}")
    if _group is not None:
        raise RuntimeError(f"init: already initialized (backend {_group.backend!r}); call destroy() first")
    _group = _GROUPS[backend](_timeout_value(timeout))


def destroy() -> None:
    """Leave the process group (``init`` may then be called again)."""
    global _group
    if _group is not None:
        _group.destroy()
        _group = None


def is_initialized() -> bool:
    return _group is not None


def _require(op):
    if _group is None:
        raise RuntimeError(f"{op}: deepkern.distributed is not initialized; call deepkern.distributed.init() "
                           f"in every rank (started with mpirun -np N ...)")
    return _group


def get_backend() -> str:
    return _require("get_backend").backend


def rank() -> int:
    """This process's rank, 0 .. world_size() - 1."""
    return _require("rank").rank


def world_size() -> int:
    """The number of processes in the group."""
    return _require("world_size").size


def _check_array(group, array, op):
    group.check(array, op)
    if array.dtype.kind not in "fi":
        raise TypeError(f"{op}: array must have a float or integer dtype, got {array.dtype}")
    if not array.flags.c_contiguous:
        raise ValueError(f"{op}: array must be C-contiguous (collectives work in place)")


def all_reduce(array, op: str = "sum", async_op: bool = False):
    """Reduce ``array`` over all ranks, in place: every rank ends with the same result.

    ``op`` is "sum", "avg", "max" or "min". Returns the array, or with ``async_op=True`` a
    :class:`Work` whose ``wait()`` finishes it (the array must not be touched before).
    """
    group = _require("all_reduce")
    if op not in REDUCE_OPS:
        raise ValueError(f"all_reduce: op must be one of {REDUCE_OPS}, got {op!r}")
    _check_array(group, array, "all_reduce")
    if op == "avg" and array.dtype.kind != "f":
        raise TypeError(f"all_reduce: op 'avg' needs a float array, got {array.dtype}")
    work = group.all_reduce(array, op, "all_reduce")
    if op == "avg":
        size = group.size
        work._finish = lambda: array.__itruediv__(size)
    if async_op:
        return work
    work.wait()
    return array


def broadcast(array, src: int = 0, async_op: bool = False):
    """Copy rank ``src``'s ``array`` into every rank's ``array`` (same shape and dtype), in place."""
    group = _require("broadcast")
    if not 0 <= int(src) < group.size:
        raise ValueError(f"broadcast: src must be a rank in [0, {group.size}), got {src}")
    _check_array(group, array, "broadcast")
    work = group.broadcast(array, int(src), "broadcast")
    if async_op:
        return work
    work.wait()
    return array


def barrier() -> None:
    """Wait until every rank has called barrier()."""
    _require("barrier").barrier("barrier").wait()


def _allgather_object(obj):
    """Every rank's ``obj`` (picklable), as a list indexed by rank. Blocking: used on error paths
    after a collective has shown that the ranks disagree."""
    return _require("allgather_object").allgather_object(obj)
