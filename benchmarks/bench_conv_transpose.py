"""conv_transpose2d cases of deepkern.bench.conv_transpose under pytest-benchmark (see conftest.py)."""
FAMILY = "conv_transpose"


def test_conv_transpose(bench_case):
    bench_case()
