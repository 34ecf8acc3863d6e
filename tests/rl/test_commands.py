"""`deepkern train qlearning`, `deepkern train dqn` and `deepkern play`: their own mistakes (one
line, exit code 2, before any training), a missing gymnasium, GIFs of trained agents, and a
tiny Atari run (where ale-py is installed). The generic command-line tests of every task
(help, tiny runs, interrupt and resume, common mistakes) are in tests/train/test_cli_tasks.py."""
import sys

import numpy as np
import pytest

import deepkern as dk
from deepkern import cli


def run_cli(capsys, argv):
    rc = cli.main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def assert_usage_error(result, prefix, pattern):
    import re
    rc, out, err = result
    assert rc == 2, (out, err)
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(prefix) and re.search(pattern, err), err
    assert "step 1/" not in out


@pytest.mark.parametrize("argv", [["train", "qlearning"], ["train", "dqn"], ["play", "--checkpoint", "x.dk"]])
def test_missing_gymnasium_says_what_to_install(argv, capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "gymnasium", None)
    if argv[0] == "play":
        pytest.importorskip("PIL")
        argv = ["play", "--checkpoint", str(_qlearning_checkpoint(tmp_path, capsys, monkeypatch))]
    argv = argv + ["--checkpoint", str(tmp_path / "c.dk")] if argv[0] == "train" else argv
    assert_usage_error(run_cli(capsys, argv), f"deepkern {' '.join(argv[:2]) if argv[0] == 'train' else 'play'}: "
                                              "--env: ", r"needs gymnasium: pip install 'deepkern\[rl\]'")


def _qlearning_checkpoint(tmp_path, capsys, monkeypatch=None):
    """A finished qlearning checkpoint (written without the gymnasium block, if any)."""
    path = tmp_path / "q.dk"
    if monkeypatch is not None:
        monkeypatch.delitem(sys.modules, "gymnasium")
    pytest.importorskip("gymnasium")
    assert cli.main(["train", "qlearning", "--steps", "300", "--checkpoint-every", "300", "--quiet",
                     "--eval-episodes", "5", "--checkpoint", str(path)]) == 0
    capsys.readouterr()
    if monkeypatch is not None:
        monkeypatch.setitem(sys.modules, "gymnasium", None)
    return path


def test_task_mistakes(tmp_path, capsys):
    pytest.importorskip("gymnasium")
    ck = ["--checkpoint", str(tmp_path / "c.dk"), "--quiet"]
    for argv, prefix, pattern in [
        (["train", "qlearning", "--env", "CartPole-v1"], "deepkern train qlearning: --env: ",
         r"needs a discrete \(tabular\) observation space, but CartPole-v1 has observations Box\(\[-4.8 -inf"),
        (["train", "qlearning", "--env", "NoSuchWorld-v0"], "deepkern train qlearning: --env: ",
         "unknown environment 'NoSuchWorld-v0'"),
        (["train", "qlearning", "--lr", "1.5"], "deepkern train qlearning: --lr: ", r"α must be in \(0, 1\], got 1.5"),
        (["train", "qlearning", "--gamma", "2"], "deepkern train qlearning: --gamma: ",
         r"expected a number in \[0, 1\], got 2"),
        (["train", "qlearning", "--batch-size", "8"], "deepkern train qlearning: --batch-size: ", "does not use it"),
        (["train", "dqn", "--env", "Pendulum-v1"], "deepkern train dqn: --env: ",
         r"needs a discrete action space, but Pendulum-v1 has actions Box\(-2.0, 2.0, \(1,\), float32\)"),
        (["train", "dqn", "--env", "FrozenLake-v1"], "deepkern train dqn: --env: ",
         r"dqn needs vector or stacked-frame observations.*use 'deepkern train qlearning'"),
        (["train", "dqn", "--epsilon-end", "2"], "deepkern train dqn: --epsilon-end: ", r"must be in \[0, 1\], got 2.0"),
        (["train", "dqn", "--loss", "l1"], "deepkern train dqn: --loss: ", "invalid choice: 'l1'"),
        (["train", "dqn", "--target-return", "high"], "deepkern train dqn: --target-return: ",
         "expected a number or 'none', got 'high'"),
    ]:
        assert_usage_error(run_cli(capsys, argv + ck), prefix, pattern)


