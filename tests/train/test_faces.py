"""``deepkern train faces`` and ``deepkern verify``: the task's own options and mistakes, the
verdicts of verify, and the report the task prints (the framework's tests, tiny run, resume
and common mistakes, are in test_cli_tasks.py)."""
import json
import re

import numpy as np
import pytest

from deepkern import cli
from tests.train.test_cli_tasks import TINY, assert_usage_error, run_cli


@pytest.fixture
def one_thread():
    import deepkern as dk
    n = dk.get_num_threads()
    dk.set_num_threads(1)
    yield
    dk.set_num_threads(n)


def _folder(tmp_path, sizes):
    from PIL import Image
    for person, size in enumerate(sizes):
        (tmp_path / "people" / f"p{person}").mkdir(parents=True)
        for k in range(2):
            Image.fromarray(np.full(size, 40 * person + k, np.uint8)).save(tmp_path / "people" / f"p{person}" / f"{k}.png")
    return tmp_path / "people"


def test_faces_mistakes_are_caught_before_training(tmp_path, capsys, monkeypatch):
    pytest.importorskip("PIL")
    base = ["train", "faces", *TINY["faces"](tmp_path), "--quiet", "--checkpoint", str(tmp_path / "f.dk")]
    mixed = _folder(tmp_path / "mixed", [(16, 16), (16, 16), (20, 16), (16, 16)])
    small = _folder(tmp_path / "small", [(12, 16)] * 4)
    for extra, flag, pattern in [
        (["--batch-size", "5"], "--batch-size", r"expected a multiple of --images-per-person \(2\) holding at least "
                                                r"two people, got 5"),
        (["--images-per-person", "1", "--batch-size", "4"], "--images-per-person", "expected at least 2"),
        (["--fold", "2"], "--fold", r"expected 0..1 \(8 people in groups of 3\), got 2"),
        (["--test-people", "7"], "--test-people", "7 of 8 people leaves too few to train on"),
        (["--batch-size", "12"], "--batch-size", "6 people per batch but only 3 train"),
        (["--val-people", "1"], "--val-people", r"expected at least 2 \(a threshold needs pairs of different "
                                                r"people\) and at most 3 \(two people must train\), got 1"),
        (["--val-people", "4"], "--val-people", "at most 3 .*got 4"),
        (["--data-dir", str(mixed)], "--data-dir", r"images must all have one size, but .*p0/0.png is 16x16 and "
                                                   r".*p2/0.png is 20x16 \(height x width\); resize them first"),
        (["--data-dir", str(small), "--test-people", "1", "--batch-size", "4"], "--data-dir",
         r"the images are 12x16: the network needs at least 16x16"),
        (["--loss", "siamese"], "--loss", "invalid choice: 'siamese'"),
        (["--mining", "easy"], "--mining", "invalid choice: 'easy'"),
    ]:
        assert_usage_error(*run_cli(capsys, base + extra), "faces", flag, pattern)
    monkeypatch.setitem(__import__("sys").modules, "sklearn", None)
    assert_usage_error(*run_cli(capsys, base + ["--baseline"]), "faces", "--baseline",
                       r"needs scikit-learn, which is not installed: pip install scikit-learn \(or pip install "
                       r"'deepkern\[faces\]'\)")


