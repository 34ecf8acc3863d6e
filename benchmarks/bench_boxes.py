"""Box IoU and NMS: deepkern vs the NumPy reference vs torchvision.ops (when importable), same
inputs, 2 threads. Outputs are fresh arrays (no out=).

    python -m pytest benchmarks/bench_boxes.py --benchmark-enable --benchmark-columns=min,median,rounds

Random boxes: corners uniform in a 1000 x 1000 canvas, sides uniform in [4, 64) pixels, scores
uniform; NMS at IoU 0.5. The NumPy reference NMS is a Python loop (seconds at 20,000 boxes):
one round only.
"""
import numpy as np
import pytest

import deepkern as dk
from deepkern import ops, reference as ref


def random_boxes(n, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    xy = rng.random((n, 2)) * 1000
    wh = 4 + rng.random((n, 2)) * 60
    return np.concatenate([xy, xy + wh], 1).astype(dtype), rng.random(n).astype(dtype)


@pytest.fixture(autouse=True)
def two_threads():
    dk.set_num_threads(2)
    try:
        import torch
        torch.set_num_threads(2)
    except ImportError:
        pass


def _torchvision():
    return pytest.importorskip("torchvision.ops"), pytest.importorskip("torch")


@pytest.mark.parametrize("impl", ["deepkern", "reference", "torchvision"])
def test_box_iou_2000x2000(benchmark, impl):
    boxes, _ = random_boxes(2000)
    benchmark.group = "box_iou 2000x2000 float32"
    if impl == "deepkern":
        benchmark(ops.box_iou, boxes, boxes)
    elif impl == "reference":
        benchmark(ref.box_iou, boxes, boxes)
    else:
        tv, torch = _torchvision()
        t = torch.from_numpy(boxes)
        benchmark(tv.box_iou, t, t)


@pytest.mark.parametrize("n", [5000, 20000])
@pytest.mark.parametrize("impl", ["deepkern", "reference", "torchvision"])
def test_nms(benchmark, impl, n):
    boxes, scores = random_boxes(n)
    benchmark.group = f"nms {n} boxes float32 iou 0.5"
    if impl == "deepkern":
        benchmark(ops.nms, boxes, scores, 0.5)
    elif impl == "reference":
        benchmark.pedantic(ref.nms, (boxes, scores, 0.5), rounds=1, iterations=1)
    else:
        tv, torch = _torchvision()
        benchmark(tv.nms, torch.from_numpy(boxes), torch.from_numpy(scores), 0.5)


@pytest.mark.parametrize("impl", ["deepkern", "torchvision"])
def test_batched_nms_20000_80_classes(benchmark, impl):
    boxes, scores = random_boxes(20000)
    classes = np.random.default_rng(1).integers(0, 80, 20000)
    benchmark.group = "batched_nms 20000 boxes 80 classes"
    if impl == "deepkern":
        benchmark(ops.batched_nms, boxes, scores, classes, 0.5)
    else:
        tv, torch = _torchvision()
        benchmark(tv.batched_nms, torch.from_numpy(boxes), torch.from_numpy(scores), torch.from_numpy(classes), 0.5)
