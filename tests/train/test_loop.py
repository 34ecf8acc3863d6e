"""fit / evaluate / callbacks: learning on a seeded problem, History, the L2 term, early
stopping restoring the best weights, checkpoint resume reproducing the uninterrupted run, plots,
and argument errors."""
import builtins

import numpy as np
import pytest

import deepkern as dk
import deepkern.functional as F
from deepkern import nn, optim
from deepkern.data import DataLoader, TensorDataset, transforms as T
from deepkern.train import Callback, Checkpoint, EarlyStopping, History, accuracy, evaluate, fit


def blobs(n, seed=0, classes=3, dim=4):
    """Gaussian blobs around random centres: linearly separable enough to learn in seconds."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((classes, dim)) * 5
    y = rng.integers(0, classes, n)
    x = (centres[y] + rng.standard_normal((n, dim))).astype(np.float32)
    return x, y.astype(np.int64)


def make_model(seed=0, dropout=0.0):
    dk.manual_seed(seed)
    layers = [nn.Linear(4, 16), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers, nn.Linear(16, 3))


def loaders(seed=0, n=240, batch_size=32, transform=None):
    x, y = blobs(n + 120, seed=1)
    train = DataLoader(TensorDataset(x[:n], y[:n]), batch_size=batch_size, shuffle=True, seed=seed,
                       transform=transform)
    val = DataLoader(TensorDataset(x[n:], y[n:]), batch_size=50)
    return train, val


def test_fit_learns_and_records_history():
    model = make_model()
    train, val = loaders()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    h = fit(model, F.cross_entropy, opt, train, val, epochs=4, scheduler=sched, progress=False)
    assert isinstance(h, History) and len(h) == 4 and h.epochs == [1, 2, 3, 4]
    assert set(h.keys()) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert h["lr"] == pytest.approx([0.1, 0.05, 0.025, 0.0125])
    assert h["loss"][-1] < h["loss"][0]
    assert h["val_accuracy"][-1] > 0.9
    again = evaluate(model, val, F.cross_entropy)
    assert again["accuracy"] == pytest.approx(h["val_accuracy"][-1])
    assert again["loss"] == pytest.approx(h["val_loss"][-1], rel=1e-6)


def test_evaluate_is_eval_mode_without_grad_and_restores_mode():
    model = make_model(dropout=0.5)
    _, val = loaders()
    modes = []

    class Spy(nn.Module):
        def forward(self, x):
            modes.append(self.training)
            return x

    wrapped = nn.Sequential(model, Spy())
    wrapped.train()
    r1 = evaluate(wrapped, val, F.cross_entropy)
    r2 = evaluate(wrapped, val, F.cross_entropy)
    assert r1 == r2                                   # dropout off: deterministic
    assert modes and not any(modes) and wrapped.training
    assert all(p.grad is None for p in model.parameters())
    x, y = val.dataset.arrays
    logits = model.eval()(dk.Tensor(x)).numpy()
    assert r1["accuracy"] == pytest.approx(np.mean(logits.argmax(1) == y))


def test_accuracy_metric():
    assert accuracy(np.array([[0.1, 0.9], [2.0, -1.0], [0.0, 1.0]]), np.array([1, 0, 0])) == pytest.approx(2 / 3)
    assert accuracy(np.array([1.5, -0.2, 0.3]), np.array([1, 0, 0])) == pytest.approx(2 / 3)
    assert accuracy(np.array([[1.5], [-0.2]]), np.array([1, 1])) == pytest.approx(0.5)
    with pytest.raises(ValueError, match=r"accuracy: output of shape \(3, 2\) does not match target of shape \(2,\)"):
        accuracy(np.zeros((3, 2)), np.zeros(2, np.int64))


def test_l2_adds_lambda_w_to_weight_gradients_only():
    x, y = blobs(20)
    data = DataLoader(TensorDataset(x, y), batch_size=20)
    lam, lr = 0.3, 0.1
    results = []
    for l2 in (0.0, lam):
        model = make_model(seed=3)
        before = {k: v.copy() for k, v in model.state_dict().items()}
        h = fit(model, F.cross_entropy, optim.SGD(model.parameters(), lr=lr), data, epochs=1, l2=l2,
                progress=False)
        results.append((before, model.state_dict(), h["loss"][0]))
    (w0, plain, loss0), (_, decayed, loss1) = results
    for k in w0:
        expect = plain[k] - lr * lam * w0[k] if w0[k].ndim >= 2 else plain[k]
        np.testing.assert_allclose(decayed[k], expect, rtol=1e-5, atol=1e-7, err_msg=k)
    penalty = 0.5 * lam * sum(float((v.astype(np.float64) ** 2).sum()) for v in w0.values() if v.ndim >= 2)
    assert loss1 == pytest.approx(loss0 + penalty, rel=1e-5)


class Scripted(Callback):
    """Puts a scripted 'score' into each epoch's logs and snapshots the weights."""

    def __init__(self, scores):
        self.scores, self.snapshots = scores, []

    def on_epoch_end(self, state, logs):
        logs["score"] = self.scores[state.epoch]
        self.snapshots.append({k: v.copy() for k, v in state.model.state_dict().items()})


