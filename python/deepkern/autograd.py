"""Tape-based reverse-mode autograd over NumPy/CuPy arrays.

A ``Tensor`` wraps an array. Calling a ``Function`` on tensors runs its ``forward`` on the raw
arrays and, when gradients are wanted, records the function as the result's ``_ctx``.
``Tensor.backward`` walks the recorded graph in reverse topological order, calling each
function's ``backward`` once with the summed gradients of all its outputs; leaf tensors that
``requires_grad`` accumulate into ``.grad`` (so a tensor used twice — parameter tying — gets
the sum of both gradients).

Writing a differentiable op::

    class Relu(Function):
        def forward(self, x):
            self.save_for_backward(x)
            return ops.relu(x)

        def backward(self, grad):
            (x,) = self.saved
            return ops.relu_backward(grad, x)

    y = Relu.apply(t)

``forward`` receives arrays for Tensor arguments and other arguments unchanged, and returns an
array or a tuple of arrays. ``backward`` receives one gradient array per output and returns one
gradient (or None) per positional argument of ``forward``.
"""
from __future__ import annotations

import contextlib
import threading

import numpy as np

from ._backend import array_module, is_array

__all__ = ["Tensor", "Function", "no_grad", "enable_grad", "is_grad_enabled", "queue_callback"]

_state = threading.local()


def is_grad_enabled() -> bool:
    return getattr(_state, "enabled", True)


@contextlib.contextmanager
def _grad_mode(enabled: bool):
    prev = is_grad_enabled()
    _state.enabled = enabled
    try:
        yield
    finally:
        _state.enabled = prev


def no_grad():
    """Context manager: operations inside record nothing for backward."""
    return _grad_mode(False)


def enable_grad():
    return _grad_mode(True)


def queue_callback(fn) -> None:
    """Run ``fn()`` once the backward pass now running has finished (PyTorch's
    ``Variable._execution_engine.queue_callback``): what a gradient hook starts, e.g. an
    asynchronous all-reduce, a queued callback waits for."""
    queue = getattr(_state, "callbacks", None)
    if queue is None:
        raise RuntimeError("queue_callback: only possible during a backward pass")
    queue.append(fn)


class Function:
    """Base class of differentiable operations (see the module docstring)."""

    def __init__(self):
        self.inputs = ()            # Tensor or None per positional argument
        self.needs_input_grad = ()
        self.saved = ()
        self._outputs_meta = ()     # (shape, dtype) per output, to zero-fill unused grads

    def save_for_backward(self, *arrays):
        self.saved = arrays

    def forward(self, *args, **kwargs):
        raise NotImplementedError

    def backward(self, *grads):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        fn = cls()
        raw, needs = [], []  # one pass over the arguments: this runs on every op call
        for a in args:
            if isinstance(a, Tensor):
                raw.append(a._data)
                needs.append(a.requires_grad)
            else:
                raw.append(a)
                needs.append(False)
        result = fn.forward(*raw, **kwargs)
        multi = isinstance(result, tuple)
        outs = result if multi else (result,)
        tracked = True in needs and is_grad_enabled()
        if tracked:
            fn.inputs = tuple(a if isinstance(a, Tensor) else None for a in args)
            fn.needs_input_grad = tuple(needs)
            fn._outputs_meta = tuple((o.shape, o.dtype) for o in outs)
        tensors = []
        for i, o in enumerate(outs):
            t = Tensor(o, requires_grad=tracked)
            if tracked:
                t._ctx, t._out_index = fn, i
            tensors.append(t)
        return tuple(tensors) if multi else tensors[0]


class _Size(int):
    """``t.size``: the element count, as NumPy's ``ndarray.size``; called, the shape, as
    PyTorch's ``Tensor.size()`` / ``Tensor.size(dim)``. Both conventions work on one name."""

    def __new__(cls, shape):
        obj = super().__new__(cls, int(np.prod(shape, dtype=np.int64)))
        obj._shape = tuple(int(s) for s in shape)
        return obj

    def __call__(self, dim=None):
        if dim is None:
            return self._shape
        n = len(self._shape)
        if not isinstance(dim, (int, np.integer)) or not -n <= dim < max(n, 1):
            raise IndexError(f"size: dim {dim!r} is out of range for a {n}-D tensor of shape {self._shape}")
        return self._shape[dim]


