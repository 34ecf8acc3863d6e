"""Moving arrays between the CPU (NumPy) and the GPU (CuPy)."""
from __future__ import annotations

import numpy as np

from ._backend import is_cupy_array


def to_device(x, device: str):
    device = str(device)
    if device == "cpu":
        return x.get() if is_cupy_array(x) else x
    if device.startswith("cuda"):
        from . import cuda
        cuda.extension()  # clear error without a GPU
        import cupy
        return x if is_cupy_array(x) else cupy.asarray(x)
    raise ValueError(f"to: device must be 'cpu' or 'cuda', got {device!r}")


def device_of(x) -> str:
    return "cpu" if isinstance(x, np.ndarray) else "cuda"
