"""Short seeded runs of the ``deepkern train`` tasks that assert learning: far above chance on
held-out data, from the command line (the framework's plumbing is tests/train/test_cli_tasks.py)."""
import re

import pytest

from deepkern import cli


def _accuracy(out):
    m = re.search(r"test accuracy (\d+\.\d+)%", out)
    assert m, out
    return float(m.group(1))


def test_lenet_task_learns_on_the_embedded_digits(tmp_path, capsys):
    ck = tmp_path / "lenet.dk"
    argv = ["train", "lenet", "--epochs", "2", "--train-samples", "2000", "--test-samples", "2000",
            "--seed", "0", "--quiet", "--checkpoint", str(ck)]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "LeNet: 61,706 parameters" in out and "2000 training, 2000 test images" in out
    first = _accuracy(out)
    assert first > 80.0          # chance is 10%
    # resuming a finished run trains no more epochs and reports the same model
    assert cli.main(["train", "lenet", "--resume", "--checkpoint", str(ck)]) == 0
    out = capsys.readouterr().out
    assert "resumed from epoch 2" in out and "trained 2 epochs" in out and _accuracy(out) == first


def test_mlp_task_with_validation_split_and_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "plots" / "curves.png"
    assert cli.main(["train", "mlp", "--epochs", "1", "--train-samples", "2000", "--test-samples", "2000",
                     "--val-split", "0.1", "--optimizer", "momentum", "--quiet", "--plot", str(png),
                     "--hidden", "64", "--checkpoint", str(tmp_path / "mlp.dk")]) == 0
    out = capsys.readouterr().out
    assert "MLP: 50,890 parameters" in out and "1800 training" in out
    assert _accuracy(out) > 70.0
    assert png.read_bytes()[:4] == b"\x89PNG"
