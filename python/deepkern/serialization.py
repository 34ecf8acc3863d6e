"""dk.save / dk.load: checkpoints without pickle.

A checkpoint is one ``.npz`` archive: every array of the saved object is a member
(``a0``, ``a1``, ...), and the member ``__index__`` holds a UTF-8 JSON document describing the
object's structure, with arrays referenced by member name:

    {"format": "deepkern", "version": 1, "root": NODE}
    NODE = {"array": "a0"} | {"value": int | float | bool | str | null}
         | {"list": [NODE, ...]} | {"tuple": [NODE, ...]} | {"dict": [[key, NODE], ...]}

Dict keys may be str or int (optimizer states are keyed by parameter index) and keep their
type. Arrays are read back with ``allow_pickle=False``: loading a checkpoint never runs code.

Saving is atomic: the archive is written to a temporary file in the target's directory,
flushed to disk, then renamed over the target (``os.replace``), so a crash mid-write leaves
either the old checkpoint or the new one, never a truncated file.
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile

import numpy as np

from ._backend import is_array, is_cupy_array
from .autograd import Tensor

__all__ = ["save", "load", "CheckpointError"]

_FORMAT, _VERSION, _INDEX = "deepkern", 1, "__index__"


def _encode(obj, where, arrays):
    if isinstance(obj, Tensor):
        obj = obj.data
    if is_array(obj):
        host = obj.get() if is_cupy_array(obj) else obj
        if host.dtype.kind not in "biufc":
            raise TypeError(f"dk.save: {where} is an array of dtype {host.dtype}, which cannot be saved "
                            "without pickle (numeric and bool arrays only)")
        name = f"a{len(arrays)}"
        arrays[name] = host
        return {"array": name}
    if isinstance(obj, np.generic):
        obj = obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"value": obj}
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if isinstance(k, np.integer):
                k = int(k)
            if isinstance(k, bool) or not isinstance(k, (str, int)):
                raise TypeError(f"dk.save: {where} has a key {k!r} of type {type(k).__name__} "
                                "(keys must be str or int)")
            items.append([k, _encode(v, f"{where}[{k!r}]", arrays)])
        return {"dict": items}
    if isinstance(obj, (list, tuple)):
        kind = "tuple" if isinstance(obj, tuple) else "list"
        return {kind: [_encode(v, f"{where}[{i}]", arrays) for i, v in enumerate(obj)]}
    if callable(getattr(obj, "state_dict", None)):  # a Module or an optimizer: its state, not the object
        name = type(obj).__name__
        raise TypeError(f"dk.save: {where} is a {name} object; save its state instead: "
                        f"dk.save(model.state_dict(), path), and later build the {name} and call "
                        f"load_state_dict(dk.load(path)) (checkpoints hold arrays, never code)")
    raise TypeError(f"dk.save: cannot save {where} of type {type(obj).__name__} (supported: arrays, Tensors, "
                    "dicts, lists, tuples, int, float, bool, str, None)")


def save(obj, path) -> None:
    """Write ``obj`` (nested dicts/lists/tuples of NumPy/CuPy arrays, Tensors and plain scalars and
    strings, e.g. ``{"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}``)
    to ``path`` atomically. CuPy arrays and Tensors are saved as host arrays. ``path`` is used
    as given (no suffix is added)."""
    path = os.fspath(path)
    arrays = {}
    index = {"format": _FORMAT, "version": _VERSION, "root": _encode(obj, "obj", arrays)}
    blob = np.frombuffer(json.dumps(index).encode("utf-8"), dtype=np.uint8)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **{_INDEX: blob}, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


class CheckpointError(ValueError):
    """A file that is not a valid deepkern checkpoint (unreadable, foreign or corrupt)."""


def _decode(node, archive, path):
    if not isinstance(node, dict) or len(node) != 1:
        raise CheckpointError(f"dk.load: {path} has a corrupt index (bad node {node!r:.80})")
    (kind, body), = node.items()
    if kind == "array":
        if body not in archive.files:
            raise CheckpointError(f"dk.load: {path} is corrupt: array {body!r} is missing")
        return archive[body]
    if kind == "value":
        return body
    if kind in ("list", "tuple"):
        items = [_decode(v, archive, path) for v in body]
        return tuple(items) if kind == "tuple" else items
    if kind == "dict":
        return {k: _decode(v, archive, path) for k, v in body}
    raise CheckpointError(f"dk.load: {path} has a corrupt index (unknown node kind {kind!r})")


def load(path):
    """Read a checkpoint written by ``save``; arrays come back as NumPy arrays (move them with
    ``Module.load_state_dict`` / ``Optimizer.load_state_dict``, which copy onto each parameter's
    device). Raises CheckpointError (a ValueError) for a file that is not a valid deepkern
    checkpoint, FileNotFoundError for a missing one."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"dk.load: no such file: {path}")
    with open(path, "rb") as f:  # our handle: np.load leaks its own on a bad archive
        try:
            archive = np.load(f, allow_pickle=False)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
            raise CheckpointError(f"dk.load: {path} is not a deepkern checkpoint (not a readable .npz archive: "
                                  f"{e})") from None
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise CheckpointError(f"dk.load: {path} is not a deepkern checkpoint (a single .npy array)")
        with archive:
            return _read(archive, path)


def _read(archive, path):
    try:
        if _INDEX not in archive.files:
            raise CheckpointError(f"dk.load: {path} is not a deepkern checkpoint (no {_INDEX} member)")
        index = json.loads(archive[_INDEX].tobytes().decode("utf-8"))
        if not isinstance(index, dict) or index.get("format") != _FORMAT or "root" not in index:
            raise CheckpointError(f"dk.load: {path} is not a deepkern checkpoint (unknown index format)")
        if index.get("version") != _VERSION:
            raise CheckpointError(f"dk.load: {path} has checkpoint version {index.get('version')!r}; "
                                  f"this deepkern reads version {_VERSION}")
        return _decode(index["root"], archive, path)
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, UnicodeDecodeError, ValueError, TypeError, KeyError, EOFError, OSError) as e:
        raise CheckpointError(f"dk.load: {path} is a corrupt deepkern checkpoint ({type(e).__name__}: {e})") from None
