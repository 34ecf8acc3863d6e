"""Box IoU and NMS cases of deepkern.bench.boxes under pytest-benchmark (see conftest.py)."""
FAMILY = "boxes"


def test_boxes(bench_case):
    bench_case()