def _assert_threshold_from_people_not_trained_on(ck, results, tmp_path):
    """The three groups of people are disjoint, and the checkpoint's threshold is the best one on
    the validation people's pairs, recomputed from the saved model."""
    from deepkern.train.task import load_checkpoint
    from deepkern.data import load_faces
    from deepkern.metrics.verification import best_threshold, verification_pairs
    from deepkern.train.faces import embed, pair_distances
    from deepkern.train.tasks.faces import load_model

    people = {part: set(names) for part, names in results["people"].items()}
    assert [len(people[p]) for p in ("train", "validation", "test")] == [3, 2, 3]
    assert not (people["train"] & people["validation"] or people["train"] & people["test"]
                or people["validation"] & people["test"])
    model, info = load_model(load_checkpoint(str(ck), ("faces",)))
    faces = load_faces(TINY["faces"](tmp_path)[1])
    val = faces.subset([faces.names.index(name) for name in people["validation"]])
    e = embed(model, val.images, flip=info["flip"])
    threshold = best_threshold(*verification_pairs(pair_distances(model, e, e), val.labels))
    assert info["threshold"] == pytest.approx(threshold, rel=1e-6, abs=1e-9)
    assert info["threshold"] == pytest.approx(results["model"]["threshold"], rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("loss", ["triplet", "contrastive", "binary"])
def test_train_report_and_verify(loss, tmp_path, capsys, one_thread):
    Image = pytest.importorskip("PIL.Image")
    pytest.importorskip("matplotlib")
    ck = tmp_path / "f.dk"
    out_dir = tmp_path / "out"
    extra = ["--mining", "random"] if loss == "triplet" else []
    rc, out, err = run_cli(capsys, ["train", "faces", *TINY["faces"](tmp_path), "--loss", loss, *extra,
                                    "--epochs", "2", "--checkpoint", str(ck), "--out", str(out_dir)])
    assert rc == 0, err
    assert re.search(r"unseen people \(3, fold 0\): verification ROC AUC [0-9.]+, accuracy [0-9.]+ at .* <= "
                     r"-?[0-9.]+ \(threshold chosen on the 2 validation people, not trained on\); one-shot 3-way "
                     r"identification [0-9.]+", out), out
    assert "epoch 2/2: loss" in out and "val_one_shot" in out and ("active" in out) == (loss == "triplet")
    results = json.loads((out_dir / "results.json").read_text())
    assert set(results["model"]) >= {"auc", "accuracy", "one_shot", "threshold"}
    assert len(results["history"]["val_auc"]) == 2
    _assert_threshold_from_people_not_trained_on(ck, results, tmp_path)
    for png in ("roc.png", "projection.png"):
        with Image.open(out_dir / png) as img:
            assert img.size[0] > 300

    faces = np.load(TINY["faces"](tmp_path)[1] + "/tiny.npz")["images"]
    Image.fromarray(faces[0]).save(tmp_path / "a.png")
    Image.fromarray(faces[0]).resize((24, 28)).save(tmp_path / "big.png")  # resized back to 16x16
    rc, out, err = run_cli(capsys, ["verify", str(tmp_path / "a.png"), str(tmp_path / "a.png"), "--checkpoint",
                                    str(ck), "--threshold", "1e9"])
    assert rc == 0, err
    what = "-logit" if loss == "binary" else "distance"
    m = re.fullmatch(rf"{what} (-?[0-9.]+)(, P\(same\) [0-9.]+)? \(threshold 1000000000.0000\): same person\n", out)
    assert m, out
    if loss != "binary":
        assert float(m.group(1)) == 0.0  # one image against itself
    rc, out, err = run_cli(capsys, ["verify", str(tmp_path / "a.png"), str(tmp_path / "big.png"), "--checkpoint",
                                    str(ck), "--threshold=-1e9"])
    assert rc == 0, err
    assert "big.png: resized from 28x24 to the training size 16x16" in out and out.endswith("different people\n")


def test_verify_mistakes(tmp_path, capsys, one_thread, monkeypatch):
    Image = pytest.importorskip("PIL.Image")
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(tmp_path / "a.png")
    (tmp_path / "notes.txt").write_text("not an image")
    ck = tmp_path / "f.dk"
    from deepkern.train import tasks
    cls = tasks.load("faces")
    original = cls.train_epoch

    def interrupted(self, epoch):
        if epoch == 1:
            raise KeyboardInterrupt
        return original(self, epoch)
    monkeypatch.setattr(cls, "train_epoch", interrupted)
    assert cli.main(["train", "faces", *TINY["faces"](tmp_path), "--epochs", "2", "--quiet", "--checkpoint",
                     str(ck)]) == 130
    capsys.readouterr()
    a = str(tmp_path / "a.png")
    for argv, flag, pattern in [
        ([a, a, "--checkpoint", str(ck)], "--checkpoint", "has no threshold yet .*give --threshold"),
        ([a, str(tmp_path / "b.png"), "--checkpoint", str(ck)], "IMG_B", "b.png: not found"),
        ([a, str(tmp_path / "notes.txt"), "--checkpoint", str(ck), "--threshold", "1"], "IMG_B", "cannot read"),
        ([a, a, "--checkpoint", a], "--checkpoint", "not a deepkern checkpoint"),
    ]:
        rc, out, err = run_cli(capsys, ["verify", *argv])
        assert rc == 2 and err.startswith(f"deepkern verify: {flag}: ") and re.search(pattern, err), err
