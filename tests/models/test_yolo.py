"""YOLO: anchors, target encoding, the loss (against a loop-by-loop NumPy version and finite
differences), decoding round trips, and a short training run that must learn."""
import numpy as np
import pytest

import deepkern as dk
from deepkern.models.yolo import decode, encode_targets, kmeans_anchors, wh_iou, yolo_loss
from tests.helpers import gradcheck


def test_wh_iou_centered_boxes():
    # (4, 2) vs (2, 4): overlap 2 x 2 = 4, union 8 + 8 - 4 = 12; identical sizes give 1.
    iou = wh_iou([[4, 2], [2, 4]], [[2, 4], [4, 2], [0, 0]])
    np.testing.assert_allclose(iou, [[4 / 12, 1, 0], [1, 4 / 12, 0]])


def test_kmeans_anchors_recovers_clusters():
    rng = np.random.default_rng(0)
    centers = np.array([[6.0, 6.0], [10.0, 22.0], [30.0, 14.0]])
    wh = np.concatenate([c * (1 + 0.05 * rng.standard_normal((50, 2))) for c in centers])
    anchors = kmeans_anchors(wh, 3, seed=1)
    assert anchors.shape == (3, 2) and anchors.dtype == np.float32
    means = np.array([wh[50 * i:50 * (i + 1)].mean(axis=0) for i in range(3)])  # sorted by area already
    np.testing.assert_allclose(anchors, means, rtol=1e-5)
    np.testing.assert_array_equal(kmeans_anchors(wh, 3, seed=1), anchors)  # seeded


def test_kmeans_anchors_errors():
    with pytest.raises(ValueError, match="kmeans_anchors: k=3 anchors need at least 3 distinct box sizes, got 2"):
        kmeans_anchors([[1, 2], [3, 4], [1, 2]], 3)
    with pytest.raises(ValueError, match="kmeans_anchors: k must be a positive int, got 0"):
        kmeans_anchors([[1, 2]], 0)
    with pytest.raises(ValueError, match="widths and heights must be > 0"):
        kmeans_anchors([[1, 2], [0, 4]], 1)


def test_encode_targets_hand_built():
    # 64 px image, 8 x 8 grid (stride 8); anchors 8x8 (square) and 16x32 (tall).
    anchors = np.array([[8.0, 8.0], [16.0, 32.0]])
    targets = [{"boxes": np.array([[10, 10, 18, 18], [30, 0, 46, 32]], np.float32), "labels": np.array([3, 7])},
               {"boxes": np.zeros((0, 4), np.float32), "labels": np.zeros(0, np.int64)}]
    obj, box, cls = encode_targets(targets, anchors, 8, 64)
    assert obj.shape == (2, 2, 8, 8) and box.shape == (2, 2, 4, 8, 8) and cls.shape == (2, 2, 8, 8)
    # first box: center (14, 14) -> cell row 1, col 1, offset (0.75, 0.75); square -> anchor 0
    # second box: center (38, 16) -> row 2, col 4, offset (0.75, 0.0); 16 x 32 -> anchor 1
    assert sorted(zip(*np.nonzero(obj))) == [(0, 0, 1, 1), (0, 1, 2, 4)]
    np.testing.assert_allclose(box[0, 0, :, 1, 1], [0.75, 0.75, 8, 8])
    np.testing.assert_allclose(box[0, 1, :, 2, 4], [0.75, 0.0, 16, 32])
    assert cls[0, 0, 1, 1] == 3 and cls[0, 1, 2, 4] == 7 and cls.sum() == 10


def _random_case(rng, B=2, K=2, C=3, S=3, image=24, dtype=np.float64):
    anchors = np.array([[5.0, 7.0], [12.0, 6.0]])[:K]
    targets = []
    for _ in range(B):
        xy = rng.uniform(0, image - 10, (2, 2))
        wh = rng.uniform(3, 10, (2, 2))
        targets.append({"boxes": np.concatenate([xy, xy + wh], 1), "labels": rng.integers(0, C, 2)})
    pred = rng.standard_normal((B, K * (5 + C), S, S)).astype(dtype)
    return pred, targets, anchors, image


