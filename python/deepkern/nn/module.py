"""Module and Parameter: the PyTorch-shaped container for layers.

A Module holds Parameters (trainable tensors), buffers (arrays saved with the state but not
trained, e.g. BatchNorm's running statistics) and child Modules, registered by attribute
assignment. ``state_dict()`` keys are the dotted attribute paths, exactly as PyTorch names them
for the same architecture, so weights move between the two.
"""
from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np

from .._backend import is_array
from .._device import device_of, to_device
from ..autograd import Tensor

__all__ = ["Module", "Parameter"]


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Parameter(Tensor):
    """A Tensor that is a module's trainable weight (``requires_grad=True`` by default)."""

    def __init__(self, data, requires_grad: bool = True, dtype=None):
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)

    def __repr__(self):
        return f"Parameter(shape={self.shape}, dtype={self.dtype})"


class Module:
    """Base class of layers and models. Subclasses set attributes in ``__init__`` and define
    ``forward``; calling the module calls ``forward``."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ---- registration ----------------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() "
                                 f"before assigning {name!r}")
        if name in self._buffers and (value is None or is_array(value) or isinstance(value, np.generic)):
            # As PyTorch: assigning to a buffer updates it (NumPy turns 0-d results into scalars).
            self._buffers[name] = np.asarray(value) if isinstance(value, np.generic) else value
            return
        for store in (self._parameters, self._buffers, self._modules):
            store.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        else:
            object.__setattr__(self, name, value)
            return
        self.__dict__.pop(name, None)

    def __getattr__(self, name):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name: str, array):
        """A non-trainable array saved in state_dict (None allowed: declared, not yet set)."""
        if array is not None and not is_array(array):
            raise TypeError(f"register_buffer: {name} must be a NumPy/CuPy array, got {type(array).__name__}")
        self.__dict__.pop(name, None)
        self._buffers[name] = array

    def register_parameter(self, name: str, param):
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name} must be a Parameter, got {type(param).__name__}")
        self.__dict__.pop(name, None)
        self._parameters[name] = param

    def add_module(self, name: str, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name} must be a Module, got {type(module).__name__}")
        self._modules[name] = module

    # ---- calling -----------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ---- traversal ---------------------------------------------------------------------
    def named_modules(self, prefix: str = "", memo=None):
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(f"{prefix}.{name}" if prefix else name, memo)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_parameters(self, prefix: str = "", recurse: bool = True):
        """(name, Parameter) pairs; a Parameter shared by two modules (tying) appears once."""
        seen = set()
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mprefix, m in mods:
            for name, p in m._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mprefix}.{name}" if mprefix else name), p

    def parameters(self, recurse: bool = True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = ""):
        for mprefix, m in self.named_modules(prefix):
            for name, b in m._buffers.items():
                if b is not None:
                    yield (f"{mprefix}.{name}" if mprefix else name), b

    def buffers(self):
        for _, b in self.named_buffers():
            yield b

    # ---- state ---------------------------------------------------------------------------
    def state_dict(self) -> "OrderedDict[str, object]":
        """Parameters and buffers by dotted name, as arrays (PyTorch's key order: per module,
        its parameters then its buffers, then its children). Tied parameters appear under
        every name, as in PyTorch."""
        out = OrderedDict()

        def visit(m, prefix):
            for name, p in m._parameters.items():
                if p is not None:
                    out[prefix + name] = p.data
            for name, b in m._buffers.items():
                if b is not None:
                    out[prefix + name] = b
            for name, c in m._modules.items():
                if c is not None:
                    visit(c, prefix + name + ".")

        visit(self, "")
        return out

    def load_state_dict(self, state, strict: bool = True):
        """Copy arrays from ``state`` (name -> array, e.g. from state_dict() or dk.load, or a
        PyTorch state dict converted with ``.numpy()``) into this module's parameters and
        buffers, validating names, shapes and dtypes. Returns ``(missing_keys, unexpected_keys)``
        (a named tuple, as PyTorch); with ``strict`` (the default) either being non-empty is a
        KeyError before anything is copied."""
        own = self.state_dict()
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if strict and (missing or unexpected):
            raise KeyError(f"load_state_dict: missing keys {missing}, unexpected keys {unexpected}")
        targets = {}
        for mprefix, m in self.named_modules():
            pre = mprefix + "." if mprefix else ""
            for name in m._parameters:
                targets[pre + name] = (m, name, "param")
            for name in m._buffers:
                targets[pre + name] = (m, name, "buffer")
        for key, value in state.items():
            if key not in own:
                continue
            value = value.data if isinstance(value, Tensor) else value
            if hasattr(value, "detach") and hasattr(value, "numpy") and not is_array(value):
                value = value.detach().cpu().numpy()  # a torch tensor
            if not is_array(value):
                value = np.asarray(value)
            cur = own[key]
            if tuple(value.shape) != tuple(cur.shape):
                raise ValueError(f"load_state_dict: {key} has shape {tuple(value.shape)} in the state "
                                 f"but {tuple(cur.shape)} in the module")
            if value.dtype != cur.dtype and not (value.dtype.kind == cur.dtype.kind == "i"):
                raise TypeError(f"load_state_dict: {key} is {value.dtype} in the state but {cur.dtype} "
                                "in the module (convert the module with .double()/.float() first)")
            m, name, kind = targets[key]
            value = to_device(value, device_of(cur)).astype(cur.dtype, copy=True)
            if kind == "param":
                m._parameters[name].data = value
            else:
                m._buffers[name] = value
        return IncompatibleKeys(missing, unexpected)

    # ---- modes, devices, dtypes ------------------------------------------------------------
    def train(self, mode: bool = True):
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self):
        for p in self.parameters():
            p.grad = None

    def _apply(self, fn_param, fn_buffer):
        for m in self.modules():
            for p in m._parameters.values():
                if p is not None:
                    p.data = fn_param(p.data)
                    if p.grad is not None:
                        p._grad = fn_param(p.grad.data)
            for name, b in list(m._buffers.items()):
                if b is not None:
                    m._buffers[name] = fn_buffer(b)
        return self

    def to(self, device: str):
        """Move parameters and buffers to 'cpu' (NumPy) or 'cuda' (CuPy), in place."""
        return self._apply(lambda a: to_device(a, device), lambda a: to_device(a, device))

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def _cast_floats(self, dtype):
        cast = lambda a: a.astype(dtype) if a.dtype.kind == "f" else a  # noqa: E731
        return self._apply(cast, cast)

    def double(self):
        return self._cast_floats(np.float64)

    def float(self):
        return self._cast_floats(np.float32)

    @property
    def device(self) -> str:
        for p in self.parameters():
            return device_of(p.data)
        return "cpu"

    def num_parameters(self) -> int:
        return int(sum(p.size for p in self.parameters()))

    # ---- printing --------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        lines = []
        for name, m in self._modules.items():
            child = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {child}")
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"