def test_early_stopping_stops_after_patience_and_restores_the_best_weights():
    model = make_model()
    train, _ = loaders()
    script = Scripted([0.2, 0.7, 0.5, 0.6, 0.9, 0.95])
    stop = EarlyStopping("score", patience=2, mode="max")
    h = fit(model, F.cross_entropy, optim.SGD(model.parameters(), lr=0.1), train, epochs=6,
            callbacks=[script, stop], progress=False)
    assert len(h) == 4 and stop.stopped_epoch == 4 and stop.best_epoch == 2 and stop.best == 0.7
    final = model.state_dict()
    for k, v in script.snapshots[1].items():
        np.testing.assert_array_equal(final[k], v)
    assert not np.array_equal(final["2.weight"], script.snapshots[-1]["2.weight"])


def test_early_stopping_min_delta_and_mode_auto():
    stop = EarlyStopping("val_loss", patience=1, min_delta=0.1)
    assert stop.mode == "min" and EarlyStopping("val_accuracy").mode == "max"
    model = make_model()
    train, _ = loaders()
    script = Scripted([1.0, 0.95, 0.5, 0.45])
    fit(model, F.cross_entropy, optim.SGD(model.parameters(), lr=0.1), train, epochs=4,
        callbacks=[script, EarlyStopping("score", patience=1, min_delta=0.1, mode="min")], progress=False)
    assert len(script.snapshots) == 2   # 0.95 is not 0.1 better than 1.0: stop after epoch 2


def _run(path, epochs, resume=False, init_seed=0):
    """A run whose next step depends on everything a checkpoint must restore: Adam moments, the
    scheduler, the shuffled order, the loader's augmentation draws and dropout's generator."""
    model = make_model(seed=init_seed, dropout=0.3)
    train, val = loaders(seed=11, transform=T.GaussianNoise(0.1))
    opt = optim.Adam(model.parameters(), lr=0.01)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
    h = fit(model, F.cross_entropy, opt, train, val, epochs=epochs, scheduler=sched,
            callbacks=[Checkpoint(path, resume=resume)], progress=False)
    return model, h


def test_checkpoint_resume_takes_exactly_the_uninterrupted_steps(tmp_path):
    full_model, full_h = _run(tmp_path / "full.dk", epochs=3)
    _run(tmp_path / "part.dk", epochs=2)
    # a new process would start from other random weights: resume must overwrite everything
    dk.manual_seed(123)
    resumed_model, resumed_h = _run(tmp_path / "part.dk", epochs=3, resume=True, init_seed=99)
    for k, v in full_model.state_dict().items():
        np.testing.assert_array_equal(resumed_model.state_dict()[k], v, err_msg=k)
    assert resumed_h.epochs == [1, 2, 3]
    for k in full_h.keys():
        np.testing.assert_array_equal(resumed_h[k], full_h[k], err_msg=k)
    saved = dk.load(tmp_path / "part.dk")
    assert int(saved["epoch"]) == 3 and set(saved["model"]) == set(full_model.state_dict())


