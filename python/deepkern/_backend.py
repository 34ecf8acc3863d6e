"""Dispatch from arrays to kernels: NumPy arrays run the CPU extension, CuPy arrays the CUDA
extension on CuPy's current stream. Nothing here knows about Tensor (see DESIGN §1)."""
from __future__ import annotations

import sys
import threading

import numpy as np

from . import _cpu
from . import cuda as _cuda_mod


def is_cupy_array(x) -> bool:
    return type(x).__module__.startswith("cupy") and hasattr(x, "__cuda_array_interface__")


def is_array(x) -> bool:
    return isinstance(x, np.ndarray) or is_cupy_array(x)


def array_module(x):
    """numpy for NumPy arrays, cupy for CuPy arrays."""
    if isinstance(x, np.ndarray):  # first: every op call asks, and this costs ~0.05 us
        return np
    if is_cupy_array(x):
        return sys.modules["cupy"]
    return np


class _CudaKernels:
    """The _cuda module with each call's ``stream`` filled in with CuPy's current stream."""

    def __init__(self, ext):
        self._ext = ext

    def __getattr__(self, name):
        fn = getattr(self._ext, name)

        def launch(*args, **kwargs):
            kwargs.setdefault("stream", _cuda_mod.current_stream_ptr())
            return fn(*args, **kwargs)

        return launch


_cuda_kernels = None


def kernels(xp):
    """The kernel module for an array module: ``_cpu`` for NumPy, the CUDA kernels for CuPy."""
    global _cuda_kernels
    if xp is np:
        return _cpu
    if _cuda_kernels is None:
        _cuda_kernels = _CudaKernels(_cuda_mod.extension())
    return _cuda_kernels


_scratch = threading.local()


def scratch(xp, size, dtype):
    """A 1-D scratch array of ``size`` elements for a kernel's workspace, contents undefined.

    On the CPU one buffer per thread and dtype is kept and grown as needed, so repeated calls
    reuse pages already mapped instead of paying a page fault per fresh 4 KiB (a 16 MB
    workspace costs ~40% more written fresh). CuPy's memory pool already reuses GPU memory.
    A kernel's workspace is dead when the kernel returns, so one buffer serves every op.
    """
    size = int(size)
    if xp is not np:
        return xp.empty(size, dtype=dtype)
    key = np.dtype(dtype).name
    buf = getattr(_scratch, key, None)
    if buf is None or buf.size < size:
        buf = np.empty(max(size, 1), dtype=dtype)
        setattr(_scratch, key, buf)
    return buf[:size]
