import os

import pytest
from hypothesis import HealthCheck, settings

# Kernel tests are cheap per example but run on 2 shared cores: a few dozen random shapes
# per property, no per-example deadline (first calls pay for thread-pool start-up).
# Under CI (CI=true) the examples are derandomized: a submission is judged on the same inputs
# every run; random exploration happens in development runs and the "thorough" profile.
settings.register_profile("ci", max_examples=25, deadline=None, print_blob=True,
                          derandomize=os.environ.get("CI", "").lower() == "true",
                          suppress_health_check=[HealthCheck.too_slow])
# scripts/gpu_check.sh runs the CUDA tests under compute-sanitizer (~100x slower): few examples.
settings.register_profile("sanitize", max_examples=3, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# The emulated CUDA backend (tests/cuda_emu, docs/cuda_emu.md): --cuda-emu BUILD_DIR, or
# DEEPKERN_CUDA_EMU_BUILD=BUILD_DIR, runs every `cuda` test on deepkern's CUDA kernels executed
# on the CPU.
def pytest_addoption(parser):
    parser.addoption("--cuda-emu", metavar="BUILD_DIR", default=os.environ.get("DEEPKERN_CUDA_EMU_BUILD") or None,
                     help="run the cuda tests on the emulated CUDA backend built in BUILD_DIR "
                          "(cmake -DDEEPKERN_CUDA_EMU=ON; scripts/cuda_emu.sh)")


def pytest_configure(config):
    build_dir = config.getoption("--cuda-emu")
    if build_dir:
        from . import cuda_emu
        cuda_emu.activate(build_dir)


def pytest_report_header(config):
    from . import cuda_emu
    if cuda_emu.active():
        import sys
        info = sys.modules["deepkern._cuda"].emu_info()
        return [f"cuda: emulated backend ({info['executor']}, {info['concurrent_blocks']} blocks at once) "
                f"from {config.getoption('--cuda-emu')}"]
    return []


@pytest.fixture(autouse=True)
def _cuda_emu_errors_reported():
    """A kernel fault is a sticky error: it must reach the test (as an exception), and must not
    leak into the next test."""
    yield
    from . import cuda_emu
    if cuda_emu.active():
        import sys
        ext = sys.modules["deepkern._cuda"]
        message = ext.emu_sticky_error()
        if message:
            ext.emu_reset()
            pytest.fail(f"a CUDA kernel faulted during this test and the test did not clear it: {message}")
