"""Attention cases of deepkern.bench.attention under pytest-benchmark (see conftest.py)."""
FAMILY = "attention"


def test_attention(bench_case):
    bench_case()