def _loss_by_loops(pred, targets, anchors, image, lc=5.0, ln=0.5):
    """The module docstring's loss written cell by cell (an independent check of the vectorized one)."""
    B, _, S, _ = pred.shape
    K = len(anchors)
    C = pred.shape[1] // K - 5
    obj, box, cls = encode_targets(targets, anchors, S, image)
    sig = lambda v: 1 / (1 + np.exp(-v))
    total = 0.0
    for b in range(B):
        for k in range(K):
            for i in range(S):
                for j in range(S):
                    t = pred[b, k * (5 + C):(k + 1) * (5 + C), i, j]
                    pc = sig(t[0])
                    if not obj[b, k, i, j]:
                        total += ln * pc ** 2
                        continue
                    x, y, w, h = box[b, k, :, i, j]
                    sw = np.sqrt(anchors[k, 0] * np.exp(t[3]) / image)
                    sh = np.sqrt(anchors[k, 1] * np.exp(t[4]) / image)
                    total += lc * ((sig(t[1]) - x) ** 2 + (sig(t[2]) - y) ** 2
                                   + (sw - np.sqrt(w / image)) ** 2 + (sh - np.sqrt(h / image)) ** 2)
                    total += (pc - 1) ** 2
                    p = np.exp(t[5:]) / np.exp(t[5:]).sum()
                    total += np.sum((p - np.eye(C)[cls[b, k, i, j]]) ** 2)
    return total / B


def test_loss_matches_cell_by_cell_formula():
    pred, targets, anchors, image = _random_case(np.random.default_rng(0))
    loss = yolo_loss(dk.Tensor(pred), targets, anchors, image)
    np.testing.assert_allclose(float(loss.data), _loss_by_loops(pred, targets, anchors, image), rtol=1e-12)


def test_loss_gradcheck():
    pred, targets, anchors, image = _random_case(np.random.default_rng(1))
    gradcheck(lambda p: yolo_loss(p, targets, anchors, image), pred)


def _perfect_logits(targets, anchors, num_classes, S, image, big=30.0):
    """Raw outputs that decode exactly to ``targets`` (the inverse of the parametrization)."""
    obj, box, cls = encode_targets(targets, anchors, S, image)
    B, K = obj.shape[:2]
    P = np.zeros((B, K, 5 + num_classes, S, S))
    P[:, :, 0] = np.where(obj, big, -big)
    off = np.clip(box[:, :, 0:2], 1e-6, 1 - 1e-6)
    P[:, :, 1:3] = np.log(off / (1 - off))
    wh = np.where(obj[:, :, None], box[:, :, 2:4], anchors[None, :, :, None, None])
    P[:, :, 3:5] = np.log(wh / anchors[None, :, :, None, None])
    P[:, :, 5:] = np.where(np.arange(num_classes)[None, None, :, None, None] == cls[:, :, None], big, 0)
    return P.reshape(B, K * (5 + num_classes), S, S)


def test_encode_decode_round_trip():
    rng = np.random.default_rng(2)
    anchors = np.array([[6.0, 9.0], [14.0, 12.0]])
    targets = []
    for n in (3, 1, 0):
        xy = rng.uniform(0, 40, (n, 2))
        wh = rng.uniform(4, 20, (n, 2))
        targets.append({"boxes": np.concatenate([xy, xy + wh], 1).reshape(-1, 4),
                        "labels": rng.integers(0, 5, n)})
    dets = decode(_perfect_logits(targets, anchors, 5, 8, 64), anchors, 64, score_threshold=0.6,
                  iou_threshold=0.99)
    for d, t in zip(dets, targets):
        order = np.lexsort(t["boxes"].T[::-1])
        got = np.lexsort(d["boxes"].T[::-1])
        np.testing.assert_allclose(d["boxes"][got], t["boxes"][order], atol=1e-4)
        np.testing.assert_array_equal(d["labels"][got], t["labels"][order])
        assert np.all(d["scores"] > 0.99)


