"""Distance cases of deepkern.bench.distance under pytest-benchmark (see conftest.py)."""
FAMILY = "distance"


def test_distance(bench_case):
    bench_case()