class Tensor:
    """An array with an optional gradient.

    ``data`` is a NumPy or CuPy array. ``grad`` is a Tensor of the same shape once backward has
    run (or assigned by hand: an array or a Tensor), sharing memory with the accumulated
    gradient, so PyTorch's idioms (``p.grad.data``, ``p.grad.zero_()``) work on it. Only leaf
    tensors (created by the user, ``requires_grad=True``) keep ``grad``; intermediate results
    pass gradients through. ``t.size`` is NumPy's element count and ``t.size()`` PyTorch's shape.
    """

    __array_priority__ = 1000  # ndarray (op) Tensor defers to Tensor's reflected operators

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        if type(data) is not np.ndarray or dtype is not None:  # an op's result skips the conversions
            if isinstance(data, Tensor):
                data = data.data
            if isinstance(data, np.generic):  # a NumPy scalar (e.g. from a full reduction) keeps its dtype
                data = np.asarray(data)
            if not is_array(data):
                # Python floats and lists become float32, PyTorch's default dtype.
                data = np.asarray(data, dtype=dtype)
                if data.dtype.kind == "f" and dtype is None:
                    data = data.astype(np.float32)
            elif dtype is not None and data.dtype != np.dtype(dtype):
                data = data.astype(dtype)
        self._data = data
        self.requires_grad = bool(requires_grad)
        self._grad = None
        self._ctx = None
        self._out_index = 0
        self._post_accumulate_hooks = None

    # ---- basic properties -------------------------------------------------------------
    @property
    def data(self):
        """The NumPy or CuPy array (assigning a Tensor stores its array, as ``p.data = t``
        does in PyTorch)."""
        return self._data

    @data.setter
    def data(self, value):
        self._data = value.data if isinstance(value, Tensor) else value

    @property
    def grad(self):
        return None if self._grad is None else Tensor(self._grad)

    @grad.setter
    def grad(self, value):
        if value is not None:
            if isinstance(value, Tensor):
                value = value.data
            if isinstance(value, np.generic):  # e.g. the gradient of a 0-d parameter
                value = np.asarray(value)
            if not is_array(value):
                raise TypeError(f"grad must be a NumPy or CuPy array, got {type(value).__name__}")
            if tuple(value.shape) != tuple(self.shape):
                raise ValueError(f"grad has shape {tuple(value.shape)} but the tensor has shape {self.shape}")
        self._grad = value

    @property
    def shape(self):
        return tuple(self.data.shape)

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return _Size(self.data.shape)

    def numel(self) -> int:
        return int(self.data.size)

    def dim(self) -> int:
        return self.data.ndim

    @property
    def device(self) -> str:
        return "cpu" if isinstance(self.data, np.ndarray) else "cuda"

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({self.data!r}{grad})"

    def numpy(self):
        """The data as a NumPy array (copied from the GPU when needed)."""
        return self.data if isinstance(self.data, np.ndarray) else self.data.get()

    def __array__(self, dtype=None, copy=None):
        """``np.asarray(t)``: the data on the host (NumPy's array protocol)."""
        host = self.numpy()
        return host if dtype is None else host.astype(dtype, copy=False)

    def tolist(self):
        """The values as (nested) Python lists of numbers, as PyTorch's ``tolist``."""
        return self.numpy().tolist()

    def clone(self) -> "Tensor":
        """A copy of the data, differentiable (the gradient flows back to this tensor)."""
        return self * 1 if self.requires_grad else Tensor(self.data.copy())

    def zero_(self) -> "Tensor":
        """Fill with zeros in place (e.g. ``p.grad.zero_()``), as PyTorch."""
        self.data[...] = 0
        return self

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"the truth value of a Tensor of shape {self.shape} is ambiguous (use .any() or .all() "
                             "on .data)")
        return bool(self.item())

    # Comparisons are elementwise (bool Tensors, no gradient), as PyTorch; tensors stay hashable
    # by identity, so they still key dicts (optimizer state) and sets.
    __hash__ = object.__hash__

    def _compare(self, other, op):
        other = other.data if isinstance(other, Tensor) else other
        return Tensor(op(self.data, other))

    def __eq__(self, other):
        return self._compare(other, lambda a, b: a == b)

    def __ne__(self, other):
        return self._compare(other, lambda a, b: a != b)

    def __lt__(self, other):
        return self._compare(other, lambda a, b: a < b)

    def __le__(self, other):
        return self._compare(other, lambda a, b: a <= b)

    def __gt__(self, other):
        return self._compare(other, lambda a, b: a > b)

    def __ge__(self, other):
        return self._compare(other, lambda a, b: a >= b)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def item(self):
        """The one value as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.reshape(()).item()

    def detach(self) -> "Tensor":
        return Tensor(self.data, requires_grad=False)

    def requires_grad_(self, flag: bool = True) -> "Tensor":
        self.requires_grad = flag
        return self

    def zero_grad(self):
        self._grad = None

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` after a backward pass has accumulated this leaf's whole gradient
        into ``.grad`` (once per pass, after every use's contribution is summed). Returns a handle
        whose ``remove()`` unregisters it."""
        if not self.is_leaf:
            raise RuntimeError("register_post_accumulate_grad_hook: only leaf tensors accumulate gradients")
        if not callable(hook):
            raise TypeError(f"register_post_accumulate_grad_hook: hook must be callable, got {type(hook).__name__}")
        if self._post_accumulate_hooks is None:
            self._post_accumulate_hooks = []
        self._post_accumulate_hooks.append(hook)
        return _HookHandle(self._post_accumulate_hooks, hook)

    def to(self, device: str) -> "Tensor":
        from ._device import to_device
        return Tensor(to_device(self.data, device), requires_grad=self.requires_grad)

    def astype(self, dtype) -> "Tensor":
        from .functional.basic import Cast
        return Cast.apply(self, dtype=np.dtype(dtype))

    def float(self):
        return self.astype(np.float32)

    def double(self):
        return self.astype(np.float64)

    # ---- backward ---------------------------------------------------------------------
    def backward(self, grad=None):
        """Accumulate d(self)/d(leaf) * grad into every leaf's ``.grad``.

        ``grad`` (an array, Tensor or Python number, of this tensor's shape) defaults to ones for
        a one-element tensor; otherwise it is required.
        """
        if not self.requires_grad:
            raise RuntimeError("backward: this tensor does not require grad (no input had requires_grad=True)")
        xp = array_module(self.data)
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(f"backward: grad must be given for a non-scalar tensor of shape {self.shape}")
            grad = xp.ones_like(self.data)
        else:
            grad = grad.data if isinstance(grad, Tensor) else grad
            if not is_array(grad):  # a Python or NumPy number, or a list
                grad = xp.asarray(grad, dtype=self.dtype)
            if tuple(grad.shape) != self.shape:
                raise ValueError(f"backward: grad has shape {tuple(grad.shape)} but the tensor has shape {self.shape}")
        outer = getattr(_state, "callbacks", None)
        _state.callbacks = []
        try:
            if self._ctx is None:
                _accumulate(self, grad)
                _run_hooks(self)
            else:
                _backward_graph(self, grad, xp)
            while _state.callbacks:
                _state.callbacks.pop(0)()
        finally:
            _state.callbacks = outer

    # ---- operators (defined in functional.basic, attached below) ------------------------


