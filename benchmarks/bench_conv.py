"""conv2d benchmarks: deepkern vs the NumPy reference vs PyTorch on the same inputs, float32,
2 threads, forward and forward+backward, at the shapes of the course's models.

    python -m pytest benchmarks/bench_conv.py --benchmark-enable

Outputs are allocated on every call by every implementation (not preallocated). Without
--benchmark-enable (the project default) each case runs once, as a smoke test.
"""
import numpy as np
import pytest

import deepkern as dk
from deepkern import ops, reference

try:
    import torch
except ImportError:  # PyTorch is optional: its column is skipped
    torch = None

# name: (x shape, weight shape, padding)
CASES = {
    "lenet_5x5": ((64, 1, 28, 28), (6, 1, 5, 5), 0),
    "resnet_3x3": ((8, 64, 56, 56), (64, 64, 3, 3), 1),
    "resnet_1x1": ((8, 256, 56, 56), (64, 256, 1, 1), 0),
    "vgg_3x3": ((8, 128, 56, 56), (128, 128, 3, 3), 1),
}


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


def _inputs(name):
    xs, ws, pad = CASES[name]
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xs).astype(np.float32)
    w = (rng.standard_normal(ws) / np.sqrt(np.prod(ws[1:]))).astype(np.float32)
    b = rng.standard_normal(ws[0]).astype(np.float32)
    y_shape = ops.conv2d(x[:1], w, b, padding=pad).shape[1:]
    g = rng.standard_normal((xs[0],) + y_shape).astype(np.float32)
    return x, w, b, g, pad


def _functions(name, impl, passes):
    x, w, b, g, pad = _inputs(name)
    if impl == "deepkern":
        if passes == "forward":
            return lambda: ops.conv2d(x, w, b, padding=pad)
        return lambda: (ops.conv2d(x, w, b, padding=pad), ops.conv2d_backward(g, x, w, padding=pad))
    if impl == "reference":
        if passes == "forward":
            return lambda: reference.conv2d(x, w, b, padding=pad)
        return lambda: (reference.conv2d(x, w, b, padding=pad), reference.conv2d_backward(g, x, w, padding=pad))
    if torch is None:
        pytest.skip("PyTorch is not installed")
    F = torch.nn.functional
    tx, tw, tb, tg = (torch.from_numpy(a) for a in (x, w, b, g))
    if passes == "forward":
        def run():
            with torch.no_grad():
                return F.conv2d(tx, tw, tb, padding=pad)
        return run
    txr, twr, tbr = (t.clone().requires_grad_() for t in (tx, tw, tb))
    return lambda: torch.autograd.grad(F.conv2d(txr, twr, tbr, padding=pad), (txr, twr, tbr), tg)


@pytest.mark.parametrize("impl", ["deepkern", "reference", "torch"])
@pytest.mark.parametrize("passes", ["forward", "forward_backward"])
@pytest.mark.parametrize("name", list(CASES))
def test_conv2d(benchmark, name, passes, impl):
    fn = _functions(name, impl, passes)
    xs, ws, _ = CASES[name]
    benchmark.group = f"conv2d {name} {passes} x{xs} w{ws}"
    if impl == "reference":
        benchmark.pedantic(fn, rounds=1, iterations=1)
    else:
        benchmark(fn)
