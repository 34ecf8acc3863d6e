"""The NCCL backend's plumbing without a GPU: fake ``cupy`` and ``cupy.cuda.nccl`` modules stand in
(a communicator that records its calls and reduces a world of one), so the test checks what
deepkern.distributed asks of NCCL: the device chosen, the id exchange, pointers, counts, dtypes,
ops and the stream of each collective, the event polled for completion, and the abort on timeout.
Run as ``python nccl_fake_worker.py``; prints one JSON line."""
import json
import sys
import types

import numpy as np

calls = []


class FakeArray(np.ndarray):
    """A NumPy array that CuPy's duck-typing checks take for a device array."""

    @property
    def data(self):  # cupy's .data.ptr
        return types.SimpleNamespace(ptr=self.ctypes.data)


FakeArray.__module__ = "cupy._core.core"
FakeArray.__cuda_array_interface__ = property(lambda self: self.__array_interface__)


class Event:
    hang = False

    def __init__(self, disable_timing=False):
        pass

    def record(self, stream):
        calls.append(("record", stream.ptr))

    @property
    def done(self):
        return not Event.hang


class Communicator:
    def __init__(self, n, uid, rank):
        calls.append(("comm", n, uid, rank))

    def allReduce(self, send, recv, count, dtype, op, stream):
        calls.append(("allReduce", send == recv, count, dtype, op, stream))

    def bcast(self, buf, count, dtype, root, stream):
        calls.append(("bcast", count, dtype, root, stream))

    def abort(self):
        calls.append(("abort",))

    def destroy(self):
        calls.append(("destroy",))


nccl = types.ModuleType("cupy.cuda.nccl")
nccl.NcclCommunicator = Communicator
nccl.get_unique_id = lambda: (7, 7, 7)
for i, name in enumerate(["NCCL_SUM", "NCCL_MAX", "NCCL_MIN", "NCCL_FLOAT32", "NCCL_FLOAT64", "NCCL_INT32",
                          "NCCL_INT64"]):
    setattr(nccl, name, name)
cuda = types.ModuleType("cupy.cuda")
cuda.nccl = nccl
cuda.Event = Event
cuda.runtime = types.SimpleNamespace(getDeviceCount=lambda: 1)
cuda.Device = lambda i: types.SimpleNamespace(use=lambda: calls.append(("device", i)))
cuda.get_current_stream = lambda: types.SimpleNamespace(ptr=1234)
cupy = types.ModuleType("cupy")
cupy.cuda = cuda
cupy.float32 = np.float32
cupy.zeros = lambda n, dtype: np.zeros(n, dtype).view(FakeArray)
sys.modules.update({"cupy": cupy, "cupy.cuda": cuda, "cupy.cuda.nccl": nccl})

import deepkern.distributed as dist  # noqa: E402

dist.init("nccl", timeout=0.5)
x = np.ones(5, np.float32).view(FakeArray)
dist.all_reduce(x, op="max")
dist.broadcast(np.ones(3, np.float64).view(FakeArray), src=0)
dist.barrier()
try:
    dist.all_reduce(np.ones(3), op="sum")
except TypeError as e:
    calls.append(("numpy refused", "backend 'nccl' takes CuPy arrays" in str(e)))
Event.hang = True
try:
    dist.all_reduce(x)
except dist.DistributedError as e:
    calls.append(("timeout", "within 0.5 s" in str(e)))
dist.destroy()
print(json.dumps(calls))
