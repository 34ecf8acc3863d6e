"""Softmax cases of deepkern.bench.softmax under pytest-benchmark (see conftest.py)."""
FAMILY = "softmax"


def test_softmax(bench_case):
    bench_case()
