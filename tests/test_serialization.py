"""dk.save / dk.load: round trips of model + optimizer checkpoints, atomic writes, and clear
errors on foreign or corrupt files."""
import json
import os
import zipfile

import numpy as np
import pytest

import deepkern as dk
from deepkern import nn, optim
from deepkern.serialization import CheckpointError


def _trained():
    dk.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    opt = optim.Adam(model.parameters(), lr=0.01)
    x = dk.Tensor(np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32))
    for _ in range(2):
        opt.zero_grad()
        (model(x) ** 2).mean().backward()
        opt.step()
    return model, opt, x


def test_round_trip_of_a_nested_object(tmp_path):
    obj = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "ids": np.array([1, 2], np.int64),
           "flags": np.array([True, False]), 3: "int key", "nested": [1, 2.5, None, True, "s", (np.zeros(0), -7)],
           "t": dk.Tensor(np.ones(2)), "np_scalar": np.float64(0.25), "best": float("inf"), "empty": {}}
    dk.save(obj, tmp_path / "ckpt.npz")
    got = dk.load(tmp_path / "ckpt.npz")
    assert set(got) == set(obj)
    np.testing.assert_array_equal(got["w"], obj["w"])
    assert got["w"].dtype == np.float32 and got["ids"].dtype == np.int64 and got["flags"].dtype == np.bool_
    assert got[3] == "int key" and got["empty"] == {}
    assert got["nested"][:5] == [1, 2.5, None, True, "s"] and isinstance(got["nested"][5], tuple)
    assert got["nested"][5][0].shape == (0,) and got["nested"][5][1] == -7
    np.testing.assert_array_equal(got["t"], np.ones(2))
    assert got["np_scalar"] == 0.25 and got["best"] == float("inf")


def test_model_and_optimizer_checkpoint_resumes_training(tmp_path):
    model, opt, x = _trained()
    path = tmp_path / "run.ckpt"
    dk.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 2, "history": [0.5, 0.4]}, path)
    ckpt = dk.load(path)
    assert ckpt["epoch"] == 2 and ckpt["history"] == [0.5, 0.4]
    dk.manual_seed(1)
    model2 = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    model2.load_state_dict(ckpt["model"])
    opt2 = optim.Adam(model2.parameters(), lr=0.5)
    opt2.load_state_dict(ckpt["optimizer"])
    assert opt2.param_groups[0]["lr"] == 0.01
    for m, o in ((model, opt), (model2, opt2)):
        o.zero_grad()
        (m(x) ** 2).mean().backward()
        o.step()
    for a, b in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_save_is_atomic_when_the_write_crashes(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    dk.save({"epoch": 1, "w": np.ones(3)}, path)
    before = path.read_bytes()

    def crash(f, **arrays):
        f.write(b"PK\x03\x04 partial")          # half an archive, then the process "dies"
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        dk.save({"epoch": 2, "w": np.zeros(3)}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.npz"]      # the temporary file is gone
    monkeypatch.undo()
    assert dk.load(path)["epoch"] == 1


def test_save_errors_name_the_offending_entry(tmp_path):
    with pytest.raises(TypeError, match=r"dk.save: cannot save obj\['opt'\]\[1\] of type function"):
        dk.save({"opt": [1, lambda: 0]}, tmp_path / "x")
    with pytest.raises(TypeError, match=r"obj\['a'\] is an array of dtype object"):
        dk.save({"a": np.array([{}], dtype=object)}, tmp_path / "x")
    with pytest.raises(TypeError, match=r"has a key \(1, 2\) of type tuple"):
        dk.save({(1, 2): 0}, tmp_path / "x")
    assert not os.path.exists(tmp_path / "x")


def test_load_rejects_foreign_and_corrupt_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        dk.load(tmp_path / "missing")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="notes.txt is not a deepkern checkpoint"):
        dk.load(text)
    npy = tmp_path / "a.npy"
    np.save(npy, np.ones(2))
    with pytest.raises(CheckpointError, match="a single .npy array"):
        dk.load(npy)
    plain = tmp_path / "plain.npz"
    np.savez(plain, x=np.ones(2))
    with pytest.raises(CheckpointError, match="no __index__ member"):
        dk.load(plain)
    good = tmp_path / "good.npz"
    dk.save({"w": np.ones(1000)}, good)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:-200])
    with pytest.raises(CheckpointError, match="truncated.npz"):
        dk.load(truncated)
    wrong = tmp_path / "wrong.npz"
    index = {"format": "deepkern", "version": 99, "root": {"value": 1}}
    np.savez(wrong, __index__=np.frombuffer(json.dumps(index).encode(), np.uint8))
    with pytest.raises(CheckpointError, match="checkpoint version 99; this deepkern reads version 1"):
        dk.load(wrong)
    dangling = tmp_path / "dangling.npz"
    index = {"format": "deepkern", "version": 1, "root": {"array": "a5"}}
    np.savez(dangling, __index__=np.frombuffer(json.dumps(index).encode(), np.uint8))
    with pytest.raises(CheckpointError, match="array 'a5' is missing"):
        dk.load(dangling)
    assert issubclass(CheckpointError, ValueError)


def test_pickled_members_are_never_loaded(tmp_path):
    path = tmp_path / "evil.npz"
    index = {"format": "deepkern", "version": 1, "root": {"array": "a0"}}
    np.savez(path, __index__=np.frombuffer(json.dumps(index).encode(), np.uint8),
             a0=np.array([{"x": 1}], dtype=object))
    assert zipfile.is_zipfile(path)
    with pytest.raises(CheckpointError, match="corrupt deepkern checkpoint"):
        dk.load(path)
