"""Argument validation for deepkern.ops: every public op checks here before any kernel runs.

Errors name the op, the argument, what was expected and what came, e.g.
``conv2d: weight has 3 input channels but x has 4 (x.shape=(8, 4, 32, 32))``.
Wrong kinds and dtypes are TypeError; wrong shapes and values are ValueError.
"""
from __future__ import annotations

import numbers

import numpy as np

from ._backend import array_module, is_array, is_cupy_array

FLOATS = ("float32", "float64")
FLOATS_GPU_HALF = ("float16", "float32", "float64")


_DTYPE_SETS: dict = {}


def _dtype_set(dtypes) -> frozenset:
    """``dtypes`` (names) as a set of np.dtype: membership costs ~0.1 us, str(x.dtype) ~2 us."""
    key = tuple(dtypes)
    found = _DTYPE_SETS.get(key)
    if found is None:
        found = _DTYPE_SETS[key] = frozenset(np.dtype(d) for d in key)
    return found


def _kind(x) -> str:
    if isinstance(x, np.ndarray):
        return "a NumPy array"
    if is_cupy_array(x):
        return "a CuPy array"
    return f"{type(x).__name__}"


def arrays(op: str, dtypes=FLOATS, same_dtype: bool = True, **named):
    """Check the named arrays (None entries are skipped) and return ``(xp, [arrays...])``.

    All arrays must be NumPy or all CuPy (no mixing), of a dtype in ``dtypes``, and (when
    ``same_dtype``) of one dtype: float32 and float64 are never promoted silently.
    Non-contiguous arrays and arrays in the other byte order are copied once to native C order.
    """
    xp = None
    first_name, first = None, None
    out = []
    allowed = _dtype_set(dtypes)
    for name, x in named.items():
        if x is None:
            out.append(None)
            continue
        if not is_array(x):
            raise TypeError(f"{op}: {name} must be a NumPy or CuPy array, got {_kind(x)}")
        if xp is None:
            xp, first_name, first = array_module(x), name, x
        elif array_module(x) is not xp:
            raise TypeError(f"{op}: {first_name} is {_kind(first)} but {name} is {_kind(x)}; "
                            "put all arguments on one device")
        if x.dtype not in allowed:
            if not x.dtype.isnative and x.dtype.newbyteorder("=") in allowed:
                x = x.astype(x.dtype.newbyteorder("="))  # e.g. big-endian '>f4' read from a file
                if name == first_name:
                    first = x
            else:
                raise TypeError(f"{op}: {name} must be {' or '.join(dtypes)}, got {x.dtype.name}")
        if same_dtype and x.dtype != first.dtype:
            raise TypeError(f"{op}: {name} is {x.dtype} but {first_name} is {first.dtype} "
                            "(no implicit promotion; cast one with .astype)")
        out.append(x if x.flags.c_contiguous else xp.ascontiguousarray(x))
    if xp is None:
        raise TypeError(f"{op}: expected at least one array argument")
    return xp, out


def index_array(op: str, name: str, x, xp, dtype="int64"):
    """Integer ids/labels on the same device as the data, as a contiguous ``dtype`` array."""
    if not is_array(x):
        raise TypeError(f"{op}: {name} must be an integer NumPy or CuPy array, got {_kind(x)}")
    if array_module(x) is not xp:
        raise TypeError(f"{op}: {name} is {_kind(x)} but the data is on the other device")
    if x.dtype.kind not in "iu":
        raise TypeError(f"{op}: {name} must be an integer array, got {x.dtype}")
    return xp.ascontiguousarray(x, dtype=dtype).reshape(x.shape)  # ascontiguousarray makes 0-d 1-D


def ndim(op: str, name: str, x, expected: int, layout: str = ""):
    if x.ndim != expected:
        what = f"{expected}-D {layout}".rstrip()
        raise ValueError(f"{op}: {name} must be {what}, got shape {tuple(x.shape)}")


def shape(op: str, name: str, x, expected):
    expected = tuple(expected)
    if tuple(x.shape) != expected:
        raise ValueError(f"{op}: {name} must have shape {expected}, got {tuple(x.shape)}")


def integer(op: str, name: str, v, minimum=None) -> int:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{op}: {name} must be an int, got {type(v).__name__} {v!r}")
    v = int(v)
    if minimum is not None and v < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {v}")
    return v


def pair(op: str, name: str, v, minimum=None) -> tuple:
    """An int or a pair of ints, as a pair (PyTorch's _pair), each >= minimum."""
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {v!r}")
        return tuple(integer(op, f"{name}[{i}]", e, minimum) for i, e in enumerate(v))
    v = integer(op, name, v, minimum)
    return (v, v)


def real(op: str, name: str, v, low=None, high=None) -> float:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise TypeError(f"{op}: {name} must be a real number, got {type(v).__name__} {v!r}")
    v = float(v)
    if (low is not None and v < low) or (high is not None and v > high) or v != v:
        raise ValueError(f"{op}: {name} must be in [{low}, {high}], got {v}")
    return v


def output(op: str, out, shape, dtype, xp):
    """A fresh output from the array module's allocator, or the caller's checked ``out=``."""
    if out is None:
        return xp.empty(shape, dtype=dtype)
    shape = tuple(int(s) for s in shape)
    if not is_array(out) or array_module(out) is not xp:
        raise TypeError(f"{op}: out must be {'a NumPy' if xp is np else 'a CuPy'} array like the inputs, "
                        f"got {_kind(out)}")
    if tuple(out.shape) != shape or out.dtype != np.dtype(dtype):
        raise ValueError(f"{op}: out must have shape {shape} and dtype {np.dtype(dtype)}, "
                         f"got {tuple(out.shape)} {out.dtype}")
    if not out.flags.c_contiguous or not getattr(out.flags, "writeable", True):  # CuPy flags have no writeable
        raise ValueError(f"{op}: out must be C-contiguous and writable")
    return out
