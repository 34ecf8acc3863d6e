"""Pooling cases of deepkern.bench.pool under pytest-benchmark (see conftest.py)."""
FAMILY = "pool"


def test_pool(bench_case):
    bench_case()
