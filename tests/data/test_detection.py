"""Detection data and metrics: mAP@0.5 on hand-computed cases, VOC XML reading, the raccoon
demo loader (when its data and Pillow are present)."""
from pathlib import Path

import numpy as np
import pytest

from deepkern.data import DataLoader, SyntheticDigitDetection
from deepkern.data.voc import load_raccoon, load_voc_annotations, parse_voc_xml
from deepkern.metrics import average_precision, mean_average_precision

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
RACCOON = SHARED / "raccoon_small"


def test_synthetic_digits_seeded_and_boxed_by_ink():
    ds = SyntheticDigitDetection(30, image_size=48, max_digits=3, digit_size=(10, 20), clutter=False, seed=3)
    again = SyntheticDigitDetection(30, image_size=48, max_digits=3, digit_size=(10, 20), clutter=False, seed=3)
    other = SyntheticDigitDetection(30, image_size=48, max_digits=3, digit_size=(10, 20), clutter=False, seed=4)
    np.testing.assert_array_equal(ds.images, again.images)
    assert not np.array_equal(ds.images, other.images)
    assert ds.images.shape == (30, 1, 48, 48) and len(ds) == 30
    counts = [len(t["labels"]) for t in ds.targets]
    assert 1 <= min(counts) and max(counts) <= 3 and len(set(counts)) > 1
    for img, t in zip(ds.images[:, 0], ds.targets):
        assert t["boxes"].dtype == np.float32 and t["labels"].dtype == np.int64
        assert np.all((t["labels"] >= 0) & (t["labels"] <= 9))
        covered = np.zeros(img.shape, bool)
        for x1, y1, x2, y2 in t["boxes"].astype(int):
            assert 0 <= x1 < x2 <= 48 and 0 <= y1 < y2 <= 48 and 10 <= y2 - y1 <= 20
            inside = img[y1:y2, x1:x2] > 0
            # tight: ink on each of the box's four borders
            assert inside[0].any() and inside[-1].any() and inside[:, 0].any() and inside[:, -1].any()
            covered[y1:y2, x1:x2] = True
        assert not np.any((img > 0) & ~covered)  # without clutter, all ink belongs to a digit


def test_synthetic_digits_sample_batch_and_clutter():
    ds = SyntheticDigitDetection(8, seed=0)
    x, t = ds[2]
    assert x.shape == (1, 64, 64) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert set(t) == {"boxes", "labels"}
    assert np.count_nonzero(ds.images) > np.count_nonzero(SyntheticDigitDetection(8, seed=0, clutter=False).images)
    xb, tb = next(iter(DataLoader(ds, batch_size=4)))
    assert xb.shape == (4, 1, 64, 64) and len(tb) == 4
    np.testing.assert_array_equal(tb[2]["boxes"], t["boxes"])
    with pytest.raises(ValueError, match=r"digit_size \(30, 20\) must be 4 <= min <= max"):
        SyntheticDigitDetection(2, digit_size=(30, 20))


@pytest.mark.skipif(not (SHARED / "mnist").is_dir(), reason="../shared/data/mnist is not present")
def test_synthetic_digits_from_mnist_files():
    ds = SyntheticDigitDetection(5, root=SHARED / "mnist", train=False, seed=1)
    assert len(ds) == 5 and all(len(t["boxes"]) for t in ds.targets)


def _gt(boxes, labels, difficult=None):
    g = {"boxes": np.array(boxes, np.float32).reshape(-1, 4), "labels": np.array(labels, np.int64)}
    if difficult is not None:
        g["difficult"] = np.array(difficult, bool)
    return g


def _det(boxes, scores, labels):
    return {"boxes": np.array(boxes, np.float32).reshape(-1, 4), "scores": np.array(scores, np.float32),
            "labels": np.array(labels, np.int64)}


def test_average_precision_all_point():
    # recall 0.5 at precision 1, then recall 1 at precision 0.5: 0.5 * 1 + 0.5 * 0.5
    assert average_precision([0.5, 1.0], [1.0, 0.5]) == pytest.approx(0.75)
    # a dip is filled by the later, higher precision: p(r) = max over r' >= r
    assert average_precision([0.25, 0.25, 0.5], [1.0, 0.5, 2 / 3]) == pytest.approx(0.25 + 0.25 * 2 / 3)


def test_map_hand_computed():
    # class 0: 3 objects; detections by score: TP, FP (nothing there), TP, FP (duplicate of the
    # first object); recall 1/3, 1/3, 2/3, 2/3 at precision 1, 1/2, 2/3, 1/2; all-point AP =
    # 1/3 * 1 + 1/3 * 2/3 = 5/9. Class 1: one object found first: AP 1. Class 2 has no ground
    # truth: left out. mAP = (5/9 + 1) / 2 = 7/9.
    gt = [_gt([[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50], [60, 0, 70, 10]], [0, 0, 0, 1])]
    det = [_det([[0, 0, 10, 10], [80, 80, 90, 90], [21, 21, 30, 30], [1, 0, 10, 10], [60, 0, 70, 10],
                 [0, 0, 5, 5]],
                [0.9, 0.8, 0.7, 0.6, 0.95, 0.5], [0, 0, 0, 0, 1, 2])]
    m, ap = mean_average_precision(det, gt, num_classes=3)
    assert ap == pytest.approx({0: 5 / 9, 1: 1.0})
    assert m == pytest.approx(7 / 9)


