"""Pooling benchmarks: deepkern vs the NumPy reference vs PyTorch on the same NCHW input,
float32, 2 threads: ResNet's stem max pooling (3x3, stride 2, padding 1) on (8, 64, 112, 112),
with and without argmax indices, and global average pooling.

    python -m pytest benchmarks/bench_pool.py --benchmark-enable

Outputs are allocated on every call by every implementation.
"""
import numpy as np
import pytest

import deepkern as dk
from deepkern import ops, reference

try:
    import torch
except ImportError:  # PyTorch is optional: its column is skipped
    torch = None


@pytest.fixture(scope="module", autouse=True)
def two_threads():
    old = dk.get_num_threads()
    dk.set_num_threads(2)
    if torch is not None:
        torch_old = torch.get_num_threads()
        torch.set_num_threads(2)
    yield
    dk.set_num_threads(old)
    if torch is not None:
        torch.set_num_threads(torch_old)


X = np.random.default_rng(0).standard_normal((8, 64, 112, 112)).astype(np.float32)

CASES = {
    "max_pool2d_3x3s2p1": (lambda x: ops.max_pool2d(x, 3, 2, 1),
                           lambda x: reference.max_pool2d(x, 3, 2, 1),
                           lambda t: torch.nn.functional.max_pool2d(t, 3, 2, 1)),
    "max_pool2d_with_indices_3x3s2p1": (lambda x: ops.max_pool2d_with_indices(x, 3, 2, 1),
                                        lambda x: reference.max_pool2d_with_indices(x, 3, 2, 1),
                                        lambda t: torch.nn.functional.max_pool2d(t, 3, 2, 1, return_indices=True)),
    "avg_pool2d_2x2": (lambda x: ops.avg_pool2d(x, 2),
                       lambda x: reference.avg_pool2d(x, 2),
                       lambda t: torch.nn.functional.avg_pool2d(t, 2)),
    "adaptive_avg_pool2d_1": (lambda x: ops.adaptive_avg_pool2d(x, 1),
                              lambda x: reference.adaptive_avg_pool2d(x, 1),
                              lambda t: torch.nn.functional.adaptive_avg_pool2d(t, 1)),
}


@pytest.mark.parametrize("impl", ["deepkern", "reference", "torch"])
@pytest.mark.parametrize("name", list(CASES))
def test_pool(benchmark, name, impl):
    ours, ref, theirs = CASES[name]
    benchmark.group = f"{name} x{X.shape}"
    benchmark.extra_info["bytes_in"] = X.nbytes
    if impl == "deepkern":
        benchmark(ours, X)
    elif impl == "reference":
        benchmark.pedantic(ref, (X,), rounds=1, iterations=1)
    else:
        if torch is None:
            pytest.skip("PyTorch is not installed")
        t = torch.from_numpy(X)
        with torch.no_grad():
            benchmark(theirs, t)