def test_checkpoint_every_and_resume_without_file(tmp_path):
    path = tmp_path / "sub" / "ck.dk"
    model = make_model()
    train, _ = loaders()
    fit(model, F.cross_entropy, optim.SGD(model.parameters(), lr=0.1), train, epochs=1,
        callbacks=[Checkpoint(path, every=5, resume=True)], progress=False)
    assert path.is_file()                 # the last epoch is always saved
    model2 = make_model(seed=5)
    model2.load_state_dict(dk.load(path)["model"])
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(model2.state_dict()[k], v)


def test_history_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    h = History()
    for e in range(3):
        h.append(e, {"loss": 1.0 / (e + 1), "accuracy": 0.5 + 0.1 * e, "val_loss": 1.2 / (e + 1),
                     "val_accuracy": 0.4 + 0.1 * e, "lr": 0.1 * 0.5 ** e})
    out = h.plot(tmp_path / "curves.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 5000
    with pytest.raises(ValueError, match="History.plot: the history is empty"):
        History().plot(tmp_path / "empty.png")


def test_history_plot_without_matplotlib_says_what_to_install(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_mpl(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_mpl)
    h = History()
    h.append(0, {"loss": 1.0})
    with pytest.raises(ImportError, match=r"History.plot needs matplotlib: pip install 'deepkern\[plot\]'"):
        h.plot(tmp_path / "x.png")


def test_history_state_round_trip_and_missing_keys():
    h = History()
    h.append(0, {"loss": 2.0})
    h.append(1, {"loss": 1.0, "val_loss": 1.5})
    assert np.isnan(h["val_loss"][0]) and h["val_loss"][1] == 1.5
    g = History()
    g.load_state_dict(h.state_dict())
    assert g.epochs == [1, 2] and g["loss"] == [2.0, 1.0] and np.isnan(g["val_loss"][0])


def test_fit_errors():
    model = make_model()
    train, _ = loaders()
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="fit: unknown metric 'f1'"):
        fit(model, F.cross_entropy, opt, train, metrics=("f1",), progress=False)
    with pytest.raises(ValueError, match="fit: l2 must be >= 0, got -1"):
        fit(model, F.cross_entropy, opt, train, l2=-1, progress=False)
    with pytest.raises(TypeError, match="fit: callbacks must be Callback instances, got function"):
        fit(model, F.cross_entropy, opt, train, callbacks=[lambda state: None], progress=False)
    with pytest.raises(ValueError, match=r"fit: each batch must be a pair \(inputs, targets\)"):
        fit(model, F.cross_entropy, opt, [np.zeros((2, 4), np.float32)], progress=False)
    with pytest.raises(ValueError, match=r"EarlyStopping: monitor 'val_loss' is not among the epoch's logs"):
        fit(model, F.cross_entropy, opt, train, callbacks=[EarlyStopping()], progress=False)
    with pytest.raises(ValueError, match="EarlyStopping: mode must be 'auto', 'min' or 'max', got 'up'"):
        EarlyStopping(mode="up")


def test_custom_metric_callable_and_progress_bar(capsys):
    model = make_model()
    train, val = loaders(n=64)

    def top2(out, y):
        return float(np.mean((np.argsort(-out, axis=1)[:, :2] == y[:, None]).any(axis=1)))

    h = fit(model, F.cross_entropy, optim.SGD(model.parameters(), lr=0.1), train, val, epochs=1,
            metrics=(top2,), progress=True)
    assert set(h.keys()) == {"loss", "top2", "val_loss", "val_top2", "lr"}
    assert 0.0 <= h["val_top2"][0] <= 1.0
    err = capsys.readouterr().err
    assert "epoch 1/1" in err and "val_top2" in err
