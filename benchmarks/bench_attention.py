"""Fused attention vs the NumPy reference vs PyTorch's scaled_dot_product_attention, CPU, 2 threads.

    python -m pytest benchmarks/bench_attention.py --benchmark-enable --benchmark-columns=min,median

Inputs float32, (B, H, L, D) = (8, 8, 512, 64), causal and not; 'fwd' is the forward alone,
'fwdbwd' the forward plus the backward of sum(out * g). Outputs are freshly allocated on every
call by all three (no out= reuse). The reference runs the non-causal forward only (it is ~10x
slower and materializes the (B, H, L, L) scores).
"""
import numpy as np
import pytest

import deepkern as dk
import deepkern.functional as F

SHAPE = (8, 8, 512, 64)


@pytest.fixture(scope="module")
def inputs():
    dk.set_num_threads(2)
    rng = np.random.default_rng(0)
    q, k, v, g = (rng.standard_normal(SHAPE).astype(np.float32) for _ in range(4))
    return q, k, v, g


def _torch():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(2)
    return torch


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_fwd_deepkern(benchmark, inputs, causal):
    q, k, v, _ = inputs
    benchmark(dk.ops.scaled_dot_product_attention, q, k, v, causal=causal)


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_fwd_torch(benchmark, inputs, causal):
    torch = _torch()
    q, k, v = (torch.from_numpy(x) for x in inputs[:3])
    with torch.no_grad():
        benchmark(torch.nn.functional.scaled_dot_product_attention, q, k, v, is_causal=causal)


def test_fwd_reference(benchmark, inputs):
    q, k, v, _ = inputs
    benchmark.pedantic(dk.reference.scaled_dot_product_attention, (q, k, v), rounds=2, iterations=1)


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_fwdbwd_deepkern(benchmark, inputs, causal):
    q, k, v, g = inputs

    def run():
        tq, tk, tv = (dk.Tensor(x, requires_grad=True) for x in (q, k, v))
        F.scaled_dot_product_attention(tq, tk, tv, causal=causal).backward(g)
    benchmark(run)


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_fwdbwd_torch(benchmark, inputs, causal):
    torch = _torch()
    q, k, v, g = (torch.from_numpy(x) for x in inputs)

    def run():
        tq, tk, tv = (x.clone().requires_grad_() for x in (q, k, v))
        torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=causal).backward(g)
    benchmark(run)