def test_dqn_stops_at_a_confirmed_target_return(tmp_path, capsys):
    """No --steps: the preset's total; the run stops at the first evaluation whose mean, confirmed
    over --final-episodes more episodes, reaches --target-return."""
    pytest.importorskip("gymnasium")
    rc, out, err = run_cli(capsys, ["train", "dqn", "--target-return", "5", "--eval-every", "40", "--learning-starts",
                                    "20", "--hidden", "8", "--final-episodes", "3", "--threads", "1", "--quiet",
                                    "--checkpoint", str(tmp_path / "d.dk")])
    assert rc == 0, err
    assert "trained 40 environment steps" in out
    assert "solved at step 40: mean return " in out and "over 3 evaluation episodes (target 5" in out
    ckpt = dk.load(tmp_path / "d.dk")
    assert ckpt["args"]["steps"] == 100_000 and ckpt["state"]["agent"]["solved"][0] == 40


def test_play_writes_gifs_of_trained_agents(tmp_path, capsys):
    Image = pytest.importorskip("PIL.Image")
    pytest.importorskip("pygame")  # gymnasium renders FrozenLake and CartPole with pygame
    q = _qlearning_checkpoint(tmp_path, capsys)
    rc, out, err = run_cli(capsys, ["play", "--checkpoint", str(q), "--out", str(tmp_path / "lake.gif")])
    assert rc == 0, err
    steps = int(out.split(" in ")[1].split()[0])
    with Image.open(tmp_path / "lake.gif") as gif:
        assert gif.size == (256, 256) and 1 <= gif.n_frames <= steps + 1
    assert out.startswith("FrozenLake-v1: return ") and "(greedy)" in out

    d = tmp_path / "d.dk"
    assert cli.main(["train", "dqn", "--steps", "50", "--checkpoint-every", "50", "--hidden", "8", "--learning-starts",
                     "20", "--batch-size", "8", "--eval-every", "50", "--eval-episodes", "1", "--final-episodes", "1",
                     "--threads", "1", "--quiet", "--checkpoint", str(d)]) == 0
    capsys.readouterr()
    rc, out, err = run_cli(capsys, ["play", "--checkpoint", str(d), "--out", str(tmp_path / "sub" / "pole.gif"),
                                    "--epsilon", "0.5", "--max-steps", "20"])
    assert rc == 0, err
    assert out.startswith("CartPole-v1: return ") and "(ε = 0.5)" in out
    with Image.open(tmp_path / "sub" / "pole.gif") as gif:
        assert gif.size == (600, 400)

    assert_usage_error(run_cli(capsys, ["play", "--checkpoint", str(q), "--env", "Taxi-v4"]), "deepkern play: --env: ",
                       r"Taxi-v4 has observations Discrete\(500\).*trained on FrozenLake-v1 with Discrete\(16\)")
    assert_usage_error(run_cli(capsys, ["play", "--checkpoint", str(q), "--epsilon", "0.2"]),
                       "deepkern play: --epsilon: ", "plays its greedy policy")
    dk.save({"weights": np.zeros(2)}, tmp_path / "plain.dk")
    assert_usage_error(run_cli(capsys, ["play", "--checkpoint", str(tmp_path / "plain.dk")]),
                       "deepkern play: --checkpoint: ", "not written by 'deepkern train'")


def test_tiny_atari_run(tmp_path, capsys):
    """The Nature network on Breakout's stacked frames, uint8 replay, a lost life as terminal."""
    pytest.importorskip("ale_py")
    pytest.importorskip("cv2")  # AtariPreprocessing resizes with OpenCV
    ck = tmp_path / "b.dk"
    rc, out, err = run_cli(capsys, ["train", "dqn", "--env", "ALE/Breakout-v5", "--steps", "40", "--checkpoint-every",
                                    "20", "--learning-starts", "30", "--batch-size", "4", "--buffer-size", "100",
                                    "--eval-every", "40", "--eval-episodes", "1", "--eval-epsilon", "1",
                                    "--final-episodes", "1", "--save-buffer", "--threads", "1", "--quiet",
                                    "--checkpoint", str(ck)])
    assert rc == 0, err
    assert "trained 40 environment steps (x4 frames), 3 updates" in out
    state = dk.load(ck)["state"]
    assert state["buffer"]["frames"].shape == (41, 84, 84) and state["buffer"]["frames"].dtype == np.uint8
    assert state["agent"]["online"]["features.0.weight"].shape == (32, 4, 8, 8)
