"""Training steps of the generative models (deepkern.bench.generative) under pytest-benchmark (see conftest.py)."""
FAMILY = "generative"


def test_generative(bench_case):
    bench_case()
