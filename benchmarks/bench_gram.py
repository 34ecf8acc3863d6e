"""Gram matrix cases of deepkern.bench.gram under pytest-benchmark (see conftest.py)."""
FAMILY = "gram"


def test_gram(bench_case):
    bench_case()
