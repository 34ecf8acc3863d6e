"""deepkern.cuda: is a GPU usable, and the lazily imported CUDA extension.

``deepkern._cuda`` is imported on first use only, so ``import deepkern`` works on machines with
no GPU and no NVIDIA driver even when the CUDA extension was built.
"""
from __future__ import annotations

import importlib
from functools import lru_cache

__all__ = ["is_available", "is_built", "device_count", "device_name", "extension", "current_stream_ptr"]


@lru_cache(maxsize=None)
def _load():
    try:
        return importlib.import_module("deepkern._cuda")
    except ImportError:
        return None


def is_built() -> bool:
    """True when this installation includes the CUDA extension."""
    return _load() is not None


def _cupy():
    try:
        import cupy
    except Exception:  # cupy missing, or broken without a driver
        return None
    return cupy


def device_count() -> int:
    """Number of CUDA devices the extension can see (0 without driver or GPU)."""
    ext = _load()
    return ext.device_count() if ext is not None else 0


def is_available() -> bool:
    """True when the CUDA extension is built, a GPU is visible and CuPy works."""
    if device_count() == 0:
        return False
    cp = _cupy()
    try:
        return cp is not None and bool(cp.cuda.is_available())
    except Exception:
        return False


def device_name(device: int = 0) -> str:
    return extension().device_name(device)


def extension():
    """The ``deepkern._cuda`` module; RuntimeError with the reason when it cannot be used."""
    ext = _load()
    if ext is None:
        raise RuntimeError(
            "deepkern was built without CUDA support (no CUDA compiler at build time, or "
            "DEEPKERN_CUDA=OFF); reinstall on a machine with nvcc to use CuPy arrays")
    if ext.device_count() == 0:
        raise RuntimeError("deepkern: no CUDA device is available (no GPU or no NVIDIA driver)")
    return ext


def current_stream_ptr() -> int:
    """CuPy's current stream as an integer, the stream every deepkern CUDA kernel launches on."""
    import cupy

    return cupy.cuda.get_current_stream().ptr