def _backward_graph(root: Tensor, grad, xp) -> None:
    # Reverse topological order over Function nodes (iterative post-order DFS).
    order, seen = [], set()
    stack = [(root._ctx, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for inp in node.inputs:
            if inp is not None and inp._ctx is not None and id(inp._ctx) not in seen:
                stack.append((inp._ctx, False))
    # Leaves with hooks: how many gradient contributions each can receive in this pass, so a
    # hook fires once its leaf's gradient is complete (hooks of leaves some of whose
    # contributions never came fire at the end).
    uses = {}
    for node in order:
        for inp, need in zip(node.inputs, node.needs_input_grad):
            if need and inp._ctx is None and inp._post_accumulate_hooks:
                uses[id(inp)] = uses.get(id(inp), 0) + 1
    unfinished = {}
    pending = {id(root._ctx): [None] * len(root._ctx._outputs_meta)}
    pending[id(root._ctx)][root._out_index] = grad
    for node in reversed(order):
        grads = pending.pop(id(node), None)
        if grads is None:
            continue
        grads = [g if g is not None else _zeros_like_meta(xp, meta)
                 for g, meta in zip(grads, node._outputs_meta)]
        in_grads = node.backward(*grads)
        if not isinstance(in_grads, tuple):
            in_grads = (in_grads,)
        for inp, need, g in zip(node.inputs, node.needs_input_grad, in_grads):
            if not need or g is None:
                continue
            if tuple(g.shape) != inp.shape:
                raise RuntimeError(f"{type(node).__name__}.backward returned a gradient of shape "
                                   f"{tuple(g.shape)} for an input of shape {inp.shape}")
            if inp._ctx is None:
                _accumulate(inp, g, owned=_fresh(g, node, grads, in_grads))
                if id(inp) in uses:
                    uses[id(inp)] -= 1
                    unfinished[id(inp)] = inp
                    if uses[id(inp)] == 0:
                        del unfinished[id(inp)]
                        _run_hooks(inp)
            else:
                slots = pending.setdefault(id(inp._ctx), [None] * len(inp._ctx._outputs_meta))
                i = inp._out_index
                slots[i] = g if slots[i] is None else slots[i] + g
    for leaf in unfinished.values():
        _run_hooks(leaf)


def _run_hooks(t: Tensor) -> None:
    if t.requires_grad and t._post_accumulate_hooks:
        for hook in list(t._post_accumulate_hooks):
            hook(t)


class _HookHandle:
    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _zeros_like_meta(xp, meta):
    shape, dtype = meta
    return xp.zeros(shape, dtype=dtype)


def _fresh(g, node, grads, in_grads) -> bool:
    """Whether ``g``, a gradient ``node.backward`` returned, is an array it just made: not a
    view or read-only, not the incoming gradient, not returned for two inputs, not an input,
    a saved array or an attribute of the node. A leaf may then keep it as its .grad without a
    copy (PyTorch steals such gradients too); copying a large model's gradients every step
    cost as much as a layer's backward."""
    if getattr(g, "base", 0) is not None or not getattr(getattr(g, "flags", None), "writeable", True):
        return False
    if sum(x is g for x in in_grads) > 1 or any(x is g for x in grads) or any(x is g for x in node.saved):
        return False
    if any(inp is not None and inp._data is g for inp in node.inputs):
        return False
    return not any(v is g for v in vars(node).values())


def _accumulate(t: Tensor, g, owned: bool = False):
    """t.grad += g; a first gradient is copied unless ``owned`` (nobody else holds it)."""
    if t.requires_grad:
        if t._grad is None:
            t._grad = g if owned else g.copy()
        else:
            t._grad = t._grad + g
