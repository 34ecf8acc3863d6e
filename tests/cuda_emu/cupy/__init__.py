"""A NumPy-backed stand-in for CuPy, for running deepkern's ``cuda`` tests on the emulated CUDA
backend (tests/cuda_emu, docs/cuda_emu.md).

"Device" arrays are ``cupy.ndarray`` objects that hold a host NumPy array and expose it through
``__cuda_array_interface__``, so deepkern's CUDA bindings read their pointers as device pointers
and the emulated kernels work on them in place. The stand-in keeps CuPy's rules where a GPU
would enforce them, so code that only works by accident on the host fails here as on a GPU:

* a ``cupy.ndarray`` is not a ``numpy.ndarray``; implicit conversion (``np.asarray(x)``) raises
  TypeError as CuPy does, and mixing NumPy arrays into device arithmetic or device functions
  raises TypeError ("Unsupported type"); only ``asarray``/``array`` copy host data in;
* reductions return 0-d device arrays, not NumPy scalars;
* ``flags`` has CuPy's fields (``c_contiguous``, ``f_contiguous``, ``owndata``), no ``writeable``.

Everything computes with NumPy on the host, eagerly: streams are placeholders (pointer 0).
"""
from __future__ import annotations

import sys as _sys
import types as _types

import numpy as _np

__version__ = "13.0.0+cuda_emu"

# dtypes and constants, as CuPy re-exports them
for _name in ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
              "uint64", "bool_", "complex64", "complex128", "dtype", "newaxis", "pi", "e", "inf", "nan",
              "integer", "floating", "number", "generic", "finfo", "iinfo", "result_type", "can_cast",
              "promote_types", "ndindex"):
    globals()[_name] = getattr(_np, _name)


def _unsupported(x):
    return TypeError(f"Unsupported type {type(x)}")


class _Flags:
    """CuPy's ndarray.flags: no 'writeable' (a device array is always writable)."""

    def __init__(self, a):
        self.c_contiguous = bool(a.flags.c_contiguous)
        self.f_contiguous = bool(a.flags.f_contiguous)
        self.owndata = bool(a.flags.owndata)

    def __getitem__(self, key):
        return {"C_CONTIGUOUS": self.c_contiguous, "F_CONTIGUOUS": self.f_contiguous,
                "OWNDATA": self.owndata}[key]


class _MemoryPointer:
    def __init__(self, ptr):
        self.ptr = ptr


class ndarray:  # noqa: N801 — CuPy's name
    """A device array: a host NumPy array seen through ``__cuda_array_interface__``."""

    __slots__ = ("_a",)
    __array_priority__ = 100

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        self._a = _np.empty(shape, dtype=dtype, order=order)

    @classmethod
    def _wrap(cls, a):
        obj = object.__new__(cls)
        obj._a = a
        return obj

    # -- the device-array protocol deepkern's bindings read
    @property
    def __cuda_array_interface__(self):
        a = self._a
        data = a.__array_interface__["data"][0] if a.size else 0
        return {"shape": a.shape, "typestr": a.dtype.str, "data": (data, False), "version": 3,
                "strides": None if a.flags.c_contiguous else a.strides, "descr": [("", a.dtype.str)]}

    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. "
                        "Please use `.get()` to construct a NumPy array explicitly.")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        try:
            inputs = _unwrap(inputs)
            kwargs = _unwrap(kwargs)
        except TypeError:
            return NotImplemented
        return _wrap(getattr(ufunc, method)(*inputs, **kwargs))

    def __array_function__(self, func, types, args, kwargs):
        return _wrap(func(*_unwrap(args), **_unwrap(kwargs)))

    # -- attributes
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: _Flags(self._a))
    data = property(lambda self: _MemoryPointer(self._a.__array_interface__["data"][0]))
    device = property(lambda self: cuda.Device(0))
    T = property(lambda self: ndarray._wrap(self._a.T))
    real = property(lambda self: ndarray._wrap(self._a.real))
    imag = property(lambda self: ndarray._wrap(self._a.imag))

    @property
    def base(self):
        return None if self._a.base is None else ndarray._wrap(self._a.base)

    @shape.setter
    def shape(self, value):
        self._a.shape = value

    # -- device <-> host
    def get(self, stream=None, order="C", out=None, blocking=True):
        host = _np.array(self._a, order=order)
        if out is not None:
            out[...] = host
            return out
        return host

    def set(self, arr, stream=None):
        if not isinstance(arr, _np.ndarray):
            raise TypeError(f"Only numpy.ndarray can be set to cupy.ndarray, got {type(arr)}")
        if arr.shape != self._a.shape:
            raise ValueError("Shape mismatch")
        self._a[...] = arr

    def item(self, *args):
        return self._a.item(*args)

    def tolist(self):
        return self._a.tolist()

    # -- Python protocols
    def __len__(self):
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (ndarray._wrap(self._a[i]) for i in range(len(self._a)))

    def __bool__(self):
        return bool(self._a)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __complex__(self):
        return complex(self._a)

    def __index__(self):
        return self._a.__index__()

    def __repr__(self):
        return repr(self._a).replace("array(", "array(", 1)

    def __str__(self):
        return str(self._a)

    def __format__(self, spec):
        return format(self._a, spec) if self._a.ndim == 0 else str(self)

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    def __reduce__(self):  # pickles as a device array holding the host data
        return (_rebuild, (self._a.copy(),))

    def __dlpack__(self, *args, **kwargs):
        raise TypeError("the CuPy stand-in does not export DLPack")

    __hash__ = None

    def __getitem__(self, key):
        return _wrap(self._a[_unwrap_index(key)])

    def __setitem__(self, key, value):
        if isinstance(value, ndarray):
            value = value._a
        self._a[_unwrap_index(key)] = value

    # -- methods (NumPy's, on the device)
    def copy(self, order="C"):
        return ndarray._wrap(self._a.copy(order=order))

    def astype(self, dtype, order="K", casting=None, subok=None, copy=True):
        return ndarray._wrap(self._a.astype(dtype, order=order, copy=copy))

    def view(self, dtype=None):
        return ndarray._wrap(self._a.view() if dtype is None else self._a.view(dtype))

    def fill(self, value):
        self._a.fill(value)

    def __getattr__(self, name):
        attr = getattr(self._a, name)
        if not callable(attr):
            return _wrap(attr)

        def method(*args, **kwargs):
            # Host integer vectors are parameters here (axes, shapes), which CuPy accepts.
            return _wrap(attr(*_unwrap(args, host_ints=True), **_unwrap(kwargs, host_ints=True)))

        method.__name__ = name
        return method