def test_decode_thresholds():
    anchors = np.array([[8.0, 8.0]])
    # two objects of class 1 with IoU 196 / 316 = 0.62 in cells (1, 1) and (2, 2), one of class 0
    targets = [{"boxes": np.array([[7, 7, 23, 23], [9, 9, 25, 25], [40, 40, 50, 50]], np.float64),
                "labels": np.array([1, 1, 0])}]
    P = _perfect_logits(targets, anchors, 2, 8, 64)
    P[0, 0, 2, 2] = 0.0  # second box (cell row 2, col 2): Pc = 0.5 < 0.6
    assert len(decode(P, anchors, 64)[0]["boxes"]) == 2
    assert len(decode(P, anchors, 64, score_threshold=0.4)[0]["boxes"]) == 2  # NMS drops the overlap
    assert len(decode(P, anchors, 64, score_threshold=0.4, iou_threshold=0.95)[0]["boxes"]) == 3


# ---- the model, training, checkpoints and the commands ----------------------------------------

def test_yolo_shapes_and_errors():
    from deepkern.models.yolo import YOLO
    model = YOLO(10, [[6.0, 9.0], [12.0, 12.0], [20.0, 14.0]], image_size=48, width=4, num_pools=2)
    assert model.grid_size == 12
    out = model(dk.Tensor(np.random.default_rng(0).random((2, 1, 48, 48)).astype(np.float32)))
    assert out.shape == (2, 3 * 15, 12, 12)
    assert "anchors" in model.state_dict()
    with pytest.raises(ValueError, match=r"YOLO: image_size 50 must be a multiple of 2\*\*num_pools = 8"):
        YOLO(10, [[4.0, 4.0]], image_size=50)
    with pytest.raises(ValueError, match=r"YOLO: anchors must be \(K, 2\) positive"):
        YOLO(10, [[4.0, 0.0]])


def test_train_task_learns_and_detect_draws(tmp_path, capsys):
    """A seconds-long seeded run of `deepkern train yolo`: the loss falls, detections on the
    training canvases match ground truth, the checkpoint reloads to the same outputs, and
    `deepkern detect` draws them."""
    from deepkern.cli import main
    from deepkern.data import SyntheticDigitDetection
    from deepkern.metrics import mean_average_precision
    from deepkern.models.yolo import load_yolo, save_yolo
    from deepkern.train.task import load_checkpoint
    from deepkern.train.tasks import yolo as task

    ck = tmp_path / "yolo.dk"
    assert main(["train", "yolo", "--train-images", "96", "--test-images", "24", "--image-size", "32", "--anchors",
                 "2", "--width", "8", "--epochs", "10", "--batch-size", "16", "--lr", "1e-2", "--quiet",
                 "--checkpoint", str(ck)]) == 0
    assert "held-out mAP@0.5 = " in capsys.readouterr().out
    ckpt = load_checkpoint(str(ck), ("yolo",))
    losses = ckpt["history"]["history.loss"]
    assert losses[-1] < 0.5 * losses[0]
    model, names = task.load_model(ckpt)
    train_set = SyntheticDigitDetection(96, image_size=32, digit_size=(7, 13), train=True, seed=0)
    x, targets = train_set.get_batch(np.arange(24))
    dets = model.detect(x, score_threshold=0.05)
    assert mean_average_precision(dets, targets, 10)[0] > 0.1

    save_yolo(model, tmp_path / "saved.dk", class_names=names)
    again, again_names = load_yolo(tmp_path / "saved.dk")
    assert again_names == names == list(train_set.classes)
    np.testing.assert_array_equal(again.detect(x, score_threshold=0.05)[3]["boxes"], dets[3]["boxes"])

    Image = pytest.importorskip("PIL.Image")
    Image.fromarray(train_set.images[3, 0]).resize((96, 96)).save(tmp_path / "in.png")
    for weights in (ck, tmp_path / "saved.dk"):  # a train checkpoint or a save_yolo file
        assert main(["detect", str(tmp_path / "in.png"), "--checkpoint", str(weights), "--out",
                     str(tmp_path / "out.png"), "--score-threshold", "0.05"]) == 0
        with Image.open(tmp_path / "out.png") as drawn:
            assert drawn.size == (576, 576)  # small inputs are enlarged (6x) so labels stay readable
        assert "detections drawn to" in capsys.readouterr().out
