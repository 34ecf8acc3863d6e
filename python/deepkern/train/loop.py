"""The training loop: ``fit`` trains a model epoch by epoch, ``evaluate`` measures it.

One epoch of ``fit``: ``model.train()``; for each batch ``(x, y)`` of the train loader: forward,
``loss_fn(output, y)``, ``optimizer.zero_grad()``, ``loss.backward()``, the L2 term's gradient,
``optimizer.step()``; then ``evaluate`` on the validation loader (``model.eval()`` under
``no_grad``), ``scheduler.step()`` once, the epoch's record appended to the History, and the
callbacks' ``on_epoch_end`` (early stopping, checkpoints). A tqdm bar per epoch shows the
running loss and metrics and, at its end, the validation results.

In a data-parallel run (``deepkern.distributed`` initialized, the model wrapped in
``DistributedDataParallel``, the train loader given a ``DistributedSampler``), every rank runs
``fit``: the epoch's loss and metrics are summed over all ranks before they are logged, so every
rank sees the global means and takes the same decisions (early stopping), only rank 0 shows a
progress bar, and the ``Checkpoint`` callback writes from rank 0 only.

Metrics are names from ``METRICS`` or callables ``metric(output, target) -> float`` (the batch
mean; ``fit`` weights batches by their size). Values in the History are epoch means over
samples, so they do not depend on how the last, smaller batch falls.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from .._backend import array_module
from .._device import to_device
from ..autograd import Tensor, no_grad
from .callbacks import Callback, History

__all__ = ["fit", "train_epoch", "evaluate", "accuracy", "METRICS", "FitState"]


def accuracy(output, target) -> float:
    """Fraction of correct predictions. ``output`` (N, C) scores (argmax is the class) or (N,) /
    (N, 1) binary logits (positive means class 1); ``target`` (N,) integer labels."""
    xp = array_module(output)
    if output.ndim == 2 and output.shape[1] > 1:
        pred = output.argmax(axis=1)
    else:
        pred = (output.reshape(-1) > 0).astype(target.dtype)
    if pred.shape != target.reshape(-1).shape:
        raise ValueError(f"accuracy: output of shape {tuple(output.shape)} does not match target of shape "
                         f"{tuple(target.shape)}")
    return float(xp.mean(pred == target.reshape(-1))) if pred.size else 0.0


METRICS = {"accuracy": accuracy}


def _metric_fns(metrics, op):
    out = {}
    for m in metrics:
        if isinstance(m, str):
            if m not in METRICS:
                raise ValueError(f"{op}: unknown metric {m!r}; known: {sorted(METRICS)} (or pass a callable)")
            out[m] = METRICS[m]
        elif callable(m):
            out[getattr(m, "__name__", type(m).__name__)] = m
        else:
            raise TypeError(f"{op}: a metric must be a name or a callable, got {type(m).__name__}")
    return out


def _batch(batch, device, op):
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise ValueError(f"{op}: each batch must be a pair (inputs, targets), got "
                         f"{type(batch).__name__} of length {len(batch) if hasattr(batch, '__len__') else '?'}")
    x, y = batch
    return to_device(x, device), to_device(y, device)


def _lr(optimizer) -> float:
    return float(optimizer.param_groups[0]["lr"])


class _Meter:
    """Sample-weighted running means of the loss and metrics over one pass."""

    def __init__(self, names):
        self.sums = dict.fromkeys(names, 0.0)
        self.n = 0

    def add(self, n, values):
        self.n += n
        for k, v in values.items():
            self.sums[k] += v * n

    def means(self):
        return {k: s / self.n if self.n else float("nan") for k, s in self.sums.items()}

    def synchronize(self):
        """Add up the sums and counts of every rank of a data-parallel run (a no-op otherwise)."""
        if _world_size() == 1:
            return
        from .. import distributed
        totals = np.array([self.n, *self.sums.values()], dtype=np.float64)
        distributed.all_reduce(totals)
        self.n = int(totals[0])
        self.sums = dict(zip(self.sums, totals[1:].tolist()))


def _world_size() -> int:
    from .. import distributed
    return distributed.world_size() if distributed.is_initialized() else 1


def is_main_process() -> bool:
    """False on every rank but 0 of a data-parallel run: those neither print nor write files."""
    from .. import distributed
    return not distributed.is_initialized() or distributed.rank() == 0


def evaluate(model, loader, loss_fn=None, metrics=("accuracy",), device="cpu", progress=False) -> dict:
    """Mean loss (when ``loss_fn`` is given) and metrics of ``model`` over ``loader``, in eval
    mode and without recording gradients; the model's train/eval mode is restored after.
    Batches are moved to ``device``, where the model must already be. Returns
    ``{"loss": ..., "<metric>": ...}`` (sample-weighted means)."""
    fns = _metric_fns(metrics, "evaluate")
    meter = _Meter((["loss"] if loss_fn is not None else []) + list(fns))
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            for batch in tqdm(loader, desc="eval", disable=not progress, leave=False, unit="batch"):
                x, y = _batch(batch, device, "evaluate")
                out = model(Tensor(x))
                values = {k: fn(out.data, y) for k, fn in fns.items()}
                if loss_fn is not None:
                    values["loss"] = loss_fn(out, y).item()
                meter.add(len(y), values)
    finally:
        model.train(was_training)
    meter.synchronize()
    return meter.means()


@dataclass
class FitState:
    """What callbacks see and may change: set ``stop_training`` to end after this epoch;
    ``start_epoch`` (0-based) is where the loop begins (a resumed checkpoint moves it)."""

    model: object
    optimizer: object
    scheduler: object
    train_loader: object
    val_loader: object
    epochs: int
    history: History = field(default_factory=History)
    epoch: int = 0
    start_epoch: int = 0
    stop_training: bool = False


def fit(model, loss_fn, optimizer, train_loader, val_loader=None, epochs=1, callbacks=(),
        metrics=("accuracy",), scheduler=None, device="cpu", l2=0.0, progress=True) -> History:
    """Train ``model`` for ``epochs`` epochs and return the History.

    Args:
        model: a ``dk.nn.Module`` mapping an input batch to outputs; moved to ``device``.
        loss_fn: ``loss_fn(output, target)`` -> scalar Tensor, the batch mean (e.g.
            ``F.cross_entropy`` or ``nn.CrossEntropyLoss()``).
        optimizer: a ``dk.optim`` optimizer over the model's parameters.
        train_loader / val_loader: iterables of ``(x, y)`` batches (``dk.data.DataLoader``).
        epochs: total number of epochs (a run resumed from a checkpoint of epoch k trains
            epochs k+1 .. epochs).
        callbacks: ``Callback`` objects (``EarlyStopping``, ``Checkpoint``, your own).
        metrics: names in ``METRICS`` or callables, computed on train and validation batches.
        scheduler: a learning-rate scheduler, stepped once after every epoch.
        device: 'cpu' or 'cuda'; batches are moved there.
        l2: the course's L2 regularization strength lambda: adds (lambda/2) * sum ||W||^2 over
            weight matrices and kernels (parameters with ndim >= 2; not biases or norm scales)
            to the loss, i.e. lambda * W to their gradients.
        progress: show a tqdm bar per epoch.

    History keys: 'loss', each metric, 'val_loss' and 'val_<metric>' with a validation loader,
    and 'lr' (the learning rate used during the epoch).
    """
    if l2 < 0:
        raise ValueError(f"fit: l2 must be >= 0, got {l2}")
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"fit: callbacks must be Callback instances, got {type(cb).__name__}")
    _metric_fns(metrics, "fit")
    progress = progress and is_main_process()
    model.to(device)
    state = FitState(model, optimizer, scheduler, train_loader, val_loader, int(epochs))
    for cb in callbacks:
        cb.on_train_begin(state)
    for epoch in range(state.start_epoch, state.epochs):
        state.epoch = epoch
        for cb in callbacks:
            cb.on_epoch_begin(state)
        lr = _lr(optimizer)
        total = len(train_loader) if hasattr(train_loader, "__len__") else None
        with tqdm(total=total, desc=f"epoch {epoch + 1}/{state.epochs}", disable=not progress, unit="batch",
                  dynamic_ncols=True) as bar:
            logs = train_epoch(model, loss_fn, optimizer, train_loader, metrics, device, l2, bar)
            if val_loader is not None:
                val = evaluate(model, val_loader, loss_fn, metrics, device)
                logs.update({f"val_{k}": v for k, v in val.items()})
                bar.set_postfix(_fmt(logs))
        logs["lr"] = lr
        if scheduler is not None:
            scheduler.step()
        state.history.append(epoch, logs)
        for cb in callbacks:
            cb.on_epoch_end(state, logs)
        if state.stop_training:
            break
    for cb in callbacks:
        cb.on_train_end(state)
    return state.history


def train_epoch(model, loss_fn, optimizer, loader, metrics=("accuracy",), device="cpu", l2=0.0, bar=None) -> dict:
    """One pass of ``fit`` over ``loader`` in train mode (see ``fit`` for the arguments); ``bar``
    is an optional tqdm bar advanced per batch. Returns the sample-weighted means of the loss
    (with the L2 term) and the metrics over the epoch."""
    fns = _metric_fns(metrics, "train_epoch")
    decayed = [p for p in model.parameters() if p.ndim >= 2] if l2 else []
    model.train()
    meter = _Meter(["loss"] + list(fns))
    for batch in loader:
        x, y = _batch(batch, device, "fit")
        out = model(Tensor(x))
        loss = loss_fn(out, y)
        optimizer.zero_grad()
        loss.backward()
        penalty = 0.0
        for p in decayed:
            if p.grad is not None:
                p.grad = p.grad.data + l2 * p.data
            penalty += 0.5 * l2 * float((p.data * p.data).sum())
        optimizer.step()
        values = {"loss": loss.item() + penalty}
        values.update({k: fn(out.data, y) for k, fn in fns.items()})
        meter.add(len(y), values)
        if bar is not None:
            bar.set_postfix(_fmt(meter.means()), refresh=False)
            bar.update()
    meter.synchronize()
    return meter.means()


def _fmt(values):
    return {k: f"{v:.4g}" for k, v in values.items() if np.isfinite(v)}