def _rebuild(a):
    return ndarray._wrap(a)


def _make_binary(name):
    def op(self, other):
        if isinstance(other, _np.ndarray):
            raise _unsupported(other)
        return _wrap(getattr(self._a, name)(other._a if isinstance(other, ndarray) else _unwrap(other)))
    op.__name__ = name
    return op


def _make_inplace(name):
    def op(self, other):
        if isinstance(other, _np.ndarray):
            raise _unsupported(other)
        getattr(self._a, name)(other._a if isinstance(other, ndarray) else _unwrap(other))
        return self
    op.__name__ = name
    return op


def _make_unary(name):
    def op(self):
        return _wrap(getattr(self._a, name)())
    op.__name__ = name
    return op


for _op in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor", "lshift",
            "rshift", "divmod"):
    setattr(ndarray, f"__{_op}__", _make_binary(f"__{_op}__"))
    setattr(ndarray, f"__r{_op}__", _make_binary(f"__r{_op}__"))
    if _op != "divmod":
        setattr(ndarray, f"__i{_op}__", _make_inplace(f"__i{_op}__"))
for _op in ("lt", "le", "eq", "ne", "gt", "ge"):
    setattr(ndarray, f"__{_op}__", _make_binary(f"__{_op}__"))
for _op in ("neg", "pos", "abs", "invert"):
    setattr(ndarray, f"__{_op}__", _make_unary(f"__{_op}__"))


def _wrap(x):
    """NumPy results -> device arrays (NumPy scalars become 0-d arrays, as CuPy returns)."""
    if isinstance(x, _np.ndarray):
        return ndarray._wrap(x)
    if isinstance(x, _np.generic):
        return ndarray._wrap(_np.asarray(x))
    if isinstance(x, tuple):
        return tuple(_wrap(v) for v in x)
    if isinstance(x, list):
        return [_wrap(v) for v in x]
    return x


def _unwrap(x, host_ints=False):
    """Device arrays -> their host arrays; a NumPy array among device arguments is a TypeError
    (with host_ints, a 0-d or 1-d integer one is taken as a parameter: an axis list, a shape)."""
    if isinstance(x, ndarray):
        return x._a
    if isinstance(x, _np.ndarray):
        if host_ints and x.ndim <= 1 and x.dtype.kind in "iu":
            return x
        raise _unsupported(x)
    if isinstance(x, tuple):
        return tuple(_unwrap(v, host_ints) for v in x)
    if isinstance(x, list):
        return [_unwrap(v, host_ints) for v in x]
    if isinstance(x, dict):
        return {k: _unwrap(v, host_ints) for k, v in x.items()}
    return x


def _unwrap_index(key):
    # CuPy accepts host (NumPy) index arrays as well as device ones.
    if isinstance(key, ndarray):
        return key._a
    if isinstance(key, tuple):
        return tuple(k._a if isinstance(k, ndarray) else k for k in key)
    return key


