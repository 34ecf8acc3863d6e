"""Embedding cases of deepkern.bench.embedding under pytest-benchmark (see conftest.py)."""
FAMILY = "embedding"


def test_embedding(bench_case):
    bench_case()
