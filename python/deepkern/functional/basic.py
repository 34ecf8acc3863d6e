"""Tensor arithmetic and shape operations (broadcasting like NumPy), and the Tensor operators.

These run through the array module (NumPy/CuPy) directly: they are glue between kernels, not
kernels. Binary operations require both operands to have one dtype (no silent promotion);
Python scalars adopt the tensor's dtype.
"""
from __future__ import annotations

import builtins

import numpy as np

from .. import ops
from .._backend import array_module, is_array
from ..autograd import Function, Tensor


def _unbroadcast(grad, shape):
    """Sum grad over the axes along which an operand of ``shape`` was broadcast."""
    if tuple(grad.shape) == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad


def _operands(a, b, op):
    """Turn scalars into arrays of the tensor operand's dtype; reject mixed float dtypes."""
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    da = a.data if ta else a
    db = b.data if tb else b
    ref = da if ta else db
    xp = array_module(ref)
    if not is_array(da):
        da = xp.asarray(da, dtype=ref.dtype)
    if not is_array(db):
        db = xp.asarray(db, dtype=ref.dtype)
    if da.dtype != db.dtype and da.dtype.kind == "f" and db.dtype.kind == "f":
        raise TypeError(f"{op}: operands are {da.dtype} and {db.dtype} (no implicit promotion; "
                        "cast one with .astype)")
    return (a if ta else da), (b if tb else db)


class Add(Function):
    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        return a + b

    def backward(self, g):
        return _unbroadcast(g, self.shapes[0]), _unbroadcast(g, self.shapes[1])


class Sub(Function):
    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        return a - b

    def backward(self, g):
        return _unbroadcast(g, self.shapes[0]), _unbroadcast(-g, self.shapes[1])


