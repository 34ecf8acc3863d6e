"""Runs deepkern's ``cuda`` tests on the emulated CUDA backend (docs/cuda_emu.md).

``python -m pytest --cuda-emu BUILD_DIR`` (or ``DEEPKERN_CUDA_EMU=BUILD_DIR``), where BUILD_DIR is
a CMake build of the project with ``-DDEEPKERN_CUDA_EMU=ON`` (``scripts/cuda_emu.sh`` makes
one): before any test imports deepkern, the build's ``_cpu`` and its emulated ``_cuda`` are
registered as ``deepkern._cpu`` / ``deepkern._cuda``, and the NumPy-backed CuPy stand-in in this
folder is put first on ``sys.path``. ``deepkern.cuda.is_available()`` is then True, so every
test parametrized with ``tests.helpers.DEVICES`` runs its ``cuda`` case, unchanged, through
deepkern's real CUDA bindings and kernels executed on the CPU.
"""
from __future__ import annotations

import glob
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def _load_extension(name: str, folder: str):
    found = sorted(glob.glob(os.path.join(folder, f"{name}.*.so")) + glob.glob(os.path.join(folder, f"{name}.so")))
    if not found:
        raise RuntimeError(f"cuda_emu: no {name} extension in {folder} (build with -DDEEPKERN_CUDA_EMU=ON, "
                           "or run scripts/cuda_emu.sh)")
    spec = importlib.util.spec_from_file_location(f"deepkern.{name}", found[0])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[f"deepkern.{name}"] = module
    return module


def activate(build_dir: str):
    """Registers the emulated backend; must run before deepkern or cupy is imported."""
    build_dir = os.path.abspath(build_dir)
    for taken in ("deepkern", "cupy"):
        if taken in sys.modules:
            raise RuntimeError(f"cuda_emu: {taken} was imported before the emulated backend was activated")
    sys.path.insert(0, HERE)  # the CuPy stand-in
    _load_extension("_cpu", build_dir)
    return _load_extension("_cuda", os.path.join(build_dir, "cuda_emu"))


def active() -> bool:
    module = sys.modules.get("deepkern._cuda")
    return module is not None and hasattr(module, "emu_reset")
