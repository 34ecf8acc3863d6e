import subprocess
import sys

import numpy as np
import pytest

import deepkern as dk


def test_info_reports_build_and_kernels():
    info = dk.info()
    for key in ("version", "build_type", "cpu_isa", "cpu_features", "gemm_kernel", "num_threads",
                "cuda_built", "cuda_available"):
        assert key in info
    assert info["version"] == dk.__version__
    assert info["cpu_isa"] in ("avx512", "avx2", "baseline")


def test_cli_info_runs():
    out = subprocess.run([sys.executable, "-m", "deepkern", "info"], capture_output=True, text=True, check=True)
    assert "gemm_kernel" in out.stdout and "cuda_available" in out.stdout


def test_set_num_threads_round_trip():
    before = dk.get_num_threads()
    try:
        dk.set_num_threads(1)
        assert dk.get_num_threads() == 1
        x = np.random.default_rng(0).standard_normal((64, 64)).astype(np.float32)
        np.testing.assert_allclose(dk.ops.matmul(x, x), x @ x, rtol=1e-4, atol=1e-4)
    finally:
        dk.set_num_threads(before)
    with pytest.raises(ValueError, match="n must be >= 1, got 0"):
        dk.set_num_threads(0)
    with pytest.raises(TypeError, match="n must be an int"):
        dk.set_num_threads(1.5)


def test_cuda_is_available_is_a_bool_and_ops_raise_without_gpu():
    avail = dk.cuda.is_available()
    assert isinstance(avail, bool)
    if not avail:
        with pytest.raises(RuntimeError, match="CUDA"):
            dk.cuda.extension()


def test_import_without_gpu_does_not_import_cuda_extension():
    code = "import sys, deepkern; print('deepkern._cuda' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