class Mul(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a * b

    def backward(self, g):
        a, b = self.saved
        return _unbroadcast(g * b, a.shape), _unbroadcast(g * a, b.shape)


class Div(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a / b

    def backward(self, g):
        a, b = self.saved
        return _unbroadcast(g / b, a.shape), _unbroadcast(-g * a / (b * b), b.shape)


class Neg(Function):
    def forward(self, a):
        return -a

    def backward(self, g):
        return -g


class Pow(Function):
    def forward(self, a, exponent):
        self.exponent = exponent
        self.save_for_backward(a)
        return a ** a.dtype.type(exponent)

    def backward(self, g):
        (a,) = self.saved
        p = a.dtype.type(self.exponent)
        if p == 0:
            return array_module(a).zeros_like(a), None
        return g * p * a ** (p - 1), None


class Exp(Function):
    def forward(self, a):
        y = array_module(a).exp(a)
        self.save_for_backward(y)
        return y

    def backward(self, g):
        return g * self.saved[0]


class Log(Function):
    def forward(self, a):
        self.save_for_backward(a)
        return array_module(a).log(a)

    def backward(self, g):
        return g / self.saved[0]


class MatMul(Function):
    """a @ b with NumPy's matmul rules (1-D, 2-D, batched with broadcasting); every product,
    forward and backward, runs on the GEMM kernel."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return ops.matmul(a, b)

    def backward(self, g):
        a, b = self.saved
        a2 = a.reshape(1, -1) if a.ndim == 1 else a       # a row
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b       # a column
        batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        g2 = g.reshape(batch + (a2.shape[-2], b2.shape[-1]))
        ga = gb = None
        if self.needs_input_grad[0]:  # dL/da = g @ b^T, summed over the batch dims a was broadcast on
            ga = _unbroadcast(ops.matmul(g2, b2, trans_b=True), a2.shape).reshape(a.shape)
        if self.needs_input_grad[1]:  # dL/db = a^T @ g
            gb = _unbroadcast(ops.matmul(a2, g2, trans_a=True), b2.shape).reshape(b.shape)
        return ga, gb


class Sum(Function):
    def forward(self, a, axis=None, keepdims=False):
        self.shape, self.axis, self.keepdims = a.shape, axis, keepdims
        return a.sum(axis=axis, keepdims=keepdims)

    def backward(self, g):
        xp = array_module(g)
        if not self.keepdims and self.axis is not None:
            axes = (self.axis,) if isinstance(self.axis, int) else self.axis
            g = xp.expand_dims(g, tuple(a % len(self.shape) for a in axes))
        return xp.broadcast_to(g, self.shape).copy()


class Reshape(Function):
    def forward(self, a, shape):
        self.shape = a.shape
        return a.reshape(shape)

    def backward(self, g):
        return g.reshape(self.shape)


class Transpose(Function):
    def forward(self, a, axes=None):
        self.axes = None if axes is None else tuple(ax % a.ndim for ax in axes)
        return a.transpose(self.axes)

    def backward(self, g):
        if self.axes is None:
            return g.transpose()
        return g.transpose(np.argsort(self.axes))


class GetItem(Function):
    def forward(self, a, index):
        self.shape, self.dtype, self.index = a.shape, a.dtype, index
        return a[index]

    def backward(self, g):
        xp = array_module(g)
        out = xp.zeros(self.shape, dtype=self.dtype)
        if _is_basic_index(self.index):
            out[self.index] = g           # a view: each element is selected at most once
        else:
            xp.add.at(out, self.index, g)  # fancy indices may repeat: accumulate
        return out


def _is_basic_index(index):
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (slice, int, np.integer)) for p in parts)


class Cast(Function):
    def forward(self, a, dtype):
        self.src = a.dtype
        return a.astype(dtype)

    def backward(self, g):
        return g.astype(self.src)



class Sqrt(Function):
    def forward(self, a):
        y = array_module(a).sqrt(a)
        self.save_for_backward(y)
        return y

    def backward(self, g):
        return g / (2 * self.saved[0])


class Abs(Function):
    def forward(self, a):
        self.save_for_backward(a)
        return array_module(a).abs(a)

    def backward(self, g):
        return g * array_module(g).sign(self.saved[0])


class Where(Function):
    """cond ? a : b with broadcasting; cond is a boolean array (not differentiated)."""

    def forward(self, cond, a, b):
        self.cond, self.shapes = cond, (a.shape, b.shape)
        return array_module(a).where(cond, a, b)

    def backward(self, g):
        zero = g.dtype.type(0)
        xp = array_module(g)
        return (None, _unbroadcast(xp.where(self.cond, g, zero), self.shapes[0]),
                _unbroadcast(xp.where(self.cond, zero, g), self.shapes[1]))


class Reduce(Function):
    """max or min over one axis (or all), routing the gradient to the arg-extremum only
    (the first one on ties), as torch.max(x, dim) does."""

    def forward(self, a, axis=None, keepdims=False, largest=True):
        xp = array_module(a)
        flat = a.reshape(-1) if axis is None else a
        ax = 0 if axis is None else axis
        if flat.shape[ax] == 0:
            raise ValueError(f"{'max' if largest else 'min'}: cannot reduce over an empty axis "
                             f"(shape {tuple(a.shape)}, axis {axis})")
        idx = xp.expand_dims((xp.argmax if largest else xp.argmin)(flat, axis=ax), ax)
        self.shape, self.flat_shape, self.axis, self.idx = a.shape, flat.shape, ax, idx
        out = xp.take_along_axis(flat, idx, axis=ax)
        if axis is None:
            return out.reshape((1,) * a.ndim if keepdims else ())
        return out if keepdims else out.squeeze(ax)

    def backward(self, g):
        xp = array_module(g)
        along = [1] * len(self.flat_shape)
        along[self.axis] = self.flat_shape[self.axis]
        hit = xp.arange(self.flat_shape[self.axis]).reshape(along) == self.idx  # one-hot along the axis
        full = xp.where(hit, g.reshape(self.idx.shape), g.dtype.type(0))
        return full.reshape(self.shape)


class Maximum(Function):
    """Elementwise max(a, b) (min when ``largest=False``) with broadcasting; on ties the
    gradient goes to a."""

    def forward(self, a, b, largest=True):
        self.pick_a = (a >= b) if largest else (a <= b)
        self.shapes = (a.shape, b.shape)
        return array_module(a).where(self.pick_a, a, b)

    def backward(self, g):
        xp = array_module(g)
        zero = g.dtype.type(0)
        return (_unbroadcast(xp.where(self.pick_a, g, zero), self.shapes[0]),
                _unbroadcast(xp.where(self.pick_a, zero, g), self.shapes[1]))


class Clamp(Function):
    def forward(self, a, low=None, high=None):
        xp = array_module(a)
        self.inside = xp.ones(a.shape, dtype=bool)
        if low is not None:
            self.inside &= a >= low
        if high is not None:
            self.inside &= a <= high
        return xp.clip(a, low, high).astype(a.dtype, copy=False)

    def backward(self, g):
        return g * self.inside


class Cat(Function):
    def forward(self, *arrays, axis=0):
        self.axis = axis
        self.sizes = [a.shape[axis] for a in arrays]
        return array_module(arrays[0]).concatenate(arrays, axis=axis)

    def backward(self, g):
        xp = array_module(g)
        bounds = np.cumsum(self.sizes)[:-1].tolist()
        return tuple(xp.split(g, bounds, axis=self.axis))


class Stack(Function):
    def forward(self, *arrays, axis=0):
        self.axis = axis
        return array_module(arrays[0]).stack(arrays, axis=axis)

    def backward(self, g):
        xp = array_module(g)
        return tuple(xp.moveaxis(g, self.axis, 0))


class Split(Function):
    """Pieces of sizes ``sizes`` along ``axis`` (a multi-output Function)."""

    def forward(self, a, sizes, axis=0):
        self.shape, self.axis = a.shape, axis
        bounds = np.cumsum(sizes)[:-1].tolist()
        return tuple(array_module(a).split(a, bounds, axis=axis))

    def backward(self, *grads):
        return array_module(grads[0]).concatenate(grads, axis=self.axis)


class BroadcastTo(Function):
    def forward(self, a, shape):
        self.shape = a.shape
        return array_module(a).broadcast_to(a, shape)

    def backward(self, g):
        return _unbroadcast(g, self.shape)


def _index(idx):
    if isinstance(idx, Tensor):
        return idx.data
    if isinstance(idx, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in idx)
    return idx


def _axis(op, x, axis, extra=0):
    """``axis`` normalized to [0, ndim + extra) with a clear error."""
    n = x.ndim + extra
    if not -n <= axis < n:
        raise ValueError(f"{op}: axis {axis} is out of range for {x.ndim}-D input of shape {x.shape}")
    return axis % n


def _dim(op, axis, dim, default=None):
    """PyTorch's ``dim=`` is NumPy's ``axis=``: accept either (not two different values)."""
    if dim is None:
        return default if axis is None else axis
    if axis is not None and axis != dim:
        raise TypeError(f"{op}: got axis={axis!r} and dim={dim!r}; give one (dim is PyTorch's name for axis)")
    return dim


def _keep(op, keepdims, keepdim):
    """PyTorch's ``keepdim=`` is NumPy's ``keepdims=``."""
    if keepdim is None:
        return bool(keepdims)
    if keepdims and not keepdim:
        raise TypeError(f"{op}: got keepdims=True and keepdim=False; give one")
    return bool(keepdim)


def _tensors(op, tensors):
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty sequence of tensors")
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) > 1:
        raise TypeError(f"{op}: tensors have dtypes {sorted(map(str, dtypes))} (no implicit promotion)")
    return tensors


def sum(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Sum over ``axis`` (int, tuple, or None for all); ``keepdims`` keeps reduced axes as 1.
    ``dim`` / ``keepdim`` are PyTorch's names for them (accepted by every function here)."""
    axis, keepdims = _dim("sum", axis, dim), _keep("sum", keepdims, keepdim)
    return Sum.apply(x, axis=tuple(axis) if isinstance(axis, list) else axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Mean over ``axis`` (int, tuple, or None for all), as ``sum`` divided by the count."""
    axis, keepdims = _dim("mean", axis, dim), _keep("mean", keepdims, keepdim)
    axis = tuple(axis) if isinstance(axis, list) else axis
    shape = x.shape
    if axis is None:
        n = int(np.prod(shape))
    else:
        axes = (axis,) if isinstance(axis, int) else axis
        n = int(np.prod([shape[a] for a in axes]))
    return Sum.apply(x, axis=axis, keepdims=keepdims) * (1.0 / builtins.max(n, 1))


def reshape(x, shape):
    """The same values in ``shape`` (one entry may be -1); ``Tensor.view`` is this too."""
    return Reshape.apply(x, shape=tuple(shape))


def transpose(x, axes=None):
    """Permute the axes (NumPy's transpose: reversed when ``axes`` is None)."""
    return Transpose.apply(x, axes=None if axes is None else tuple(axes))


def matmul(a, b):
    """a @ b: (M, K) @ (K, N) -> (M, N); 1-D operands and batched (..., M, K) @ (..., K, N) with
    broadcast batch dimensions as torch.matmul, all through the GEMM kernel."""
    return MatMul.apply(*_operands(a, b, "matmul"))


def exp(x):
    """e**x elementwise."""
    return Exp.apply(x)


def log(x):
    """Natural logarithm elementwise."""
    return Log.apply(x)


def sqrt(x):
    """Square root elementwise (gradient 1 / (2 sqrt(x)))."""
    return Sqrt.apply(x)


def abs(x):
    """|x|; the gradient at 0 is 0 (sign), as in PyTorch."""
    return Abs.apply(x)


def where(cond, a, b):
    """Elementwise ``a`` where ``cond`` else ``b`` (broadcasting); ``cond`` is a boolean array
    or Tensor and gets no gradient."""
    cond = cond.data if isinstance(cond, Tensor) else cond
    if cond.dtype != np.bool_:
        raise TypeError(f"where: cond must be a boolean array, got {cond.dtype}")
    a, b = _operands(a, b, "where")
    return Where.apply(cond, a, b)


class MaxMin(tuple):
    """``(values, indices)`` of ``max``/``min`` with ``dim=``, as torch.return_types.max."""

    __slots__ = ()

    def __new__(cls, values, indices):
        return super().__new__(cls, (values, indices))

    values = property(lambda self: self[0])
    indices = property(lambda self: self[1])


def _extreme(op, x, axis, keepdims, dim, keepdim, largest):
    torch_style = dim is not None
    axis, keepdims = _dim(op, axis, dim), _keep(op, keepdims, keepdim)
    if axis is not None:
        axis = _axis(op, x, axis)
    values = Reduce.apply(x, axis=axis, keepdims=keepdims, largest=largest)
    if not torch_style:
        return values
    return MaxMin(values, (argmax if largest else argmin)(x, axis, keepdims))


def max(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Largest value over ``axis`` (all values when None); the gradient flows to the first
    arg-max only. With PyTorch's ``dim=`` it returns ``(values, indices)`` as torch.max(x, dim)
    does. For the elementwise maximum of two tensors use ``maximum``."""
    return _extreme("max", x, axis, keepdims, dim, keepdim, True)


def min(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Smallest value over ``axis`` (all values when None); the gradient flows to the first
    arg-min only. With ``dim=`` it returns ``(values, indices)`` as torch.min(x, dim)."""
    return _extreme("min", x, axis, keepdims, dim, keepdim, False)


def _arg(op, x, axis, keepdims, dim, keepdim, fn):
    axis, keepdims = _dim(op, axis, dim), _keep(op, keepdims, keepdim)
    data = x.data if isinstance(x, Tensor) else x
    xp = array_module(data)
    if axis is None:  # the index into the flattened tensor, as torch.argmax(x)
        idx = getattr(xp, fn)(data.reshape(-1))
        return Tensor(xp.asarray(idx, dtype=np.int64).reshape((1,) * data.ndim if keepdims else ()))
    axis = _axis(op, data, axis)
    if data.shape[axis] == 0:
        raise ValueError(f"{op}: cannot reduce over an empty axis (shape {tuple(data.shape)}, axis {axis})")
    idx = getattr(xp, fn)(data, axis=axis).astype(np.int64)
    return Tensor(xp.expand_dims(idx, axis) if keepdims else idx)


def argmax(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """int64 indices of the largest values along ``axis`` (into the flattened tensor when None;
    the first on ties); not differentiable."""
    return _arg("argmax", x, axis, keepdims, dim, keepdim, "argmax")


def argmin(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """int64 indices of the smallest values along ``axis`` (flattened when None)."""
    return _arg("argmin", x, axis, keepdims, dim, keepdim, "argmin")


def maximum(a, b):
    """Elementwise max with broadcasting (ties send the gradient to ``a``)."""
    return Maximum.apply(*_operands(a, b, "maximum"), largest=True)


def minimum(a, b):
    """Elementwise min with broadcasting (ties send the gradient to ``a``)."""
    return Maximum.apply(*_operands(a, b, "minimum"), largest=False)


def clamp(x, min=None, max=None):
    """x clipped to [min, max] (either bound may be None); gradient 1 inside, 0 outside."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    return Clamp.apply(x, low=min, high=max)


def cat(tensors, axis=None, *, dim=None):
    """Concatenate along an existing ``axis`` (default 0): shapes equal except along ``axis``."""
    axis = _dim("cat", axis, dim, 0)
    tensors = _tensors("cat", tensors)
    axis = _axis("cat", tensors[0], axis)
    ref = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.ndim != len(ref) or t.shape[:axis] + t.shape[axis + 1:] != ref[:axis] + ref[axis + 1:]:
            raise ValueError(f"cat: tensor {i} has shape {t.shape} but tensor 0 has shape {ref} "
                             f"(they may differ along axis {axis} only)")
    return Cat.apply(*tensors, axis=axis)


def stack(tensors, axis=None, *, dim=None):
    """Stack equal-shaped tensors along a new ``axis`` (default 0)."""
    axis = _dim("stack", axis, dim, 0)
    tensors = _tensors("stack", tensors)
    axis = _axis("stack", tensors[0], axis, extra=1)
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack: tensor {i} has shape {t.shape} but tensor 0 has shape "
                             f"{tensors[0].shape}")
    return Stack.apply(*tensors, axis=axis)


def split(x, split_size_or_sections, axis=None, *, dim=None):
    """Split along ``axis`` (default 0) into pieces of ``split_size`` (the last may be smaller)
    or of the listed sizes, which must sum to the axis length (PyTorch's torch.split)."""
    axis = _axis("split", x, _dim("split", axis, dim, 0))
    n = x.shape[axis]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = [int(s) for s in split_size_or_sections]
        if builtins.sum(sizes) != n or builtins.min(sizes, default=0) < 0:
            raise ValueError(f"split: sections {sizes} must be >= 0 and sum to {n} "
                             f"(axis {axis} of shape {x.shape})")
    else:
        size = int(split_size_or_sections)
        if size <= 0:
            raise ValueError(f"split: split_size must be > 0, got {size}")
        sizes = [builtins.min(size, n - s) for s in range(0, n, size)] or [0]
    return Split.apply(x, sizes=sizes, axis=axis)


def chunk(x, chunks, axis=None, *, dim=None):
    """``chunks`` pieces of ceil(n / chunks) along ``axis`` (default 0; fewer when n is small),
    as torch.chunk."""
    axis = _dim("chunk", axis, dim, 0)
    if int(chunks) <= 0:
        raise ValueError(f"chunk: chunks must be > 0, got {chunks}")
    n = x.shape[_axis("chunk", x, axis)]
    return split(x, builtins.max(1, -(-n // int(chunks))), axis)


def flatten(x, start_dim=0, end_dim=-1):
    """Merge axes start_dim..end_dim (inclusive) into one, as torch.flatten."""
    if x.ndim == 0:
        return reshape(x, (1,))
    s, e = _axis("flatten", x, start_dim), _axis("flatten", x, end_dim)
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} "
                         f"for shape {x.shape}")
    merged = int(np.prod(x.shape[s:e + 1]))
    return reshape(x, x.shape[:s] + (merged,) + x.shape[e + 1:])


def unsqueeze(x, axis=None, *, dim=None):
    """A new size-1 axis at ``axis`` (in [-ndim-1, ndim])."""
    axis = _dim("unsqueeze", axis, dim)
    if axis is None:
        raise TypeError("unsqueeze: missing the axis (dim) to insert")
    axis = _axis("unsqueeze", x, axis, extra=1)
    return reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


def squeeze(x, axis=None, *, dim=None):
    """Drop size-1 axes (all of them, or only ``axis`` when it has size 1, as PyTorch)."""
    axis = _dim("squeeze", axis, dim)
    if axis is None:
        return reshape(x, tuple(s for s in x.shape if s != 1))
    axis = _axis("squeeze", x, axis)
    if x.shape[axis] != 1:
        return x
    return reshape(x, x.shape[:axis] + x.shape[axis + 1:])


def broadcast_to(x, shape):
    """``x`` broadcast to ``shape`` (NumPy rules); the gradient sums over broadcast axes."""
    shape = tuple(int(s) for s in shape)
    try:
        np.broadcast_shapes(x.shape, shape)
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}") from None
    if np.broadcast_shapes(x.shape, shape) != shape:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}")
    return BroadcastTo.apply(x, shape=shape)


def expand(x, *shape):
    """PyTorch's Tensor.expand: broadcast_to where -1 keeps that axis's size."""
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    lead = len(shape) - x.ndim
    return broadcast_to(x, tuple(x.shape[i - lead] if s == -1 and i >= lead else s
                                 for i, s in enumerate(shape)))


def _shape_args(args):
    """t.reshape(2, 3) and t.reshape((2, 3)) both mean (2, 3)."""
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else args


def _binary(fn, name, reflected=False):
    def method(self, other):
        a, b = (other, self) if reflected else (self, other)
        return fn.apply(*_operands(a, b, name))
    return method


Tensor.__add__ = _binary(Add, "add")
Tensor.__radd__ = _binary(Add, "add", reflected=True)
Tensor.__sub__ = _binary(Sub, "sub")
Tensor.__rsub__ = _binary(Sub, "sub", reflected=True)
Tensor.__mul__ = _binary(Mul, "mul")
Tensor.__rmul__ = _binary(Mul, "mul", reflected=True)
Tensor.__truediv__ = _binary(Div, "div")
Tensor.__rtruediv__ = _binary(Div, "div", reflected=True)
Tensor.__matmul__ = _binary(MatMul, "matmul")
Tensor.__rmatmul__ = _binary(MatMul, "matmul", reflected=True)
Tensor.__neg__ = lambda self: Neg.apply(self)
Tensor.__abs__ = abs
Tensor.__pow__ = lambda self, p: Pow.apply(self, exponent=p)
Tensor.__getitem__ = lambda self, idx: GetItem.apply(self, index=_index(idx))
Tensor.sum = sum
Tensor.mean = mean
Tensor.max = max
Tensor.min = min
def _transpose_method(self, *axes):
    """t.transpose(d0, d1) swaps two dims (PyTorch); t.transpose() reverses them and
    t.transpose(*axes) with one entry per dim permutes them (NumPy)."""
    axes = _shape_args(axes)
    if len(axes) == 2:
        d0, d1 = (_axis("transpose", self, a) for a in axes)
        perm = list(range(self.ndim))
        perm[d0], perm[d1] = perm[d1], perm[d0]
        return transpose(self, perm)
    return transpose(self, axes or None)


Tensor.reshape = lambda self, *shape: reshape(self, _shape_args(shape))
Tensor.view = Tensor.reshape
Tensor.transpose = _transpose_method
Tensor.permute = lambda self, *dims: transpose(self, _shape_args(dims))
Tensor.argmax = argmax
Tensor.argmin = argmin
Tensor.T = property(transpose)
Tensor.exp = exp
Tensor.log = log
Tensor.sqrt = sqrt
Tensor.abs = abs
Tensor.clamp = clamp
Tensor.flatten = flatten
Tensor.unsqueeze = unsqueeze
Tensor.squeeze = squeeze
Tensor.expand = expand
