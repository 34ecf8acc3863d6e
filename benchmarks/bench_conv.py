"""conv2d cases of deepkern.bench.conv under pytest-benchmark (see conftest.py)."""
FAMILY = "conv"


def test_conv(bench_case):
    bench_case()
