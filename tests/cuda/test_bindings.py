"""Checks of the CUDA extension that need no GPU: it imports without a driver, and every
kernel entry accepts the ``stream`` argument that deepkern._backend adds to each call."""
import importlib

import pytest

import deepkern as dk

MODULE_LEVEL = {"device_count", "device_name", "compute_capability", "runtime_version", "driver_version",
                "build_info"}


@pytest.fixture(scope="module")
def cuda_ext():
    if not dk.cuda.is_built():
        pytest.skip("deepkern was built without the CUDA extension")
    return importlib.import_module("deepkern._cuda")


def test_every_kernel_entry_takes_the_stream(cuda_ext):
    # emu_*: the emulated backend's own controls (csrc/emu), not kernel entries.
    entries = [n for n in dir(cuda_ext) if not n.startswith(("_", "emu_")) and n not in MODULE_LEVEL]
    assert entries, "the CUDA extension registers no kernel entries"
    missing = [n for n in entries if "stream" not in (getattr(cuda_ext, n).__doc__ or "").split("\n")[0]]
    assert not missing, f"CUDA entries without a stream argument (every call passes stream=): {missing}"

