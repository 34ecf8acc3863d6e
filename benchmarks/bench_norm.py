"""Norm cases of deepkern.bench.norm under pytest-benchmark (see conftest.py)."""
FAMILY = "norm"


def test_norm(bench_case):
    bench_case()
