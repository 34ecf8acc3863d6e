"""GEMM cases of deepkern.bench.gemm under pytest-benchmark (see conftest.py)."""
FAMILY = "gemm"


def test_gemm(bench_case):
    bench_case()
