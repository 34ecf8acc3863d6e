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
    """a @ b for 2-D operands through the GEMM kernel; batched (n-D) through the array module."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        if a.ndim == 2 and b.ndim == 2:
            return ops.matmul(a, b)
        return array_module(a).matmul(a, b)

    def backward(self, g):
        a, b = self.saved
        if a.ndim == 2 and b.ndim == 2:
            return ops.matmul(g, b, trans_b=True), ops.matmul(a, g, trans_a=True)
        xp = array_module(a)
        a2 = a[None] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = g.reshape(a2.shape[:-1] + b2.shape[-1:]) if (a.ndim == 1 or b.ndim == 1) else g
        ga = xp.matmul(g2, xp.swapaxes(b2, -1, -2))
        gb = xp.matmul(xp.swapaxes(a2, -1, -2), g2)
        return _unbroadcast(ga, a2.shape).reshape(a.shape), _unbroadcast(gb, b2.shape).reshape(b.shape)


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
        self.axes = axes
        return a.transpose(axes)

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
        xp.add.at(out, self.index, g)
        return out


class Cast(Function):
    def forward(self, a, dtype):
        self.src = a.dtype
        return a.astype(dtype)

    def backward(self, g):
        return g.astype(self.src)


def _index(idx):
    if isinstance(idx, Tensor):
        return idx.data
    if isinstance(idx, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in idx)
    return idx


def sum(x, axis=None, keepdims=False):
    return Sum.apply(x, axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    shape = x.shape
    if axis is None:
        n = int(np.prod(shape))
    else:
        axes = (axis,) if isinstance(axis, int) else axis
        n = int(np.prod([shape[a] for a in axes]))
    return Sum.apply(x, axis=axis, keepdims=keepdims) * (1.0 / builtins.max(n, 1))


def reshape(x, shape):
    return Reshape.apply(x, shape=tuple(shape))


def transpose(x, axes=None):
    return Transpose.apply(x, axes=None if axes is None else tuple(axes))


def matmul(a, b):
    return MatMul.apply(*_operands(a, b, "matmul"))


def exp(x):
    return Exp.apply(x)


def log(x):
    return Log.apply(x)


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
Tensor.__pow__ = lambda self, p: Pow.apply(self, exponent=p)
Tensor.__getitem__ = lambda self, idx: GetItem.apply(self, index=_index(idx))
Tensor.sum = lambda self, axis=None, keepdims=False: sum(self, axis, keepdims)
Tensor.mean = lambda self, axis=None, keepdims=False: mean(self, axis, keepdims)
Tensor.reshape = lambda self, *shape: reshape(self, shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape)
Tensor.transpose = lambda self, *axes: transpose(self, axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else (axes or None))
Tensor.T = property(lambda self: transpose(self))
Tensor.exp = lambda self: exp(self)
Tensor.log = lambda self: log(self)