def test_map_iou_boundary_classes_and_difficult():
    gt = [_gt([[0, 0, 10, 10]], [0]), _gt([[0, 0, 10, 10], [50, 50, 60, 60]], [0, 0], difficult=[False, True])]
    # IoU exactly 0.5 (100 / 200) is a match; a right box with the wrong class is not; a
    # detection on a difficult object is ignored (neither TP nor FP).
    det = [_det([[0, 0, 10, 20], [0, 0, 10, 10]], [0.9, 0.8], [0, 1]),
           _det([[50, 50, 60, 60], [0, 0, 10, 10]], [0.99, 0.7], [0, 0])]
    m, ap = mean_average_precision(det, gt, num_classes=2)
    assert ap == {0: pytest.approx(1.0)}
    # IoU just below 0.5: a FP, then a TP; the first object is never found: recall 1/2 reached
    # at precision 1/2, AP = 1/2 * 1/2
    det[0]["boxes"][0] = [0, 0, 10, 20.5]
    assert mean_average_precision(det, gt, num_classes=2)[1][0] == pytest.approx(0.25)
    with pytest.raises(ValueError, match="2 images of detections but 1 of ground truth"):
        mean_average_precision(det, gt[:1], num_classes=2)


VOC_XML = """<annotation>
  <folder>VOC2007</folder><filename>{name}.jpg</filename>
  <size><width>353</width><height>500</height><depth>3</depth></size>
  {objects}
</annotation>"""
VOC_OBJ = """<object><name>{cls}</name><pose>Left</pose><truncated>0</truncated>
  <difficult>{diff}</difficult>
  <bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin><xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>"""


def _write_voc(path, name, objects):
    objs = "".join(VOC_OBJ.format(cls=c, diff=int(d), b=b) for c, b, d in objects)
    (path / f"{name}.xml").write_text(VOC_XML.format(name=name, objects=objs))


def test_voc_xml_directory(tmp_path):
    rng = np.random.default_rng(0)
    truth = {}
    for name in ("000005", "000001"):
        objs = [(str(rng.choice(["dog", "person", "chair"])), [int(v) for v in np.sort(rng.integers(1, 300, 4))],
                 bool(rng.random() < 0.3)) for _ in range(int(rng.integers(1, 4)))]
        objs = [(c, [b[0], b[1], b[2], b[3]], d) for c, b, d in objs]
        _write_voc(tmp_path, name, objs)
        truth[name] = objs
    (tmp_path / "notes.txt").write_text("not an annotation")
    anns, classes = load_voc_annotations(tmp_path)
    assert classes == sorted({c for objs in truth.values() for c, _, _ in objs})
    assert [a["filename"] for a in anns] == ["000001.jpg", "000005.jpg"]
    for a in anns:
        objs = truth[a["filename"][:-4]]
        assert (a["width"], a["height"]) == (353, 500)
        np.testing.assert_array_equal(a["boxes"], np.array([b for _, b, _ in objs], np.float32))
        assert a["names"] == [c for c, _, _ in objs]
        np.testing.assert_array_equal(a["labels"], [classes.index(c) for c, _, _ in objs])
        np.testing.assert_array_equal(a["difficult"], [d for _, _, d in objs])


def test_voc_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no \\*.xml files"):
        load_voc_annotations(tmp_path)
    _write_voc(tmp_path, "a", [("cat", [5, 5, 2, 9], False)])
    with pytest.raises(ValueError, match=r"box \[5.0, 5.0, 2.0, 9.0\] has xmax < xmin"):
        parse_voc_xml(tmp_path / "a.xml")
    _write_voc(tmp_path, "a", [("cat", [1, 1, 2, 9], False)])
    with pytest.raises(ValueError, match=r"class names \['cat'\] are not in classes=\['dog'\]"):
        load_voc_annotations(tmp_path, classes=["dog"])
    (tmp_path / "b.xml").write_text("<root/>")
    with pytest.raises(ValueError, match="has root <root>, expected <annotation>"):
        parse_voc_xml(tmp_path / "b.xml")


@pytest.mark.skipif(not RACCOON.is_dir(), reason="../shared/data/raccoon_small is not present")
def test_raccoon_loader():
    pytest.importorskip("PIL")
    images, targets = load_raccoon(RACCOON, split="test")
    assert len(images) == 40 and sum(len(t["boxes"]) for t in targets) == 44  # SOURCES.md's split
    for img, t in zip(images, targets):
        assert img.ndim == 3 and img.shape[2] == 3 and max(img.shape[:2]) == 224
        b = t["boxes"]
        assert np.all(b[:, 2] > b[:, 0]) and np.all(b[:, 3] > b[:, 1])
        assert np.all(b[:, 2] <= img.shape[1] + 1) and np.all(b[:, 3] <= img.shape[0] + 1)
