"""The framework of ``deepkern train TASK``: one command line, checkpoints, resume and errors for
every task.

A task is one module in ``deepkern/train/tasks/`` (``lenet.py`` -> ``deepkern train lenet``,
found automatically) that defines one subclass of :class:`Task`::

    class Lenet(Task):
        help = "LeNet-5 on handwritten digits"           # one line for `deepkern --help`
        defaults = {"epochs": 8, "batch_size": 64, "lr": 2e-3}

        @classmethod
        def add_arguments(cls, parser): ...   # the task's own flags (core flags are added for it)
        def setup(self): ...                  # check inputs, read data, build model/optimizer
        def train_epoch(self, epoch): ...     # one epoch; returns its logs {"loss": ..., ...}
        def finish(self): ...                 # evaluate and print the results

The framework gives every task the same core flags, with the task's defaults shown in
``--help``: ``--epochs --batch-size --lr --device {cpu,cuda} --seed --data-dir --checkpoint
--resume --plot --quiet --threads``. It runs a task like this:

1. ``check()``: every flag before anything is read or trained (``--device cuda`` needs a
   GPU, ``--data-dir`` must exist, ``--plot`` needs matplotlib, output directories are
   created; tasks extend it). ``--resume`` reads the checkpoint here: one written by another
   task is refused, and the run takes its settings from it (flags given again must agree,
   except those in ``RESUMABLE`` and the task's ``resume_may_change``).
2. ``setup()`` (the task's): data-dependent checks raise :class:`UsageError` too, still before
   any training. Then a resumed run loads the task's state and says "resumed from epoch k".
3. ``train_epoch(e)`` for each remaining epoch; after each one the whole training state
   (``state_dict()``, the history, deepkern's and the task's random generators) is written
   atomically to ``--checkpoint``, so ``--resume`` continues exactly where the run stopped.
   Ctrl-C exits with one line (code 130) naming the checkpoint, which keeps the last
   finished epoch. A task sets ``self.stop_training = True`` to end early.
4. ``finish()``, then ``plot(path)`` when ``--plot`` is given (the learning curves, unless the
   task draws something else).

Tasks that set ``data_parallel = True`` also get ``--distributed``: started by
``mpirun -np N``, every rank joins the process group (MPI, or NCCL with ``--device cuda``),
the task wraps its model with :meth:`Task.parallel` and takes its loader from
:meth:`Task.make_train_loader` (each rank trains on its shard; ``--batch-size`` is per rank), and
only rank 0 prints and writes checkpoints (which hold the unwrapped model).

Tasks whose unit is not an epoch set ``unit = "step"`` (reinforcement learning counts
environment steps): they get ``--steps`` and ``--checkpoint-every`` instead of ``--epochs``,
implement ``train_steps(start, stop)``, and resume "from step k".

Checkpoints are ``dk.save`` files: ``{"format": "deepkern-train", "task", "unit", "done",
"args", "state", "history", "rng", "task_rng"}``; :func:`load_checkpoint` reads one for the
commands that reuse a trained model (``deepkern sample``, ``translate``, ``detect``).
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import sys
import threading
import time

import numpy as np

from .. import _random
from ..cli import (UsageError, check_device, existing_dir, nonnegative_int, output_path, positive_float,
                   positive_int, require)
from .callbacks import History

__all__ = ["Task", "UsageError", "run", "add_arguments", "load_checkpoint", "CHECKPOINT_FORMAT", "RESUMABLE"]

CHECKPOINT_FORMAT = "deepkern-train"
# Flags a resumed run may change; every other setting comes from the checkpoint.
RESUMABLE = ("epochs", "steps", "checkpoint_every", "device", "threads", "data_dir", "checkpoint", "resume",
             "plot", "quiet", "distributed")


class Task:
    """Base class of a ``deepkern train`` task (see the module docstring).

    Class attributes a task sets:
        help: one line for ``deepkern --help`` and README's command table.
        defaults: the task's defaults for core flags (``epochs``/``steps``,
            ``checkpoint_every``, ``batch_size``, ``lr``, ``seed``, ``data_dir``,
            ``checkpoint`` (default ``<task>.dk``), ``plot``).
        core_help: help texts for core flags where the generic one says too little
            (e.g. ``{"data_dir": "directory with the Multi30k files"}``).
        unused: core flags the task has no use for (giving one is a usage error).
        unit: "epoch" (default) or "step".
        resume_may_change: the task's own flags a resumed run may change (e.g. sampling options).
        data_parallel: the task supports ``--distributed`` (it builds its model through
            ``parallel`` and its training loader through ``make_train_loader``).

    What the framework sets before ``setup``: ``args`` (the parsed flags), ``device``,
    ``quiet``, ``rng`` (a NumPy Generator seeded by ``--seed``, saved in checkpoints: draw
    the task's randomness from it or from ``deepkern``'s generator), ``history`` (a History
    of the epochs' logs), ``epochs`` (the total), ``epoch`` (the current one, 0-based).
    ``model``, ``optimizer`` and ``scheduler`` start as None; set them in ``setup`` and the
    default ``state_dict`` saves them.
    """

    name = None  # the module's name, set when the task is loaded
    help = ""
    defaults: dict = {}
    core_help: dict = {}
    unused = ()
    unit = "epoch"
    resume_may_change = ()
    data_parallel = False

    def __init__(self, args):
        self.args = args
        self.device = args.device
        self.quiet = args.quiet
        self.rng = np.random.default_rng(args.seed)
        self.history = History()
        self.epochs = args.steps if self.unit == "step" else args.epochs
        self.epoch = 0
        self.stop_training = False
        self.model = self.optimizer = self.scheduler = None

    # ---- what a task writes ----------------------------------------------------------------

    @classmethod
    def add_arguments(cls, parser):
        """Add the task's own flags to ``parser`` (an argument group of the task)."""

    def check(self):
        """Check the flags before any data is read (extend with ``super().check()``); raise
        UsageError naming the flag for a mistake."""
        args = self.args
        for dest in self.unused:
            if getattr(args, dest, None) is not None:
                raise UsageError(_flag(dest), f"'deepkern train {self.name}' does not use it")
        check_device(args.device)
        if getattr(args, "distributed", False):
            _join_process_group(self.name, args.device)
        if getattr(args, "data_dir", None) is not None:
            existing_dir_flag(args.data_dir, "--data-dir")
        if args.plot:
            require("matplotlib", "--plot", extra="plot")
            output_path(args.plot, "--plot")
        output_path(args.checkpoint, "--checkpoint")

    def setup(self):
        """Read the data and build the model, optimizer (and scheduler); data-dependent
        mistakes raise UsageError. Nothing is trained here."""
        raise NotImplementedError

    def train_epoch(self, epoch) -> dict:
        """Train epoch ``epoch`` (0-based); return its logs (floats: "loss", metrics, "val_...")."""
        raise NotImplementedError(f"{type(self).__name__} must define train_epoch (or unit='step' and train_steps)")

    def train_steps(self, start, stop) -> dict:
        """(unit='step') Train steps ``start`` .. ``stop - 1``; return logs of that stretch."""
        raise NotImplementedError(f"{type(self).__name__} must define train_steps")

    def on_epoch_end(self, logs):
        """After each epoch's checkpoint and line (e.g. print a sample); does nothing by default."""

    def finish(self):
        """After the last epoch (also when a finished run is resumed): evaluate, print results."""

    def state_dict(self) -> dict:
        """Everything the next epoch depends on beyond the random generators (which the
        framework saves): by default the model's, optimizer's and scheduler's state dicts.
        Extend it (``state = super().state_dict(); state["vocab"] = ...``)."""
        return {key: self._saved(key).state_dict() for key in ("model", "optimizer", "scheduler")
                if getattr(self, key) is not None}

    def load_state_dict(self, state):
        for key in ("model", "optimizer", "scheduler"):
            if getattr(self, key) is not None and key in state:
                self._saved(key).load_state_dict(state[key])

    def _saved(self, key):
        # a data-parallel model is saved unwrapped, so the checkpoint loads in one process
        obj = getattr(self, key)
        if key == "model":
            from ..distributed import DistributedDataParallel
            if isinstance(obj, DistributedDataParallel):
                return obj.module
        return obj

    def plot(self, path):
        """Draw ``--plot``: the learning curves by default."""
        self.history.plot(path)
        return f"learning curves: {path}"

    # ---- helpers for tasks -----------------------------------------------------------------

    def progress(self, iterable=None, total=None, desc=None, unit="batch"):
        """A tqdm bar for the current epoch (hidden by --quiet, cleared when done)."""
        from tqdm.auto import tqdm

        if desc is None:
            desc = f"epoch {self.epoch + 1}/{self.epochs}" if self.unit == "epoch" else "steps"
        return tqdm(iterable, total=total, desc=desc, unit=unit, disable=self.quiet, leave=False,
                    dynamic_ncols=True)

    def parallel(self, model):
        """``model`` (already on ``self.device``) wrapped in DistributedDataParallel under
        ``--distributed``; the model itself otherwise."""
        if not getattr(self.args, "distributed", False):
            return model
        from ..distributed import DistributedDataParallel
        return DistributedDataParallel(model)

    def make_train_loader(self, dataset, batch_size, transform=None):
        """The training DataLoader: shuffled by ``--seed`` and the epoch; under
        ``--distributed``, this rank's shard of every epoch (DistributedSampler)."""
        from ..data import DataLoader
        if not getattr(self.args, "distributed", False):
            return DataLoader(dataset, batch_size=batch_size, shuffle=True, seed=self.args.seed, transform=transform)
        from .. import distributed as dist
        sampler = dist.DistributedSampler(dataset, seed=self.args.seed)
        # augmentation draws differ between ranks (the seed), the shards come from the sampler
        return DataLoader(dataset, batch_size=batch_size, sampler=sampler, seed=self.args.seed + dist.rank(),
                          transform=transform)

    def log(self, *parts):
        """Print unless --quiet (results that must always show use print)."""
        if not self.quiet:
            print(*parts, flush=True)


def _flag(dest):
    return "--" + dest.replace("_", "-")


def existing_dir_flag(path, flag):
    try:
        return existing_dir(path)
    except Exception as e:  # argparse.ArgumentTypeError
        raise UsageError(flag, str(e)) from None


# ---- the command line --------------------------------------------------------------------------

def add_arguments(parser, task_cls):
    """The core flags with ``task_cls``'s defaults, then the task's own flags."""
    d, h = dict(task_cls.defaults), task_cls.core_help
    g = parser.add_argument_group("training options (every task has them)")
    a = g.add_argument
    if task_cls.unit == "step":
        a("--steps", type=positive_int, default=d.get("steps"), metavar="N",
          help=h.get("steps", "environment steps to train in all"))
        a("--checkpoint-every", type=positive_int, default=d.get("checkpoint_every"), metavar="N",
          help=h.get("checkpoint_every", "steps between checkpoints"))
    else:
        a("--epochs", type=positive_int, default=d.get("epochs"), metavar="N",
          help=h.get("epochs", "passes over the training data"))
    a("--batch-size", type=positive_int, default=d.get("batch_size"), metavar="N",
      help=h.get("batch_size", "samples per optimizer step"))
    a("--lr", type=positive_float, default=d.get("lr"), help=h.get("lr", "learning rate"))
    a("--device", choices=("cpu", "cuda"), default="cpu", help="where to train")
    a("--seed", type=nonnegative_int, default=d.get("seed", 0), metavar="N",
      help="seeds the initialization, the data order and dropout")
    a("--data-dir", default=d.get("data_dir"), metavar="DIR",
      help=h.get("data_dir", "directory with the training data"))
    a("--checkpoint", default=d.get("checkpoint", f"{task_cls.name}.dk"), metavar="PATH",
      help="the training state, written atomically after every " +
           ("--checkpoint-every steps" if task_cls.unit == "step" else "epoch"))
    a("--resume", action="store_true",
      help="continue the run saved in --checkpoint, with its settings")
    a("--plot", default=d.get("plot"), metavar="PNG",
      help=h.get("plot", "draw the learning curves into this PNG (needs matplotlib)"))
    a("--quiet", action="store_true", help="print only the results: no progress bars or per-epoch lines")
    a("--threads", type=positive_int, default=None, metavar="N", help="CPU threads for the kernels (default: all cores)")
    if task_cls.data_parallel:
        a("--distributed", action="store_true",
          help="data-parallel over the ranks started by 'mpirun -np N' (MPI; NCCL with --device cuda; "
               "needs deepkern[distributed]); --batch-size is per rank")
    task_cls.add_arguments(parser.add_argument_group(f"{task_cls.name} options"))


def explicit_flags(parser, argv):
    """The dests of the options given on the command line ``argv`` (not taken from defaults)."""
    import argparse

    saved = [(a, a.default) for a in parser._actions]
    try:
        for action, _ in saved:
            action.default = argparse.SUPPRESS
        given = vars(parser.parse_args(argv))
    finally:
        for action, default in saved:
            action.default = default
    return {a.dest for a, _ in saved if a.dest in given}


def _join_process_group(name, device):
    from .. import distributed as dist

    require("mpi4py", "--distributed", package="mpi4py", extra="distributed")
    if not dist.is_initialized():
        try:
            dist.init("nccl" if device == "cuda" else "mpi")
        except dist.DistributedError as e:
            raise UsageError("--distributed", str(e)) from None
    if dist.world_size() == 1:
        raise UsageError("--distributed", f"this run is a single process; start the ranks with "
                                          f"'mpirun -np N python -m deepkern train {name} --distributed'")


def _is_main_process():
    from .loop import is_main_process
    return is_main_process()


# ---- checkpoints ---------------------------------------------------------------------------------

def _saved_args(args):
    return {k: v for k, v in vars(args).items() if not k.startswith("_") and k != "run"}


def load_checkpoint(path, tasks, flag="--checkpoint"):
    """Read a ``deepkern train`` checkpoint written by one of ``tasks`` (names); a UsageError
    naming ``flag`` for a missing file, a file that is not a train checkpoint, or another task's."""
    from ..serialization import CheckpointError, load

    if not os.path.isfile(path):
        raise UsageError(flag, f"{path}: no such file" + (" (a directory)" if os.path.isdir(path) else ""))
    try:
        ckpt = load(path)
    except CheckpointError as e:
        raise UsageError(flag, f"{path} is not a deepkern checkpoint ({str(e).split(': ', 1)[-1]})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise UsageError(flag, f"{path} was not written by 'deepkern train'")
    if ckpt.get("task") not in tasks:
        wanted = " or ".join(f"'deepkern train {t}'" for t in tasks)
        raise UsageError(flag, f"{path} was written by 'deepkern train {ckpt.get('task')}', not {wanted}")
    return ckpt


@contextlib.contextmanager
def _interrupt_after():
    """Ctrl-C while an epoch is being counted and its checkpoint written takes effect once both
    are done, so the message names the epoch the checkpoint file holds."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda *_: caught.append(True))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def _save_checkpoint(task, done):
    from ..serialization import save

    save({"format": CHECKPOINT_FORMAT, "version": 1, "task": task.name, "unit": task.unit, "done": int(done),
          "args": _saved_args(task.args), "state": task.state_dict(), "history": task.history.state_dict(),
          "rng": json.dumps(_random.generator().bit_generator.state),
          "task_rng": json.dumps(task.rng.bit_generator.state)}, task.args.checkpoint)


def _merge_resumed_args(task_cls, args, saved, explicit):
    """Take the checkpoint's settings for every flag not given again; one given again must agree
    with the checkpoint unless it is one a resumed run may change."""
    free = set(RESUMABLE) | set(task_cls.resume_may_change)
    for dest, value in saved.items():
        if dest in ("checkpoint", "resume", "quiet", "threads", "distributed") or not hasattr(args, dest):
            continue
        if dest not in explicit:
            setattr(args, dest, list(value) if isinstance(value, tuple) else value)
        elif dest not in free and _norm(getattr(args, dest)) != _norm(value):
            raise UsageError(_flag(dest), f"{_show(getattr(args, dest))} differs from the checkpoint's {_show(value)}: "
                                          "a resumed run keeps its settings (drop the flag, or train afresh "
                                          "without --resume)")


def _norm(v):
    return list(v) if isinstance(v, (list, tuple)) else v


def _show(v):
    return " ".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)


# ---- the run ---------------------------------------------------------------------------------------

def _format_logs(logs):
    parts = []
    for k, v in logs.items():
        if isinstance(v, (int, float, np.floating)) and math.isfinite(v):
            parts.append(f"{k} {v:.4g}")
    return ", ".join(parts)


def run(task_cls, args, explicit=frozenset()) -> int:
    """Run ``deepkern train <task>`` with parsed ``args``; ``explicit`` are the dests given on the
    command line (to tell a resumed run's deliberate changes from defaults)."""
    import deepkern as dk

    prog = f"deepkern train {task_cls.name}"
    ckpt = None
    if args.resume:
        ckpt = load_checkpoint(args.checkpoint, (task_cls.name,))
        _merge_resumed_args(task_cls, args, ckpt["args"], explicit)
    elif os.path.isfile(args.checkpoint):
        try:  # never overwrite another task's run (or a file that is no checkpoint) by mistake
            load_checkpoint(args.checkpoint, (task_cls.name,))
        except UsageError as e:
            raise UsageError("--checkpoint", f"{str(e).split(': ', 1)[1]}; refusing to overwrite it "
                                             "(pick another --checkpoint)") from None
    task = task_cls(args)
    task.check()
    if not _is_main_process():  # other ranks of a data-parallel run train silently
        task.quiet = True
        sys.stdout = open(os.devnull, "w")
    if args.threads is not None:
        dk.set_num_threads(args.threads)
    dk.manual_seed(args.seed)
    task.setup()

    done = 0
    if ckpt is not None:
        task.load_state_dict(ckpt["state"])
        task.history.load_state_dict(ckpt["history"])
        _random.generator().bit_generator.state = json.loads(str(ckpt["rng"]))
        task.rng.bit_generator.state = json.loads(str(ckpt["task_rng"]))
        done = int(ckpt["done"])
        print(f"resumed from {task.unit} {done} ({args.checkpoint})", flush=True)
    saved = done if ckpt is not None else None
    unit = task.unit
    try:
        while done < task.epochs and not task.stop_training:
            start = time.perf_counter()
            task.epoch = done
            if unit == "step":
                stop = min(done + args.checkpoint_every, task.epochs)
                logs = task.train_steps(done, stop)
                label = f"step {stop}/{task.epochs}"
            else:
                stop = done + 1
                logs = task.train_epoch(done)
                label = f"epoch {stop}/{task.epochs}"
            logs = dict(logs or {})
            task.history.append(stop - 1, logs)
            with _interrupt_after():
                done = stop
                if _is_main_process():
                    _save_checkpoint(task, done)
                saved = done
            task.log(f"{label}: {_format_logs(logs)} ({time.perf_counter() - start:.1f} s)")
            task.on_epoch_end(logs)
        task.finish()
        if args.plot:
            print(task.plot(args.plot))
    except KeyboardInterrupt:
        if saved is None:
            kept = "no checkpoint was written yet"
        else:
            kept = f"{args.checkpoint} keeps {unit} {saved}: continue with --resume"
        where = f"{unit} {done + 1}/{task.epochs}" if done < task.epochs else "the final evaluation"
        print(f"{prog}: interrupted in {where}; {kept}", file=sys.stderr, flush=True)
        return 130
    return 0
