"""Every ``deepkern train TASK`` through the one framework (deepkern.train.task): its --help, a
tiny training run, a run interrupted by Ctrl-C and resumed (which must end exactly where the
uninterrupted run ends), and each user mistake: exit code 2, one line on stderr naming the
flag, no traceback, nothing trained.

A new task adds its tiny arguments to TINY (the test below fails until it does)."""
import gzip
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import deepkern as dk
from deepkern import cli
from deepkern.train import tasks
from deepkern.train.task import CHECKPOINT_FORMAT


def _corpus(tmp_path):
    """A toy parallel corpus in the Multi30k layout: the target is the source word by word
    through a dictionary, first two words swapped."""
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(12)]
    for split, n in (("train", 300), ("test_2016_flickr", 20)):
        pairs = []
        for _ in range(n):
            s = list(rng.choice(words, rng.integers(3, 6)))
            t = [w.replace("w", "v") for w in s]
            t[0], t[1] = t[1], t[0]
            pairs.append((" ".join(s), " ".join(t)))
        for lang, col in (("en", 0), ("de", 1)):
            with gzip.open(tmp_path / f"{split}.{lang}.gz", "wt", encoding="utf-8") as f:
                f.write("\n".join(p[col] for p in pairs) + "\n")
    return tmp_path


