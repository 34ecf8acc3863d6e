"""Optimizer-step cases of deepkern.bench.optim under pytest-benchmark (see conftest.py)."""
FAMILY = "optim"


def test_optim(bench_case):
    bench_case()
