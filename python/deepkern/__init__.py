"""deepkern: hand-written C++/CUDA deep-learning kernels with a NumPy/CuPy API, an autograd
engine, layers, optimizers and the models of a deep-learning course.

    import numpy as np, deepkern as dk
    y = dk.ops.relu(np.random.randn(4, 5).astype(np.float32))     # CPU kernel
    # y = dk.ops.relu(cupy_array)                                 # CUDA kernel
"""
import importlib as _importlib

from . import _cpu, cuda, ops, reference
from . import functional, nn, optim
from .autograd import Function, Tensor, enable_grad, is_grad_enabled, no_grad
from ._random import manual_seed
from .creation import arange, from_numpy, ones, rand, randn, tensor, zeros
from .nn.summary import summary
from .serialization import load, save


def _version():
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("deepkern")
    except PackageNotFoundError:  # running from a source tree
        return _cpu.build_info()["version"]


__version__ = _version()

# Imported on first use (``dk.data.DataLoader`` works without ``import deepkern.data``).
_LAZY = ("data", "models", "train", "text", "metrics", "viz", "bench", "cli")

__all__ = ["Tensor", "Function", "no_grad", "enable_grad", "is_grad_enabled", "ops", "reference",
           "functional", "nn", "optim", "cuda", "set_num_threads", "get_num_threads", "info", "manual_seed",
           "save", "load", "tensor", "zeros", "ones", "rand", "randn", "arange", "from_numpy", "summary",
           "__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return _importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'deepkern' has no attribute {name!r}")


def __dir__():
    return sorted(set(__all__) | {k for k in globals() if not k.startswith("_")})


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