def _text(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("to be or not to be, that is the question.\n" * 40, encoding="utf-8")
    return path


def _faces(tmp_path):
    """8 people x 4 images of 16x16 noise around a per-person pattern, as a faces .npz."""
    rng = np.random.default_rng(0)
    pattern = rng.integers(0, 200, (8, 16, 16))
    images = np.repeat(pattern, 4, axis=0) + rng.integers(0, 50, (32, 16, 16))
    (tmp_path / "faces").mkdir(exist_ok=True)
    np.savez(tmp_path / "faces" / "tiny.npz", images=images.astype(np.uint8), labels=np.repeat(np.arange(8), 4))
    return tmp_path / "faces"


# The smallest run of each task that still goes through all of its code.
def _sentences(tmp_path):
    """Sentences of two topics (one a line), for the word-vector tasks."""
    rng = np.random.default_rng(0)
    path = tmp_path / "sentences.txt"
    topics = [[f"a{i}" for i in range(6)], [f"b{i}" for i in range(6)]]
    path.write_text("\n".join(" ".join(rng.choice(topics[k % 2], 5)) for k in range(120)) + "\n", encoding="utf-8")
    return path


def _emojify(tmp_path):
    """train_emoji.csv / test_emoji.csv in the course's layout (sentence, label 0-4)."""
    words = [["love", "you"], ["ball", "game"], ["happy", "laugh"], ["sad", "cry"], ["eat", "food"]]
    for split, n in (("train", 30), ("test", 10)):
        rows = [f'"{words[k % 5][0]} some {words[k % 5][1]}",{k % 5}' for k in range(n)]
        (tmp_path / f"{split}_emoji.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return tmp_path


TINY = {
    "lenet": lambda d: ["--train-samples", "192", "--test-samples", "128"],
    "mlp": lambda d: ["--train-samples", "192", "--test-samples", "128", "--hidden", "16", "--val-split", "0.25"],
    "charlm": lambda d: ["--text", str(_text(d)), "--seq-len", "20", "--batch-size", "4", "--hidden", "16",
                         "--layers", "1", "--embedding", "8", "--sample-length", "10"],
    "dates": lambda d: ["--train-size", "96", "--test-size", "8", "--hidden", "16", "--embedding", "8",
                        "--batch-size", "32"],
    "faces": lambda d: ["--data-dir", str(_faces(d)), "--test-people", "3", "--val-people", "2", "--batch-size", "6",
                        "--images-per-person", "2", "--width", "2", "--embedding-dim", "4", "--shift", "1"],
    "translate": lambda d: ["--data-dir", str(_corpus(d)), "--train-size", "96", "--test-size", "8", "--hidden",
                            "16", "--embedding", "8", "--batch-size", "32", "--beam-width", "2"],
    "yolo": lambda d: ["--train-images", "32", "--test-images", "8", "--image-size", "32", "--width", "4",
                       "--anchors", "2", "--batch-size", "16"],
    "autoencoder": lambda d: ["--train-samples", "128", "--test-samples", "64", "--sizes", "784", "16",
                              "--probe-epochs", "1"],
    "rbm": lambda d: ["--train-samples", "128", "--test-samples", "64", "--hidden", "16", "--probe-epochs", "1"],
    "vae": lambda d: ["--train-samples", "128", "--test-samples", "64", "--hidden", "16", "--latent", "2"],
    "gan": lambda d: ["--train-samples", "128", "--test-samples", "64", "--width", "2", "--latent", "4",
                      "--classifier-epochs", "1", "--eval-samples", "20", "--eval-every-samples", "20"],
    "word2vec": lambda d: ["--corpus", str(_sentences(d)), "--vector-size", "8", "--min-count", "1", "--window", "2"],
    "glove": lambda d: ["--corpus", str(_sentences(d)), "--vector-size", "8", "--min-count", "1", "--window", "2"],
    "sentiment": lambda d: ["--max-sentences", "80", "--embeddings", "random", "--embedding-dim", "8", "--hidden", "8",
                            "--batch-size", "16"],
    "emojify": lambda d: ["--data-dir", str(_emojify(d)), "--embeddings", "random", "--embedding-dim", "8",
                          "--hidden", "8", "--batch-size", "8", "--show", "3"],
    "qlearning": lambda d: ["--epsilon-decay-steps", "200", "--eval-episodes", "20"],
    "dqn": lambda d: ["--hidden", "8", "--learning-starts", "20", "--batch-size", "8", "--buffer-size", "500",
                      "--eval-every", "30", "--eval-episodes", "2", "--final-episodes", "2", "--target-return", "none",
                      "--save-buffer", "--threads", "1"],
}
TASKS = sorted(TINY)
# Tasks that count environment steps (unit "step"): steps per checkpoint of their tiny runs.
STEPS = {"qlearning": 150, "dqn": 40}
NEEDS = {"qlearning": "gymnasium", "dqn": "gymnasium"}  # optional packages (skipped without)


def length(task, n):
    """The options for a run of n epochs, or n checkpoints' worth of steps."""
    if task in STEPS:
        return ["--steps", str(n * STEPS[task]), "--checkpoint-every", str(STEPS[task])]
    return ["--epochs", str(n)]


def needs(task):
    if task in NEEDS:
        pytest.importorskip(NEEDS[task])
CORE = ["--epochs", "--batch-size", "--lr", "--device", "--seed", "--data-dir", "--checkpoint", "--resume", "--plot",
        "--quiet", "--threads"]


def run_cli(capsys, argv):
    rc = cli.main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def assert_usage_error(rc, out, err, task, flag, pattern=""):
    """Exit code 2, one line on stderr that names the command and the flag, nothing trained."""
    assert rc == 2, (out, err)
    assert "Traceback" not in err and err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith(f"deepkern train {task}: {flag}"), err
    assert re.search(pattern, err), err
    assert "epoch 1/" not in out and "step 1/" not in out and "resumed" not in out


@pytest.fixture
def one_thread():
    n = dk.get_num_threads()
    dk.set_num_threads(1)  # tiny kernels: no barrier costs on a shared box
    yield
    dk.set_num_threads(n)


def test_every_task_has_a_tiny_run():
    assert TASKS == tasks.available()


@pytest.mark.parametrize("task", TASKS)
def test_help_lists_the_core_flags_with_the_tasks_defaults(task, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["train", task, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    core = CORE if task not in STEPS else ["--steps", "--checkpoint-every"] + CORE[1:]
    for flag in core:
        assert re.search(rf"^\s+{flag}\b", out, re.M), (flag, out)
    cls = tasks.load(task)
    flag, dest = ("--steps", "steps") if task in STEPS else ("--epochs", "epochs")
    flat = " ".join(out.split())
    default = cls.defaults.get(dest, r"\d+")  # a task whose default depends on other options says so in the help
    assert re.search(rf"{flag} N [^-]*\(default: {default}[);]", flat), out
    assert f"(default: {task}.dk)" in out
    assert f"{task} options:" in out


@pytest.mark.parametrize("task", TASKS)
def test_tiny_run_interrupt_and_resume_end_where_the_uninterrupted_run_ends(task, tmp_path, capsys, monkeypatch,
                                                                          one_thread):
    needs(task)
    args = ["train", task, *TINY[task](tmp_path), *length(task, 2), "--quiet"]
    full, part = tmp_path / "full.dk", tmp_path / "runs" / "new" / "part.dk"  # a directory to create
    rc, out_full, err = run_cli(capsys, args + ["--checkpoint", str(full)])
    assert rc == 0, err

    cls = tasks.load(task)
    unit, k = ("step", STEPS[task]) if task in STEPS else ("epoch", 1)
    method = "train_steps" if task in STEPS else "train_epoch"
    original = getattr(cls, method)

    def interrupted(self, start, *rest):
        if start == k:
            raise KeyboardInterrupt
        return original(self, start, *rest)
    monkeypatch.setattr(cls, method, interrupted)
    rc, out, err = run_cli(capsys, args + ["--checkpoint", str(part)])
    assert rc == 130
    assert err == (f"deepkern train {task}: interrupted in {unit} {k + 1}/{2 * k}; {part} keeps {unit} {k}: continue "
                   "with --resume\n")
    assert dk.load(part)["done"] == k
    monkeypatch.setattr(cls, method, original)

    # the settings come from the checkpoint: --resume alone continues the run
    rc, out, err = run_cli(capsys, ["train", task, "--resume", "--checkpoint", str(part), "--quiet"])
    assert rc == 0, err
    assert out.startswith(f"resumed from {unit} {k}") or f"\nresumed from {unit} {k} " in out, out
    a, b = dk.load(full), dk.load(part)
    assert a["format"] == b["format"] == CHECKPOINT_FORMAT and a["task"] == task and a["done"] == b["done"] == 2 * k
    _assert_same(a["state"], b["state"])
    _assert_same(a["history"], b["history"], "history")   # every logged value of every epoch
    # the same report as the uninterrupted run's
    out = out.replace(str(part), str(full))
    assert [line for line in out.splitlines() if not line.startswith("resumed from")] == out_full.splitlines()


def _assert_same(a, b, where="state"):
    if isinstance(a, dict):
        assert sorted(map(str, a)) == sorted(map(str, b)), where
        for k in a:
            _assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{i}]")
    else:
        np.testing.assert_array_equal(a, b, err_msg=where)


def _mistakes(tmp_path, task):
    """(extra argv, flag named, message pattern): mistakes every task must catch before training."""
    other = tmp_path / "other.dk"
    dk.save({"format": CHECKPOINT_FORMAT, "version": 1, "task": "someothertask", "done": 1, "args": {}}, other)
    plain = tmp_path / "plain.dk"
    dk.save({"weights": np.zeros(3)}, plain)
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    uses_data_dir = "data_dir" not in tasks.load(task).unused
    first = "--steps" if task in STEPS else "--epochs"
    return [
        ([first, "0"], first, r"expected an integer >= 1, got 0 \(see 'deepkern train \w+ --help'\)"),
        (["--batch-size", "many"], "--batch-size", "expected an integer >= 1, got 'many'"),
        (["--lr", "-0.1"], "--lr", "expected a number > 0, got -0.1"),
        (["--seed", "-1"], "--seed", "expected an integer >= 0"),
        (["--device", "tpu"], "--device", "invalid choice: 'tpu'"),
        (["--frobnicate"], "unrecognized arguments: --frobnicate", ""),
        (["--resume", "--checkpoint", str(tmp_path / "missing.dk")], "--checkpoint", "missing.dk: no such file"),
        (["--resume", "--checkpoint", str(other)], "--checkpoint",
         f"written by 'deepkern train someothertask', not 'deepkern train {task}'"),
        (["--checkpoint", str(other)], "--checkpoint", "someothertask.*refusing to overwrite it"),
        (["--resume", "--checkpoint", str(plain)], "--checkpoint", "not written by 'deepkern train'"),
        (["--checkpoint", str(blocker / "x.dk")], "--checkpoint", "a file is in the way"),
        (["--checkpoint", str(tmp_path)], "--checkpoint", "is a directory"),
        (["--data-dir", str(tmp_path / "nowhere")], "--data-dir",
         "no such directory" if uses_data_dir else f"'deepkern train {task}' does not use it"),
    ]


@pytest.mark.parametrize("task", TASKS)
def test_user_mistakes_are_one_line_with_exit_code_2(task, tmp_path, capsys):
    needs(task)
    base = ["train", task, *TINY[task](tmp_path), "--quiet"]
    for extra, flag, pattern in _mistakes(tmp_path, task):
        rc, out, err = run_cli(capsys, base + extra)
        assert_usage_error(rc, out, err, task, flag, pattern)


@pytest.mark.parametrize("task", TASKS)
def test_missing_matplotlib_and_gpu_are_usage_errors(task, tmp_path, capsys, monkeypatch):
    needs(task)
    base = ["train", task, *TINY[task](tmp_path), "--quiet", "--checkpoint", str(tmp_path / "c.dk")]
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    rc, out, err = run_cli(capsys, base + ["--plot", str(tmp_path / "curves.png")])
    assert_usage_error(rc, out, err, task, "--plot", r"needs matplotlib, which is not installed: pip install "
                                                     r"matplotlib \(or pip install 'deepkern\[plot\]'\)")
    monkeypatch.setattr(dk.cuda, "is_available", lambda: False)
    rc, out, err = run_cli(capsys, base + ["--device", "cuda"])
    assert_usage_error(rc, out, err, task, "--device", "cuda requested but .*; use --device cpu")


def test_resumed_run_refuses_changed_settings_and_continues_to_more_epochs(tmp_path, capsys, one_thread):
    ck = tmp_path / "d.dk"
    base = ["train", "dates", *TINY["dates"](tmp_path), "--quiet", "--checkpoint", str(ck)]
    assert run_cli(capsys, base + ["--epochs", "1"])[0] == 0
    rc, out, err = run_cli(capsys, ["train", "dates", "--resume", "--checkpoint", str(ck), "--hidden", "32"])
    assert_usage_error(rc, out, err, "dates", "--hidden", "32 differs from the checkpoint's 16: a resumed run keeps "
                                                         "its settings")
    rc, out, err = run_cli(capsys, ["train", "dates", "--resume", "--checkpoint", str(ck), "--hidden", "16",
                                    "--epochs", "2"])  # not --quiet: this run's own choice
    assert rc == 0, err
    assert "resumed from epoch 1" in out and "epoch 2/2: loss" in out and "epoch 1/2" not in out
    assert dk.load(ck)["done"] == 2


# ---- task-specific inputs, all checked before training ---------------------------------------------

def test_digit_task_mistakes(tmp_path, capsys):
    base = ["train", "lenet", "--quiet", "--checkpoint", str(tmp_path / "l.dk")]
    for extra, flag, pattern in [
        (["--train-samples", "0"], "--train-samples", "expected an integer >= 1, got 0"),
        (["--val-split", "1.5"], "--val-split", r"expected a fraction in \[0, 1\)"),
        (["--data-dir", str(tmp_path)], "--data-dir", "only used with --data mnist or fashion-mnist"),
        (["--data", "mnist", "--data-dir", str(tmp_path)], "--data-dir", "not found.*add --download"),
    ]:
        assert_usage_error(*run_cli(capsys, base + extra), "lenet", flag, pattern)


def test_charlm_mistakes(tmp_path, capsys):
    base = ["train", "charlm", *TINY["charlm"](tmp_path), "--quiet", "--checkpoint", str(tmp_path / "c.dk")]
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe\x00abc")
    for extra, flag, pattern in [
        (["--seed-text", "ROMEO"], "--seed-text", r"characters the text never uses: 'EMOR' \(use characters"),
        (["--text", str(tmp_path / "none.txt")], "--text", r"none.txt: not found \(give an existing file\)"),
        (["--text", str(empty)], "--text", "is empty"),
        (["--text", str(binary)], "--text", "is not UTF-8 text"),
        (["--batch-size", "1000"], "--batch-size", "1000 streams need at least 2000 training characters"),
    ]:
        assert_usage_error(*run_cli(capsys, base + extra), "charlm", flag, pattern)


def test_translate_reads_only_data_dir_and_says_how_to_get_multi30k(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc, out, err = run_cli(capsys, ["train", "translate", "--quiet"])
    assert_usage_error(rc, out, err, "translate", "--data-dir",
                       r"required: Multi30k: download train\.en\.gz, train\.de\.gz, test_2016_flickr\.en\.gz, "
                       r"test_2016_flickr\.de\.gz from https://github\.com/multi30k/dataset")
    (tmp_path / "m").mkdir()
    rc, out, err = run_cli(capsys, ["train", "translate", "--data-dir", str(tmp_path / "m"), "--tgt", "fr"])
    assert_usage_error(rc, out, err, "translate", "--data-dir", r"lacks train\.en\.gz, train\.fr\.gz, "
                                                                r"test_2016_flickr\.en\.gz, test_2016_flickr\.fr\.gz; "
                                                                r"Multi30k: download them from https://")
    rc, out, err = run_cli(capsys, ["train", "translate", "--data-dir", str(tmp_path / "m"), "--tgt", "en"])
    assert_usage_error(rc, out, err, "translate", "--tgt", "is the source language too")


def test_yolo_image_size_must_suit_the_grid(tmp_path, capsys):
    rc, out, err = run_cli(capsys, ["train", "yolo", "--image-size", "30", "--checkpoint", str(tmp_path / "y.dk")])
    assert_usage_error(rc, out, err, "yolo", "--image-size", "expected a multiple of 8 of at least 16, got 30")


def test_ctrl_c_in_a_real_process_keeps_the_last_checkpoint(tmp_path):
    """SIGINT to a running `deepkern train`: one line on stderr, exit code 130, and the last
    finished epoch's checkpoint intact and resumable."""
    ck = tmp_path / "dates.dk"
    cmd = [sys.executable, "-m", "deepkern", "train", "dates", "--train-size", "64", "--test-size", "4", "--hidden",
           "8", "--embedding", "4", "--batch-size", "32", "--epochs", "100000", "--threads", "1", "--quiet",
           "--checkpoint", str(ck)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not ck.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert ck.exists(), proc.communicate()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    m = re.fullmatch(rf"deepkern train dates: interrupted in epoch (\d+)/100000; {re.escape(str(ck))} keeps epoch "
                     r"(\d+): continue with --resume\n", err)
    assert m and int(m.group(2)) == int(m.group(1)) - 1, err
    assert dk.load(ck)["done"] == int(m.group(2))


# ---- reuse of trained models ----------------------------------------------------------------------

def test_sample_from_a_charlm_checkpoint(tmp_path, capsys, one_thread):
    ck = tmp_path / "c.dk"
    assert cli.main(["train", "charlm", *TINY["charlm"](tmp_path), "--epochs", "1", "--quiet",
                     "--checkpoint", str(ck)]) == 0
    capsys.readouterr()
    rc, out, err = run_cli(capsys, ["sample", "--checkpoint", str(ck), "--seed-text", "to be", "--length", "30",
                                    "--seed", "1"])
    assert rc == 0, err
    assert out.startswith("to be") and len(out) == len("to be") + 30 + 1
    assert set(out[:-1]) <= set("to be or not to be, that is the question.\n")
    assert run_cli(capsys, ["sample", "--checkpoint", str(ck), "--seed-text", "to be", "--length", "30",
                            "--seed", "1"])[1] == out
    rc, out, err = run_cli(capsys, ["sample", "--checkpoint", str(ck), "--seed-text", "XYZ"])
    assert rc == 2 and err.startswith("deepkern sample: --seed-text: has characters the model never saw: 'XYZ'")
    other = tmp_path / "d.dk"
    assert cli.main(["train", "dates", *TINY["dates"](tmp_path), "--epochs", "1", "--quiet",
                     "--checkpoint", str(other)]) == 0
    capsys.readouterr()
    rc, out, err = run_cli(capsys, ["sample", "--checkpoint", str(other)])
    assert rc == 2 and err == (f"deepkern sample: --checkpoint: {other} was written by 'deepkern train dates', not "
                               "'deepkern train charlm'\n")


def test_translate_with_translate_and_dates_checkpoints(tmp_path, capsys, one_thread, monkeypatch):
    ck = tmp_path / "t.dk"
    assert cli.main(["train", "translate", *TINY["translate"](tmp_path), "--epochs", "1", "--quiet",
                     "--checkpoint", str(ck)]) == 0
    capsys.readouterr()
    rc, out, err = run_cli(capsys, ["translate", "--checkpoint", str(ck), "w1 w2 w3", "w4 w5 w6 w7"])
    assert rc == 0, err
    lines = out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("w1 w2 w3 -> ") and lines[1].startswith("w4 w5 w6 w7 -> ")
    assert set(" ".join(line.split(" -> ")[1] for line in lines).split()) <= {f"v{i}" for i in range(12)} | {"<unk>"}

    ck = tmp_path / "d.dk"
    assert cli.main(["train", "dates", *TINY["dates"](tmp_path), "--epochs", "1", "--quiet",
                     "--checkpoint", str(ck)]) == 0
    capsys.readouterr()
    monkeypatch.setattr(sys, "stdin", __import__("io").StringIO("3 May 1979\n\n"))
    rc, out, err = run_cli(capsys, ["translate", "--checkpoint", str(ck)])
    assert rc == 0 and re.fullmatch(r"3 May 1979 -> [0-9-]*\n", out), (out, err)


def test_detect_with_a_yolo_checkpoint(tmp_path, capsys, one_thread, monkeypatch):
    Image = pytest.importorskip("PIL.Image")
    ck = tmp_path / "y.dk"
    assert cli.main(["train", "yolo", *TINY["yolo"](tmp_path), "--epochs", "1", "--quiet",
                     "--checkpoint", str(ck)]) == 0
    capsys.readouterr()
    Image.fromarray((np.random.default_rng(0).random((40, 48)) * 255).astype(np.uint8)).save(tmp_path / "in.png")
    rc, out, err = run_cli(capsys, ["detect", str(tmp_path / "in.png"), "--checkpoint", str(ck),
                                    "--score-threshold", "0.01"])
    assert rc == 0, err
    drawn = tmp_path / "in.detections.png"  # next to the input by default
    with Image.open(drawn) as img:
        assert img.size == (528, 440)  # enlarged 11x: labels readable on a 48x40 input
    assert out.endswith(f"detections drawn to {drawn} (528x440)\n")
    rc, out, err = run_cli(capsys, ["detect", str(tmp_path / "missing.png"), "--checkpoint", str(ck)])
    assert rc == 2 and err.startswith("deepkern detect: IMAGE: ") and "not found" in err, err
    rc, out, err = run_cli(capsys, ["detect", str(tmp_path / "in.png"), "--checkpoint", str(tmp_path / "in.png")])
    assert rc == 2 and err.startswith("deepkern detect: --checkpoint: ") and "not a deepkern checkpoint" in err, err
    rc, out, err = run_cli(capsys, ["detect", str(tmp_path / "in.png"), "--checkpoint", str(ck), "--out",
                                    str(tmp_path / "new" / "dir" / "o.png")])
    assert rc == 0 and (tmp_path / "new" / "dir" / "o.png").is_file(), err   # the output's directory is created
    import sys as _sys
    for name in ("PIL", "PIL.Image"):
        monkeypatch.setitem(_sys.modules, name, None)
    rc, out, err = run_cli(capsys, ["detect", str(tmp_path / "in.png"), "--checkpoint", str(ck)])
    assert rc == 2 and err == ("deepkern detect: IMAGE: needs pillow, which is not installed: pip install pillow "
                               "(or pip install 'deepkern[images]')\n"), err


# ---- the example task of docs/DEVELOPING.md works as written ----------------------------------------

def test_the_documented_example_task_runs(tmp_path, capsys, monkeypatch, one_thread):
    import types
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "DEVELOPING.md").read_text(encoding="utf-8")
    section = doc.split("## Adding a train task\n", 1)[1]
    source = section.split("```python\n", 1)[1].split("```\n", 1)[0]
    module = types.ModuleType("deepkern.train.tasks.circles")
    module.__package__ = "deepkern.train.tasks"
    exec(compile(source, "DEVELOPING.md", "exec"), module.__dict__)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(tasks, "available", lambda real=tasks.available: sorted(real() + ["circles"]))

    ck = tmp_path / "circles.dk"
    rc, out, err = run_cli(capsys, ["train", "circles", "--epochs", "15", "--checkpoint", str(ck)])
    assert rc == 0, err
    assert "epoch 15/15: loss" in out and float(out.split("test accuracy ")[1].split()[0]) > 0.9
    rc, out, err = run_cli(capsys, ["train", "circles", "--resume", "--checkpoint", str(ck), "--epochs", "16"])
    assert rc == 0 and "resumed from epoch 15" in out and "epoch 16/16" in out, err
    assert_usage_error(*run_cli(capsys, ["train", "circles", "--samples", "5"]), "circles", "--samples",
                       "expected at least 10 points, got 5")
    assert ("deepkern train circles" in cli.build_parser().format_help())


def test_a_task_counted_in_steps_checkpoints_and_resumes_in_steps(tmp_path, capsys, monkeypatch):
    """unit = "step" (reinforcement learning): --steps and --checkpoint-every instead of
    --epochs, "resumed from step k", and Ctrl-C reporting steps."""
    import types

    from deepkern.train.task import Task

    module = types.ModuleType("deepkern.train.tasks.counter")

    class Counter(Task):
        help = "counts steps (a test task)"
        unit = "step"
        defaults = {"steps": 10, "checkpoint_every": 4, "batch_size": 1, "lr": 0.1}
        unused = ("data_dir", "plot")

        def setup(self):
            self.total = 0

        def train_steps(self, start, stop):
            if getattr(self, "interrupt_at", None) == start:
                raise KeyboardInterrupt
            self.total += sum(range(start, stop)) + int(self.rng.integers(0, 1000))
            return {"return": float(stop - start)}

        def state_dict(self):
            return {"total": self.total}

        def load_state_dict(self, state):
            self.total = int(state["total"])

        def finish(self):
            print(f"total {self.total}")
    Counter.__module__ = module.__name__
    module.Counter = Counter
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(tasks, "available", lambda real=tasks.available: sorted(real() + ["counter"]))

    full, part = tmp_path / "full.dk", tmp_path / "part.dk"
    rc, out, err = run_cli(capsys, ["train", "counter", "--checkpoint", str(full)])
    assert rc == 0, err
    assert [line.split(":")[0] for line in out.splitlines()[:3]] == ["step 4/10", "step 8/10", "step 10/10"]
    with pytest.raises(SystemExit):
        cli.main(["train", "counter", "--help"])
    help_text = capsys.readouterr().out
    assert "--steps N" in help_text and "--checkpoint-every N" in help_text and "--epochs" not in help_text
    monkeypatch.setattr(Counter, "interrupt_at", 8, raising=False)
    rc, out, err = run_cli(capsys, ["train", "counter", "--checkpoint", str(part)])
    assert rc == 130 and err == f"deepkern train counter: interrupted in step 9/10; {part} keeps step 8: continue with --resume\n"
    monkeypatch.setattr(Counter, "interrupt_at", None, raising=False)
    rc, out, err = run_cli(capsys, ["train", "counter", "--resume", "--checkpoint", str(part)])
    assert rc == 0 and out.startswith("resumed from step 8") and "step 10/10" in out, err
    assert dk.load(part)["state"]["total"] == dk.load(full)["state"]["total"]  # the task's rng resumed too
