"""Metric-loss cases of deepkern.bench.metric_loss under pytest-benchmark (see conftest.py)."""
FAMILY = "metric_loss"


def test_metric_loss(bench_case):
    bench_case()
