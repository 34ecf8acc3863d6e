"""deepkern: hand-written C++/CUDA deep-learning kernels with a NumPy/CuPy API, an autograd
engine, layers, optimizers and the models of a deep-learning course.

    import numpy as np, deepkern as dk
    y = dk.ops.relu(np.random.randn(4, 5).astype(np.float32))     # CPU kernel
    # y = dk.ops.relu(cupy_array)                                 # CUDA kernel
"""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version as _pkg_version

from . import _cpu, cuda, ops, reference
from . import functional, nn, optim
from .autograd import Function, Tensor, enable_grad, is_grad_enabled, no_grad
from ._random import manual_seed
from .serialization import load, save

try:
    __version__ = _pkg_version("deepkern")
except PackageNotFoundError:  # running from a source tree
    __version__ = _cpu.build_info()["version"]

__all__ = ["Tensor", "Function", "no_grad", "enable_grad", "is_grad_enabled", "ops", "reference",
           "functional", "nn", "optim", "cuda", "set_num_threads", "get_num_threads", "info", "manual_seed",
           "save", "load", "__version__"]


def set_num_threads(n: int) -> None:
    """Threads used by the CPU kernels (default: OpenMP's, i.e. OMP_NUM_THREADS or all cores)."""
    from ._checks import integer
    _cpu.set_num_threads(integer("set_num_threads", "n", n, minimum=1))


def get_num_threads() -> int:
    return _cpu.get_num_threads()


def info() -> dict:
    """What this installation is: version, build, CPU features and kernels, threads, CUDA."""
    import numpy

    build = dict(_cpu.build_info())
    out = {
        "version": __version__,
        "build_type": build["build_type"],
        "compiler": build["compiler"],
        "cpu_isa": build["cpu_isa"],
        "cpu_features": build["cpu_features"],
        "gemm_kernel": build["gemm_kernel"],
        "num_threads": get_num_threads(),
        "numpy": numpy.__version__,
        "cuda_built": cuda.is_built(),
        "cuda_available": False,
    }
    if cuda.is_built():
        ext = cuda._load()
        cb = ext.build_info()
        out["cuda_build_version"] = cb["cuda_version"]
        out["cuda_architectures"] = cb["architectures"]
        out["cuda_runtime_version"] = ext.runtime_version()
        out["cuda_driver_version"] = ext.driver_version()
        out["cuda_device_count"] = ext.device_count()
        out["cuda_available"] = cuda.is_available()
        if ext.device_count():
            out["cuda_device"] = ext.device_name(0)
    return out
