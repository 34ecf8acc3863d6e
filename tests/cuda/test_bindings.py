"""Checks of the CUDA extension that need no GPU: it imports without a driver, every kernel
entry accepts the ``stream`` argument that deepkern._backend adds to each call, and its entries
are the CPU module's (one binding source per family) plus that argument."""
import importlib
import re

import pytest

import deepkern as dk

MODULE_LEVEL = {"device_count", "device_name", "compute_capability", "runtime_version", "driver_version",
                "build_info"}


def _kernel_entries(ext):
    # emu_*: the emulated backend's own controls (csrc/emu), not kernel entries.
    return {n for n in dir(ext) if not n.startswith(("_", "emu_")) and n not in MODULE_LEVEL}


@pytest.fixture(scope="module")
def cuda_ext():
    if not dk.cuda.is_built():
        pytest.skip("deepkern was built without the CUDA extension")
    return importlib.import_module("deepkern._cuda")


def test_every_kernel_entry_takes_the_stream(cuda_ext):
    entries = sorted(_kernel_entries(cuda_ext))
    assert entries, "the CUDA extension registers no kernel entries"
    missing = [n for n in entries if "stream" not in (getattr(cuda_ext, n).__doc__ or "").split("\n")[0]]
    assert not missing, f"CUDA entries without a stream argument (every call passes stream=): {missing}"


# Entries whose Python signatures differ between backends by design: on CUDA, nms leaves the
# count on the device and takes a scratch workspace sized by nms_workspace_size (no host sync).
BACKEND_SPECIFIC = {"nms", "batched_nms", "nms_workspace_size"}
STREAM_ARG = re.compile(r"(, )?stream: [^,()]* = 0\) ->")


def _signatures(fn):
    name = fn.__name__
    return [line for line in (fn.__doc__ or "").split("\n") if line.startswith(f"{name}(")]


def test_cuda_entries_are_the_cpu_entries_plus_stream(cuda_ext):
    """Both modules are built from one binding source per family: every kernel entry exists on
    both backends with the same arguments, the CUDA one adding only the trailing ``stream``."""
    from deepkern import _cpu

    cuda_entries = _kernel_entries(cuda_ext)
    cpu_entries = {n for n in dir(_cpu) if not n.startswith("_")}
    missing = sorted(cuda_entries - cpu_entries - BACKEND_SPECIFIC)
    assert not missing, f"CUDA kernel entries without a CPU counterpart: {missing}"
    differ = []
    for name in sorted(cuda_entries - BACKEND_SPECIFIC):
        cuda_sig, cpu_sig = _signatures(getattr(cuda_ext, name)), _signatures(getattr(_cpu, name))
        assert cuda_sig and cpu_sig, f"{name}: no signature line in the docstrings"
        if [STREAM_ARG.sub(") ->", s) for s in cuda_sig] != cpu_sig:
            differ.append(f"{name}: cpu {cpu_sig} vs cuda {cuda_sig}")
    assert not differ, "CPU and CUDA entries differ beyond stream:\n" + "\n".join(differ)
