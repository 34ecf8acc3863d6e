"""Callbacks of ``fit`` and the History it returns.

A callback overrides any of ``on_train_begin(state)``, ``on_epoch_begin(state)``,
``on_epoch_end(state, logs)`` and ``on_train_end(state)``; ``state`` is the loop's
``FitState`` (model, optimizer, scheduler, loaders, history, epoch, ``stop_training``).

- ``EarlyStopping`` watches a validation metric, stops after ``patience`` epochs without
  improvement and puts the best epoch's weights back at the end.
- ``Checkpoint`` saves everything the next epoch depends on (weights, optimizer and scheduler
  state, the loader's seed and epoch, deepkern's generator, the history) with ``dk.save``,
  which writes atomically; with ``resume=True`` it restores that state before the first epoch,
  so the resumed run takes exactly the steps the uninterrupted run would have taken.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from .. import _random

__all__ = ["Callback", "History", "EarlyStopping", "Checkpoint"]


class Callback:
    """Base class: every hook does nothing."""

    def on_train_begin(self, state):
        pass

    def on_epoch_begin(self, state):
        pass

    def on_epoch_end(self, state, logs):
        pass

    def on_train_end(self, state):
        pass


class History:
    """Per-epoch records: ``history['loss']``, ``history['val_accuracy']``, ``history['lr']``,
    ... (one float per epoch; NaN where an epoch lacks a key) and ``epochs`` (1-based)."""

    def __init__(self):
        self.epochs = []
        self.history = {}

    def append(self, epoch: int, logs: dict) -> None:
        for key in logs:
            self.history.setdefault(key, [math.nan] * len(self.epochs))
        self.epochs.append(int(epoch) + 1)
        for key, values in self.history.items():
            values.append(float(logs.get(key, math.nan)))

    def __getitem__(self, key):
        return self.history[key]

    def __contains__(self, key):
        return key in self.history

    def keys(self):
        return self.history.keys()

    def __len__(self):
        return len(self.epochs)

    def state_dict(self) -> dict:
        state = {"epochs": np.asarray(self.epochs, dtype=np.int64)}
        state.update({f"history.{k}": np.asarray(v, dtype=np.float64) for k, v in self.history.items()})
        return state

    def load_state_dict(self, state) -> None:
        self.epochs = [int(e) for e in np.asarray(state["epochs"])]
        self.history = {k[len("history."):]: [float(v) for v in np.asarray(a)]
                        for k, a in state.items() if k.startswith("history.")}

    def __repr__(self):
        last = {k: round(v[-1], 4) for k, v in self.history.items()} if self.epochs else {}
        return f"History(epochs={len(self)}, last={last})"

    def plot(self, path) -> Path:
        """Draw the loss, each metric (train and validation) and the learning rate against the
        epoch into a PNG at ``path``. Needs matplotlib (``pip install 'deepkern[plot]'``)."""
        try:
            from matplotlib.figure import Figure
            from matplotlib.ticker import MaxNLocator
        except ImportError as e:
            raise ImportError("History.plot needs matplotlib: pip install 'deepkern[plot]' "
                              "(or pip install matplotlib)") from e
        if not self.epochs:
            raise ValueError("History.plot: the history is empty (no epoch finished)")
        panels = [k for k in self.history if not k.startswith("val_") and k != "lr"]
        panels += [k[4:] for k in self.history if k.startswith("val_") and k[4:] not in self.history]
        if "lr" in self.history:
            panels.append("lr")
        fig = Figure(figsize=(4.2 * len(panels), 3.4), layout="constrained")
        for ax, key in zip(fig.subplots(1, len(panels), squeeze=False)[0], panels):
            for name, style in ((key, "-o"), (f"val_{key}", "--s")):
                if name in self.history:
                    ax.plot(self.epochs, self.history[name], style, markersize=3,
                            label="validation" if name.startswith("val_") else "train")
            ax.set_title(key)
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            if key == "lr":
                ax.set_yscale("log")
            elif len(ax.lines) > 1:
                ax.legend()
            ax.grid(alpha=0.3)
        path = Path(path)
        fig.savefig(path, dpi=110, format="png")
        return path


def _mode(monitor, mode):
    if mode == "auto":
        return "min" if "loss" in monitor else "max"
    if mode not in ("min", "max"):
        raise ValueError(f"EarlyStopping: mode must be 'auto', 'min' or 'max', got {mode!r}")
    return mode


def _copy_state(model):
    return {k: v.copy() for k, v in model.state_dict().items()}


class EarlyStopping(Callback):
    """Stop when ``monitor`` (a History key, e.g. 'val_loss' or 'val_accuracy') has not improved
    by more than ``min_delta`` for ``patience`` epochs; ``mode`` 'auto' minimizes keys that
    contain 'loss' and maximizes the others. With ``restore_best_weights`` the model ends with
    the weights of its best epoch (whether or not training stopped early).

    After training: ``best`` (the best value), ``best_epoch`` (1-based), ``stopped_epoch``
    (1-based, 0 when training ran to the end)."""

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, mode="auto", restore_best_weights=True):
        from .._checks import integer, real
        self.monitor = monitor
        self.patience = integer("EarlyStopping", "patience", patience, minimum=0)
        self.min_delta = real("EarlyStopping", "min_delta", min_delta, low=0.0)
        self.mode = _mode(monitor, mode)
        self.restore_best_weights = bool(restore_best_weights)

    def on_train_begin(self, state):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = 0
        self.stopped_epoch = 0
        self.wait = 0
        self._best_state = None

    def on_epoch_end(self, state, logs):
        if self.monitor not in logs:
            raise ValueError(f"EarlyStopping: monitor {self.monitor!r} is not among the epoch's logs "
                             f"{sorted(logs)} (validation keys need a val_loader)")
        value = logs[self.monitor]
        better = value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta
        if better:
            self.best, self.best_epoch, self.wait = value, state.epoch + 1, 0
            if self.restore_best_weights:
                self._best_state = _copy_state(state.model)
            return
        self.wait += 1
        if self.wait >= self.patience:
            state.stop_training = True
            self.stopped_epoch = state.epoch + 1

    def on_train_end(self, state):
        if self.restore_best_weights and self._best_state is not None:
            state.model.load_state_dict(self._best_state)

    def state_dict(self) -> dict:
        """What a resumed run needs to go on counting (``on_train_begin`` first, then this)."""
        state = {"best": self.best, "best_epoch": self.best_epoch, "stopped_epoch": self.stopped_epoch,
                 "wait": self.wait}
        if self._best_state is not None:
            state["best_state"] = self._best_state
        return state

    def load_state_dict(self, state) -> None:
        self.best, self.best_epoch = float(state["best"]), int(state["best_epoch"])
        self.stopped_epoch, self.wait = int(state["stopped_epoch"]), int(state["wait"])
        self._best_state = dict(state["best_state"]) if "best_state" in state else None


class Checkpoint(Callback):
    """Save the training state to ``path`` after every ``every``-th epoch (and the last one);
    with ``resume=True`` and an existing file, continue from it.

    The file (``dk.save``, atomic) holds: ``model``, ``optimizer``, ``scheduler`` (when the run
    has one) state dicts, ``loader`` (the train loader's seed and next epoch), ``rng`` (deepkern's
    generator, which dropout and initializers draw from), ``history`` and ``epoch`` (the number
    of finished epochs). ``dk.load(path)['model']`` is a plain state dict for
    ``model.load_state_dict``. Other callbacks start afresh on resume (an EarlyStopping's
    patience counts from the resumed epoch). In a data-parallel run only rank 0 writes, and the
    model saved is the one inside ``DistributedDataParallel`` (usable in a single process)."""

    def __init__(self, path, every=1, resume=False):
        from .._checks import integer
        self.path = Path(path)
        self.every = integer("Checkpoint", "every", every, minimum=1)
        self.resume = bool(resume)

    def on_train_begin(self, state):
        if not (self.resume and self.path.is_file()):
            return
        from .. import load
        ckpt = load(self.path)
        _unwrap(state.model).load_state_dict(ckpt["model"])
        state.optimizer.load_state_dict(ckpt["optimizer"])
        if state.scheduler is not None:
            if "scheduler" not in ckpt:
                raise ValueError(f"Checkpoint: {self.path} was saved without a scheduler but this run has one")
            state.scheduler.load_state_dict(ckpt["scheduler"])
        if hasattr(state.train_loader, "load_state_dict"):
            state.train_loader.load_state_dict(ckpt["loader"])
        _random.generator().bit_generator.state = json.loads(str(ckpt["rng"]))
        state.history.load_state_dict(ckpt["history"])
        state.start_epoch = int(ckpt["epoch"])

    def on_epoch_end(self, state, logs):
        done = state.epoch + 1
        if done % self.every and done != state.epochs and not state.stop_training:
            return
        from .. import save
        from .loop import is_main_process
        if not is_main_process():
            return
        ckpt = {"model": _unwrap(state.model).state_dict(), "optimizer": state.optimizer.state_dict(),
                "loader": state.train_loader.state_dict() if hasattr(state.train_loader, "state_dict") else {},
                "rng": json.dumps(_random.generator().bit_generator.state),
                "history": state.history.state_dict(), "epoch": done}
        if state.scheduler is not None:
            ckpt["scheduler"] = state.scheduler.state_dict()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        save(ckpt, self.path)


def _unwrap(model):
    """The model inside a DistributedDataParallel wrapper (checkpoints hold the plain model)."""
    from ..distributed import DistributedDataParallel
    return model.module if isinstance(model, DistributedDataParallel) else model
