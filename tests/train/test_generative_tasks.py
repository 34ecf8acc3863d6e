"""The autoencoder, rbm, vae and gan tasks beyond what every task gets (tests/train/test_cli_tasks.py):
their pictures, the stacked autoencoder's phases across an interruption, a GAN judged by a LeNet
checkpoint, and their own mistakes."""
import builtins
import sys

import pytest

import deepkern as dk
from deepkern import cli
from deepkern.train import tasks
from tests.train.test_cli_tasks import TINY, _assert_same, assert_usage_error, run_cli


@pytest.fixture(autouse=True)
def one_thread():
    n = dk.get_num_threads()
    dk.set_num_threads(1)
    yield
    dk.set_num_threads(n)


def _pngs(path):
    return sorted(p.name for p in path.iterdir() if p.suffix == ".png")


@pytest.mark.parametrize("task, extra, pictures", [
    ("autoencoder", ["--kind", "denoising", "--sizes", "784", "32", "8"],
     ["filters.png", "max_activating.png", "reconstructions.png"]),
    ("autoencoder", ["--arch", "conv", "--sizes", "8"], ["max_activating.png", "reconstructions.png"]),
    ("rbm", ["--gibbs-steps", "5"], ["filters.png", "max_activating.png", "reconstructions.png", "samples.png"]),
    ("vae", [], ["interpolation.png", "manifold.png", "reconstructions.png", "samples.png"]),
    ("gan", [], ["interpolation.png", "samples.png", "samples_epoch_01.png"]),
])
def test_pictures(task, extra, pictures, tmp_path, capsys):
    pytest.importorskip("PIL.Image")
    tiny = TINY[task](tmp_path)
    if "--sizes" in extra:            # the test's own sizes replace the tiny run's
        tiny = [a for a in tiny if a not in ("--sizes", "784", "16")]
    out = tmp_path / "pics"
    rc, stdout, err = run_cli(capsys, ["train", task, *tiny, *extra, "--epochs", "1", "--quiet", "--out", str(out),
                                       "--checkpoint", str(tmp_path / "c.dk")])
    assert rc == 0, err
    assert _pngs(out) == pictures
    assert "pictures: " in stdout


def test_autoencoder_reports_reconstruction_and_probe(tmp_path, capsys):
    rc, out, err = run_cli(capsys, ["train", "autoencoder", *TINY["autoencoder"](tmp_path), "--epochs", "1",
                                    "--quiet", "--checkpoint", str(tmp_path / "a.dk")])
    assert rc == 0, err
    assert "test reconstruction: cross-entropy " in out and " per image, MSE " in out
    acc = float(out.split("linear probe on the 16-d codes: test accuracy ")[1].split("%")[0])
    assert 0 <= acc <= 100 and "(on the raw pixels: " in out


def test_stacked_autoencoder_resumes_inside_pre_training(tmp_path, capsys, monkeypatch):
    """Epochs 1-2 pre-train two levels, epoch 3 fine-tunes; a run interrupted after epoch 1 (one
    level done) ends exactly where the uninterrupted one does."""
    args = ["train", "autoencoder", "--kind", "stacked", "--sizes", "784", "16", "8", "--pretrain-epochs", "1",
            "--epochs", "1", "--train-samples", "128", "--test-samples", "64", "--probe-epochs", "1", "--quiet"]
    full, part = tmp_path / "full.dk", tmp_path / "part.dk"
    rc, out_full, err = run_cli(capsys, args + ["--checkpoint", str(full)])
    assert rc == 0, err
    assert "unrolled stack before fine-tuning: test cross-entropy" in out_full
    cls = tasks.load("autoencoder")
    original = cls.train_epoch

    def interrupted(self, epoch):
        if epoch == 1:
            raise KeyboardInterrupt
        return original(self, epoch)
    monkeypatch.setattr(cls, "train_epoch", interrupted)
    rc, out, err = run_cli(capsys, args + ["--checkpoint", str(part)])
    assert rc == 130 and "interrupted in epoch 2/3" in err
    assert sorted(dk.load(part)["state"]["layers"]) == ["0.hidden_bias", "0.visible_bias", "0.weight"]
    monkeypatch.setattr(cls, "train_epoch", original)
    rc, out, err = run_cli(capsys, ["train", "autoencoder", "--resume", "--checkpoint", str(part), "--quiet"])
    assert rc == 0, err
    a, b = dk.load(full), dk.load(part)
    assert a["done"] == b["done"] == 3
    _assert_same(a["state"], b["state"])
    _assert_same(a["history"], b["history"], "history")
    assert [line for line in out.splitlines() if not line.startswith("resumed")] == out_full.splitlines()