def _device_function(f, name):
    def wrapper(*args, **kwargs):
        return _wrap(f(*_unwrap(args), **_unwrap(kwargs)))
    wrapper.__name__ = name
    wrapper.__doc__ = f"cupy.{name} (NumPy's, on the emulated device)"
    return wrapper


class _Ufunc:
    """A NumPy ufunc on device arrays, with its methods (at, reduce, outer, accumulate)."""

    def __init__(self, uf):
        self._uf = uf
        self.__name__ = uf.__name__

    def __call__(self, *args, **kwargs):
        return _wrap(self._uf(*_unwrap(args), **_unwrap(kwargs)))

    def __getattr__(self, name):
        attr = getattr(self._uf, name)
        return _device_function(attr, f"{self.__name__}.{name}") if callable(attr) else attr


# -- array creation: the only functions that take host data
def asarray(a, dtype=None, order=None, *, blocking=False):
    if isinstance(a, ndarray):
        return a if dtype is None or a.dtype == _np.dtype(dtype) else a.astype(dtype)
    return ndarray._wrap(_np.array(a, dtype=dtype, order=order or "K", copy=True))


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    if isinstance(obj, ndarray):
        return ndarray._wrap(_np.array(obj._a, dtype=dtype, copy=copy, order=order, ndmin=ndmin))
    return ndarray._wrap(_np.array(obj, dtype=dtype, copy=True, order=order, ndmin=ndmin))


def ascontiguousarray(a, dtype=None):
    if not isinstance(a, ndarray):
        raise _unsupported(a)
    return ndarray._wrap(_np.ascontiguousarray(a._a, dtype=dtype))


def asnumpy(a, stream=None, order="C", out=None, blocking=True):
    if isinstance(a, ndarray):
        return a.get(order=order, out=out)
    return _np.asarray(a, order=order)


def get_array_module(*args):
    return _sys.modules[__name__] if any(isinstance(a, ndarray) for a in args) else _np


def __getattr__(name):
    f = getattr(_np, name)  # AttributeError for what NumPy lacks too
    if isinstance(f, _np.ufunc):
        return _Ufunc(f)
    if callable(f) and not isinstance(f, type):
        return _device_function(f, name)
    return f


# -- submodules
def _submodule(name, source, names):
    mod = _types.ModuleType(f"{__name__}.{name}")
    for n in names:
        setattr(mod, n, _device_function(getattr(source, n), f"{name}.{n}"))
    _sys.modules[mod.__name__] = mod
    return mod


linalg = _submodule("linalg", _np.linalg, ["norm", "inv", "solve", "det", "svd", "qr", "eigh", "cholesky"])
fft = _submodule("fft", _np.fft, ["fft", "ifft", "rfft", "irfft", "fft2", "ifft2"])


class _Random(_types.ModuleType):
    """cupy.random: a seeded NumPy RandomState whose draws land on the device."""

    def __init__(self):
        super().__init__(f"{__name__}.random")
        self._state = _np.random.RandomState()

    def seed(self, seed=None):
        self._state = _np.random.RandomState(seed)

    def default_rng(self, seed=None):
        return _np.random.default_rng(seed)

    def __getattr__(self, name):
        f = getattr(self._state, name)
        return _device_function(f, f"random.{name}") if callable(f) else f


random = _Random()
_sys.modules[random.__name__] = random


class _Stream:
    """A stream placeholder: every emulated launch is synchronous."""

    null = None

    def __init__(self, null=False, non_blocking=False, ptds=False):
        self.ptr = 0

    def synchronize(self):
        pass

    def use(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class _Event:
    def __init__(self, block=False, disable_timing=False, interprocess=False):
        import time
        self._clock = time.perf_counter
        self._t = None

    def record(self, stream=None):
        self._t = self._clock()

    def synchronize(self):
        pass


class _Device:
    def __init__(self, device=None):
        self.id = 0 if device is None else int(device)
        if self.id != 0:
            raise ValueError(f"the emulated CUDA backend has one device (0), not {self.id}")

    compute_capability = "90"

    def synchronize(self):
        pass

    def use(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _elapsed_ms(start, end):
    return (end._t - start._t) * 1e3


cuda = _types.ModuleType(f"{__name__}.cuda")
cuda.is_available = lambda: True
cuda.get_current_stream = lambda: _Stream()
cuda.Stream = _Stream
cuda.Stream.null = _Stream(null=True)
cuda.Event = _Event
cuda.Device = _Device
cuda.get_elapsed_time = _elapsed_ms
cuda.runtime = _types.SimpleNamespace(getDeviceCount=lambda: 1, deviceSynchronize=lambda: None,
                                      runtimeGetVersion=lambda: 13000)
_sys.modules[cuda.__name__] = cuda
