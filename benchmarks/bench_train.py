"""Training-step cases of deepkern.bench.train under pytest-benchmark (see conftest.py)."""
FAMILY = "train"


def test_train(bench_case):
    bench_case()