def test_gan_judged_by_a_lenet_checkpoint(tmp_path, capsys):
    lenet = tmp_path / "lenet.dk"
    assert cli.main(["train", "lenet", *TINY["lenet"](tmp_path), "--epochs", "1", "--quiet",
                     "--checkpoint", str(lenet)]) == 0
    capsys.readouterr()
    base = ["train", "gan", *TINY["gan"](tmp_path), "--epochs", "1", "--checkpoint", str(tmp_path / "g.dk")]
    rc, out, err = run_cli(capsys, base + ["--classifier", str(lenet)])
    assert rc == 0, err
    assert "classifier score" in out and "Fréchet distance" in out
    assert "classifier epoch" not in out + err            # the checkpoint's LeNet, none trained here
    assert "classifier" not in dk.load(tmp_path / "g.dk")["state"]   # not copied into the GAN's checkpoint
    rc, out, err = run_cli(capsys, base + ["--classifier", str(lenet), "--data", "fashion-mnist", "--data-dir",
                                           str(tmp_path)])
    assert_usage_error(rc, out, err, "gan", "--classifier", "judges MNIST images, but --data fashion-mnist is "
                                                            "Fashion-MNIST")
    # a finished run resumed with another judge is judged again, without training
    own = tmp_path / "own.dk"
    assert run_cli(capsys, base[:-1] + [str(own), "--quiet"])[0] == 0
    rc, out, err = run_cli(capsys, ["train", "gan", "--resume", "--checkpoint", str(own), "--classifier", str(lenet)])
    assert rc == 0 and "resumed from epoch 1" in out and "epoch 1/1" not in out and "classifier score" in out, err
    vae = tmp_path / "vae.dk"
    assert cli.main(["train", "vae", *TINY["vae"](tmp_path), "--epochs", "1", "--quiet", "--checkpoint",
                     str(vae)]) == 0
    capsys.readouterr()
    rc, out, err = run_cli(capsys, base + ["--classifier", str(vae)])
    assert_usage_error(rc, out, err, "gan", "--classifier", "written by 'deepkern train vae', not 'deepkern train "
                                                            "lenet'")


@pytest.mark.parametrize("task, extra, flag, pattern", [
    ("autoencoder", ["--kind", "tied", "--arch", "conv"], "--arch", "conv is available for --kind plain, sparse"),
    ("autoencoder", ["--sizes", "100", "10"], "--sizes", "must start with the 784 pixels"),
    ("autoencoder", ["--kind", "contractive", "--sizes", "784", "64", "16"], "--sizes",
     "closed form needs one encoder layer"),
    ("autoencoder", ["--kind", "sparse", "--activation", "relu"], "--activation", "needs sigmoid units, got relu"),
    ("autoencoder", ["--kind", "sparse", "--sparsity-target", "2"], "--sparsity-target",
     r"expected a number in \(0, 1\), got 2"),
    ("autoencoder", ["--kind", "denoising", "--noise-level", "1.5"], "--noise-level", "must be below 1"),
    ("autoencoder", ["--pretrain-epochs", "0"], "--pretrain-epochs", "expected an integer >= 1"),
    ("rbm", ["--batch-size", "1000"], "--batch-size", "1000 is more than the 128 training images"),
    ("rbm", ["--cd-k", "0"], "--cd-k", "expected an integer >= 1"),
    ("vae", ["--grid", "500"], "--grid", "expected at most 100"),
    ("vae", ["--data-dir", "."], "--data-dir", "only used with --data mnist or fashion-mnist"),
    ("gan", ["--label-smoothing", "0.6"], "--label-smoothing", "expected a value below 0.5, got 0.6"),
    ("gan", ["--eval-samples", "5"], "--eval-samples", "expected at least 20"),
    ("gan", ["--loss", "wasserstein"], "--loss", "invalid choice: 'wasserstein'"),
    ("gan", ["--data", "mnist", "--data-dir", "."], "--data-dir", "not found.*add --download"),
])
def test_task_mistakes(task, extra, flag, pattern, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc, out, err = run_cli(capsys, ["train", task, *TINY[task](tmp_path), *extra, "--quiet",
                                    "--checkpoint", str(tmp_path / "c.dk")])
    assert_usage_error(rc, out, err, task, flag, pattern)


def test_out_needs_a_png_writer_and_a_directory(tmp_path, capsys, monkeypatch):
    base = ["train", "vae", *TINY["vae"](tmp_path), "--quiet", "--checkpoint", str(tmp_path / "c.dk")]
    afile = tmp_path / "afile"
    afile.write_text("")
    assert_usage_error(*run_cli(capsys, base + ["--out", str(afile)]), "vae", "--out", "is a file")
    real_import = builtins.__import__

    def no_images(name, *args, **kwargs):
        if name.split(".")[0] in ("PIL", "matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_images)
    monkeypatch.delitem(sys.modules, "PIL", raising=False)
    assert_usage_error(*run_cli(capsys, base + ["--out", str(tmp_path / "pics")]), "vae", "--out",
                       r"needs Pillow or matplotlib, neither is installed: pip install pillow")
