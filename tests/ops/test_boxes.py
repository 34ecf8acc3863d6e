"""box_iou, nms, batched_nms against the NumPy reference (and torchvision when importable).

NMS returns indices, so it is compared exactly. Random boxes are drawn on a quarter-pixel grid
(coordinates k/4 below 64): every width, height, area, intersection and union is then exact in
float32, only the final division rounds, and every implementation agrees bit for bit whatever
the order of operations or FMA contraction — the comparison tests the algorithm, not rounding
luck at IoU == threshold. The threshold boundary itself is tested with planted boxes.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import deepkern as dk
from deepkern import ops, reference as ref
from tests.helpers import DEVICES, assert_matches_reference, to_host, xp_for

DTYPES = [np.float32, np.float64]


def random_boxes(rng, n, dtype, span=32, size=12, quant=4):
    """n boxes on a 1/quant grid inside [0, span + size); sizes 0..size (zero-area ones too)."""
    xy = rng.integers(0, span * quant, (n, 2)) / quant
    wh = rng.integers(0, size * quant, (n, 2)) / quant
    return np.concatenate([xy, xy + wh], axis=1).astype(dtype)


def random_scores(rng, n, dtype, ties):
    return (rng.integers(0, 6, n) if ties else rng.random(n)).astype(dtype)


def planted_pair(dtype, iou):
    """Two boxes with IoU(b0, b1) = iou (up to rounding): b1 is b0 stretched to the right."""
    x0, y0, x1, y1 = 10.0, 20.0, 30.0, 45.0
    d = (x1 - x0) * (1 - iou) / iou
    return np.array([[x0, y0, x1, y1], [x0, y0, x1 + d, y1]], dtype=dtype)


# ---- box_iou ------------------------------------------------------------------------------

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@given(n=st.integers(0, 12), m=st.integers(0, 12), seed=st.integers(0, 2**31 - 1),
       scale=st.sampled_from([1.0, 1e4]))
def test_box_iou_matches_reference(device, dtype, n, m, seed, scale):
    xp = xp_for(device)
    rng = np.random.default_rng(seed)
    a = (rng.standard_normal((n, 4)) * scale).astype(dtype)  # inverted boxes included
    b = np.concatenate([random_boxes(rng, m, dtype) * scale, a[:min(n, m)]])[:m].astype(dtype)
    out = ops.box_iou(xp.asarray(a), xp.asarray(b))
    assert out.shape == (n, m) and out.dtype == dtype
    assert_matches_reference(out, ref.box_iou, a, b)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_box_iou_degenerate_boxes_give_zero_never_nan(device, dtype):
    xp = xp_for(device)
    boxes = np.array([[0, 0, 0, 0], [1, 1, 1, 5], [2, 2, 5, 2], [3, 3, 1, 1], [0, 0, 4, 4]], dtype)
    iou = to_host(ops.box_iou(xp.asarray(boxes), xp.asarray(boxes)))
    assert np.all(np.isfinite(iou))
    np.testing.assert_array_equal(iou[:4], 0)  # zero-area / inverted boxes, even with themselves
    np.testing.assert_array_equal(iou[:, :4], 0)
    assert iou[4, 4] == 1


@pytest.mark.parametrize("device", DEVICES)
def test_box_iou_non_contiguous_and_out(device):
    xp = xp_for(device)
    rng = np.random.default_rng(3)
    wide = xp.asarray(np.concatenate([random_boxes(rng, 7, np.float64)] * 2, axis=1))  # (7, 8)
    view = wide[:, ::2]  # (7, 4) with column stride 2: (x1, x2, x1, x2) rows, boxes of any shape
    b = xp.asarray(random_boxes(rng, 5, np.float64))[::-1]
    out = xp.empty((7, 5))
    assert ops.box_iou(view, b, out=out) is out
    np.testing.assert_array_equal(to_host(out), ref.box_iou(to_host(view), to_host(b)))


# ---- nms / batched_nms --------------------------------------------------------------------

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@given(n=st.sampled_from([0, 1, 2, 5, 33, 64, 65, 130]), seed=st.integers(0, 2**31 - 1),
       thr=st.sampled_from([0.0, 0.2, 0.5, 0.7, 1.0]), ties=st.booleans(),
       score_threshold=st.sampled_from([None, 2.0]))
def test_nms_matches_reference(device, dtype, n, seed, thr, ties, score_threshold):
    xp = xp_for(device)
    rng = np.random.default_rng(seed)
    boxes, scores = random_boxes(rng, n, dtype), random_scores(rng, n, dtype, ties)
    keep = ops.nms(xp.asarray(boxes), xp.asarray(scores), thr, score_threshold=score_threshold)
    assert keep.dtype == np.int64
    np.testing.assert_array_equal(to_host(keep), ref.nms(boxes, scores, thr, score_threshold))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@given(n=st.sampled_from([0, 1, 7, 33, 100]), seed=st.integers(0, 2**31 - 1),
       thr=st.sampled_from([0.0, 0.5, 0.8]), ties=st.booleans(), n_classes=st.integers(1, 4),
       score_threshold=st.sampled_from([None, 3.0]))
def test_batched_nms_matches_reference(device, dtype, n, seed, thr, ties, n_classes, score_threshold):
    xp = xp_for(device)
    rng = np.random.default_rng(seed)
    boxes, scores = random_boxes(rng, n, dtype), random_scores(rng, n, dtype, ties)
    classes = rng.integers(0, n_classes, n) * 7 - 3  # any integers, negative ones too
    keep = ops.batched_nms(xp.asarray(boxes), xp.asarray(scores), xp.asarray(classes.astype(np.int32)), thr,
                           score_threshold=score_threshold)
    np.testing.assert_array_equal(to_host(keep), ref.batched_nms(boxes, scores, classes, thr, score_threshold))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("thr", [0.2, 0.5, 0.8])
def test_nms_threshold_boundary(device, dtype, thr):
    """torchvision's boundary test: a box planted at IoU = threshold + 1e-5 is suppressed, one
    at threshold - 1e-5 is not (suppression needs IoU strictly above the threshold)."""
    xp = xp_for(device)
    rng = np.random.default_rng(0)
    for delta, expect_both in [(1e-5, False), (-1e-5, True)]:
        pair = planted_pair(dtype, thr + delta)
        assert (to_host(ops.box_iou(xp.asarray(pair[:1]), xp.asarray(pair[1:])))[0, 0] > dtype(thr)) != expect_both
        boxes = np.concatenate([pair, random_boxes(rng, 31, dtype) + 100]).astype(dtype)  # N = 33
        scores = rng.random(33).astype(dtype)
        keep = to_host(ops.nms(xp.asarray(boxes), xp.asarray(scores), thr))
        assert (0 in keep and 1 in keep) == expect_both
        np.testing.assert_array_equal(keep, ref.nms(boxes, scores, thr))


@pytest.mark.parametrize("device", DEVICES)
def test_nms_identical_and_zero_area_boxes(device):
    xp = xp_for(device)
    same = np.tile(np.array([[1.0, 2.0, 5.0, 7.0]]), (9, 1))
    scores = np.random.default_rng(1).random(9)
    keep = to_host(ops.nms(xp.asarray(same), xp.asarray(scores), 0.5))
    np.testing.assert_array_equal(keep, [np.argmax(scores)])
    tied = to_host(ops.nms(xp.asarray(same), xp.asarray(np.ones(9)), 0.5))
    np.testing.assert_array_equal(tied, [0])  # equal scores: the lowest index wins
    flat = np.array([[0.0, 0, 0, 0], [0, 0, 0, 0], [1, 1, 1, 9], [2, 2, 8, 2]])
    keep = to_host(ops.nms(xp.asarray(flat), xp.asarray(np.array([1.0, 3, 2, 4])), 0.0))
    np.testing.assert_array_equal(keep, [3, 1, 2, 0])  # IoU 0 with everything: all kept, by score


@pytest.mark.parametrize("device", DEVICES)
def test_nms_many_boxes_mixed_sizes(device):
    """Enough boxes for the CPU grid to have many cells, with a few boxes spanning all of them
    and long thin ones, against the reference."""
    xp = xp_for(device)
    rng = np.random.default_rng(5)
    small = random_boxes(rng, 1500, np.float32, span=400, size=8)
    big = random_boxes(rng, 6, np.float32, span=50, size=400)
    thin = random_boxes(rng, 20, np.float32, span=400, size=2)
    thin[:, 2] += 300
    boxes = np.concatenate([small, big, thin])
    scores = rng.random(len(boxes)).astype(np.float32)
    for thr in (0.1, 0.5):
        keep = to_host(ops.nms(xp.asarray(boxes), xp.asarray(scores), thr))
        np.testing.assert_array_equal(keep, ref.nms(boxes, scores, thr))


@pytest.mark.parametrize("device", DEVICES)
def test_nms_non_contiguous(device):
    xp = xp_for(device)
    rng = np.random.default_rng(2)
    boxes = random_boxes(rng, 40, np.float64)
    scores = rng.random(80)
    wide = xp.asarray(np.concatenate([boxes, boxes], axis=0))[::2]  # (40, 4) with row stride 8
    keep = to_host(ops.nms(wide, xp.asarray(scores)[::2], 0.5))
    np.testing.assert_array_equal(keep, ref.nms(boxes[np.arange(80)[::2] % 40], scores[::2], 0.5))
    classes = xp.asarray(np.arange(80) % 3)[::2]
    keep = to_host(ops.batched_nms(wide, xp.asarray(scores)[::2], classes, 0.5))
    np.testing.assert_array_equal(keep, ref.batched_nms(to_host(wide), scores[::2], to_host(classes), 0.5))


def test_matches_torchvision():
    torch = pytest.importorskip("torch")
    tv_ops = pytest.importorskip("torchvision.ops")
    rng = np.random.default_rng(7)
    boxes = random_boxes(rng, 300, np.float32)
    scores = rng.random(300).astype(np.float32)
    classes = rng.integers(0, 4, 300)
    tb, ts, tc = torch.from_numpy(boxes), torch.from_numpy(scores), torch.from_numpy(classes)
    np.testing.assert_array_equal(ops.nms(boxes, scores, 0.5), tv_ops.nms(tb, ts, 0.5).numpy())
    np.testing.assert_array_equal(ops.batched_nms(boxes, scores, classes, 0.5),
                                  tv_ops.batched_nms(tb, ts, tc, 0.5).numpy())
    np.testing.assert_allclose(ops.box_iou(boxes, boxes), tv_ops.box_iou(tb, tb).numpy(), rtol=1e-6, atol=1e-7)


# ---- errors -------------------------------------------------------------------------------

def test_errors_name_argument_and_values():
    b = np.zeros((3, 4), np.float32)
    s = np.zeros(3, np.float32)
    with pytest.raises(ValueError, match=r"box_iou: a must have shape \(N, 4\) \(x1, y1, x2, y2\), got \(3, 5\)"):
        ops.box_iou(np.zeros((3, 5), np.float32), b)
    with pytest.raises(ValueError, match=r"box_iou: b must be 2-D \(N, 4\), got shape \(4,\)"):
        ops.box_iou(b, np.zeros(4, np.float32))
    with pytest.raises(TypeError, match=r"box_iou: b is float64 but a is float32"):
        ops.box_iou(b, np.zeros((2, 4)))
    with pytest.raises(TypeError, match=r"nms: boxes must be float32 or float64, got int64"):
        ops.nms(np.zeros((3, 4), np.int64), s, 0.5)
    with pytest.raises(ValueError, match=r"nms: boxes must have shape \(N, 4\) .*got \(3, 3\)"):
        ops.nms(np.zeros((3, 3), np.float32), s, 0.5)
    with pytest.raises(ValueError, match=r"nms: scores must have shape \(3,\) to match boxes \(3, 4\), got \(2,\)"):
        ops.nms(b, s[:2], 0.5)
    with pytest.raises(ValueError, match=r"nms: iou_threshold must be in \[0.0, 1.0\], got 1.5"):
        ops.nms(b, s, 1.5)
    with pytest.raises(ValueError, match=r"nms: iou_threshold must be in \[0.0, 1.0\], got -0.1"):
        ops.nms(b, s, -0.1)
    with pytest.raises(TypeError, match=r"nms: score_threshold must be a real number, got str"):
        ops.nms(b, s, 0.5, score_threshold="high")
    with pytest.raises(ValueError, match=r"nms: scores contain NaN"):
        ops.nms(b, np.array([0, np.nan, 1], np.float32), 0.5)
    with pytest.raises(ValueError, match=r"batched_nms: classes must have shape \(3,\) to match boxes \(3, 4\), "
                                         r"got \(4,\)"):
        ops.batched_nms(b, s, np.zeros(4, np.int64), 0.5)
    with pytest.raises(TypeError, match=r"batched_nms: classes must be an integer array, got float32"):
        ops.batched_nms(b, s, np.zeros(3, np.float32), 0.5)
    with pytest.raises(TypeError, match=r"batched_nms: classes must be an integer NumPy or CuPy array, got list"):
        ops.batched_nms(b, s, [0, 1, 2], 0.5)


def test_cpu_extension_checks_sizes_itself():
    """Direct calls into _cpu with inconsistent arrays raise instead of reading or writing out of
    bounds."""
    b = np.zeros((5, 4), np.float32)
    s = np.zeros(5, np.float32)
    keep = np.zeros(5, np.int64)
    with pytest.raises(ValueError, match=r"box_iou: out must have shape \(5, 3\), got \(5, 2\)"):
        dk._cpu.box_iou(b, b[:3], np.zeros((5, 2), np.float32))
    with pytest.raises(ValueError, match=r"nms: scores must have shape \(5,\), got \(4,\)"):
        dk._cpu.nms(b, s[:4], keep, 0.5)
    with pytest.raises(ValueError, match=r"nms: keep must have shape \(5,\), got \(3,\)"):
        dk._cpu.nms(b, s, keep[:3], 0.5)
    with pytest.raises(ValueError, match=r"nms: iou_threshold must be in \[0, 1\], got -1"):
        dk._cpu.nms(b, s, keep, -1.0)
    with pytest.raises(ValueError, match=r"batched_nms: classes must be int64, got int32"):
        dk._cpu.batched_nms(b, s, np.zeros(5, np.int32), keep, 0.5)
    with pytest.raises(ValueError, match=r"nms: boxes must have shape \(N, 4\), got \(5, 2\)"):
        dk._cpu.nms(np.zeros((5, 2), np.float32), s, keep, 0.5)
