"""Elementwise-loss cases of deepkern.bench.loss under pytest-benchmark (see conftest.py)."""
FAMILY = "loss"


def test_loss(bench_case):
    bench_case()
