"""Tensor creation with PyTorch's names: ``dk.tensor``, ``zeros``, ``ones``, ``rand``, ``randn``,
``arange``, ``from_numpy``.

Floating-point results are float32 unless ``dtype`` says otherwise (PyTorch's default dtype);
``device='cuda'`` puts the data on the GPU (CuPy). Random values come from deepkern's
generator, so ``dk.manual_seed`` makes them repeat.
"""
from __future__ import annotations

import numpy as np

from . import _random
from ._backend import is_array
from ._device import to_device
from .autograd import Tensor

__all__ = ["tensor", "zeros", "ones", "rand", "randn", "arange", "from_numpy"]


def _shape(size, op):
    """zeros(2, 3) and zeros((2, 3)) both mean (2, 3)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)) or s < 0:
            raise ValueError(f"{op}: sizes must be integers >= 0, got {size}")
    return tuple(int(s) for s in size)


def _finish(data, device, requires_grad):
    if device is not None and device != "cpu":
        data = to_device(data, device)
    return Tensor(data, requires_grad=requires_grad)


def tensor(data, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A new Tensor holding a copy of ``data`` (a number, nested lists, a NumPy/CuPy array or a
    Tensor): arrays keep their dtype, Python floats become float32 and integers int64."""
    if isinstance(data, Tensor):
        data = data.data
    if is_array(data):
        data = data.copy() if dtype is None else data.astype(dtype)
    else:
        data = np.array(data, dtype=dtype)
        if dtype is None and data.dtype == np.float64:  # Python floats: PyTorch's default float32
            data = data.astype(np.float32)
    return _finish(data, device, requires_grad)


def zeros(*size, dtype=np.float32, device=None, requires_grad=False) -> Tensor:
    """A Tensor of zeros of shape ``size``."""
    return _finish(np.zeros(_shape(size, "zeros"), dtype=dtype), device, requires_grad)


def ones(*size, dtype=np.float32, device=None, requires_grad=False) -> Tensor:
    """A Tensor of ones of shape ``size``."""
    return _finish(np.ones(_shape(size, "ones"), dtype=dtype), device, requires_grad)


def rand(*size, dtype=np.float32, device=None, requires_grad=False) -> Tensor:
    """Uniform values in [0, 1) from deepkern's generator."""
    data = _random.generator().random(_shape(size, "rand")).astype(dtype)
    return _finish(data, device, requires_grad)


def randn(*size, dtype=np.float32, device=None, requires_grad=False) -> Tensor:
    """Standard normal values from deepkern's generator."""
    data = _random.generator().standard_normal(_shape(size, "randn")).astype(dtype)
    return _finish(data, device, requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Values from ``start`` (0 when only one bound is given) up to ``end`` (excluded) by
    ``step``; int64 for integer arguments, float32 otherwise, as torch.arange."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        integral = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (start, end, step))
        dtype = np.int64 if integral else np.float32
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    return _finish(np.arange(start, end, step, dtype=np.float64 if np.dtype(dtype).kind == "f" else dtype)
                   .astype(dtype), device, requires_grad)


def from_numpy(array) -> Tensor:
    """A Tensor sharing memory with the NumPy array (changes to one show in the other)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a NumPy array, got {type(array).__name__}")
    return Tensor(array)
