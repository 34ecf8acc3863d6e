"""The autograd engine and every Tensor operation of functional/basic.py.

Each op's backward is checked against central finite differences in float64 (gradcheck);
the engine's rules (broadcasting, accumulation, tying, multi-output, no_grad, errors) have
their own tests.
"""
import numpy as np
import pytest

import deepkern as dk
import deepkern.functional as F
from deepkern import Function, Tensor
from tests.helpers import gradcheck


def rand(*shape, seed=0, positive=False):
    x = np.random.default_rng(seed).standard_normal(shape)
    return np.abs(x) + 0.5 if positive else x


# (id, fn of Tensors, inputs): gradcheck perturbs every float64 input.
CASES = [
    ("add", lambda a, b: a + b, [rand(3, 4), rand(3, 4, seed=1)]),
    ("add_broadcast", lambda a, b: a + b, [rand(2, 3, 4), rand(3, 1, seed=1)]),
    ("radd_scalar", lambda a: 2.0 + a, [rand(3)]),
    ("sub_broadcast", lambda a, b: a - b, [rand(4, 1), rand(1, 5, seed=1)]),
    ("rsub_scalar", lambda a: 1.0 - a, [rand(3)]),
    ("mul_broadcast", lambda a, b: a * b, [rand(2, 3), rand(3, seed=1)]),
    ("rmul_array", lambda a: rand(2, 3, seed=3) * a, [rand(2, 3)]),
    ("div_broadcast", lambda a, b: a / b, [rand(2, 3), rand(2, 1, seed=1, positive=True)]),
    ("rdiv_scalar", lambda a: 3.0 / a, [rand(4, positive=True)]),
    ("neg", lambda a: -a, [rand(3, 2)]),
    ("pow", lambda a: a ** 3, [rand(5)]),
    ("pow_fractional", lambda a: a ** 0.5, [rand(5, positive=True)]),
    ("pow_zero", lambda a: a ** 0, [rand(5)]),
    ("matmul_2d", lambda a, b: a @ b, [rand(3, 4), rand(4, 2, seed=1)]),
    ("matmul_batched_broadcast", lambda a, b: a @ b, [rand(2, 3, 4), rand(4, 5, seed=1)]),
    ("matmul_vec", lambda a, b: a @ b, [rand(4), rand(4, 2, seed=1)]),
    ("matmul_dot", lambda a, b: a @ b, [rand(4), rand(4, seed=1)]),
    ("rmatmul_array", lambda b: rand(2, 3, seed=2) @ b, [rand(3, 2)]),
    ("sum_all", lambda a: a.sum(), [rand(3, 4)]),
    ("sum_axis", lambda a: a.sum(axis=1), [rand(3, 4, 2)]),
    ("sum_axes_keepdims", lambda a: a.sum(axis=(0, -1), keepdims=True), [rand(3, 4, 2)]),
    ("mean_all", lambda a: a.mean(), [rand(3, 4)]),
    ("mean_neg_axis_keepdims", lambda a: a.mean(axis=-1, keepdims=True), [rand(3, 4)]),
    ("reshape", lambda a: a.reshape(4, 3), [rand(3, 4)]),
    ("view_tuple", lambda a: a.view((2, -1)), [rand(3, 4)]),
    ("transpose_T", lambda a: a.T, [rand(3, 4)]),
    ("transpose_axes", lambda a: a.transpose(2, 0, 1), [rand(2, 3, 4)]),
    ("permute_negative", lambda a: a.permute(0, -1, 1), [rand(2, 3, 4)]),
    ("index_int", lambda a: a[1], [rand(3, 4)]),
    ("index_slices", lambda a: a[1:, ::2], [rand(3, 5)]),
    ("index_newaxis_ellipsis", lambda a: a[None, ..., 1], [rand(3, 4)]),
    ("index_fancy_repeated", lambda a: a[np.array([0, 2, 0, 0])], [rand(3, 4)]),
    ("index_fancy_2d", lambda a: a[np.array([0, 1, 1]), np.array([2, 2, 0])], [rand(3, 4)]),
    ("index_bool_mask", lambda a: a[np.array([True, False, True])], [rand(3, 2)]),
    ("index_tensor", lambda a: a[Tensor(np.array([1, 1]))], [rand(3, 2)]),
    ("exp", lambda a: a.exp(), [rand(3, 4)]),
    ("log", lambda a: a.log(), [rand(3, 4, positive=True)]),
    ("sqrt", lambda a: a.sqrt(), [rand(3, 4, positive=True)]),
    ("abs", lambda a: abs(a), [rand(3, 4)]),
    ("max_all", lambda a: a.max(), [rand(3, 4)]),
    ("max_axis", lambda a: F.max(a, axis=0), [rand(3, 4)]),
    ("min_axis_keepdims", lambda a: a.min(axis=-1, keepdims=True), [rand(3, 4)]),
    ("maximum_broadcast", lambda a, b: F.maximum(a, b), [rand(3, 4), rand(4, seed=1)]),
    ("minimum_scalar", lambda a: F.minimum(a, 0.1), [rand(3, 4)]),
    ("clamp", lambda a: a.clamp(-0.5, 0.7), [rand(3, 4)]),
    ("clamp_min_only", lambda a: F.clamp(a, min=0.0), [rand(3, 4)]),
    ("where", lambda a, b: F.where(rand(3, 4, seed=5) > 0, a, b), [rand(3, 4), rand(4, seed=1)]),
    ("cat", lambda a, b: F.cat([a, b], axis=1), [rand(2, 3), rand(2, 1, seed=1)]),
    ("cat_neg_axis_three", lambda a, b: F.cat([a, b, a], axis=-1), [rand(2, 3), rand(2, 2, seed=1)]),
    ("stack", lambda a, b: F.stack([a, b], axis=1), [rand(2, 3), rand(2, 3, seed=1)]),
    ("stack_last", lambda a, b: F.stack([a, b, b], axis=-1), [rand(2, 3), rand(2, 3, seed=1)]),
    ("split_sizes", lambda a: F.split(a, [1, 3], axis=1), [rand(2, 4)]),
    ("split_size", lambda a: F.split(a, 2), [rand(5, 2)]),
    ("chunk", lambda a: F.chunk(a, 3, axis=-1), [rand(2, 7)]),
    ("flatten", lambda a: a.flatten(), [rand(2, 3, 4)]),
    ("flatten_range", lambda a: F.flatten(a, 1, 2), [rand(2, 3, 4, 2)]),
    ("unsqueeze_squeeze", lambda a: a.unsqueeze(1).unsqueeze(-1).squeeze(1), [rand(2, 3)]),
    ("squeeze_all", lambda a: a.squeeze(), [rand(1, 3, 1)]),
    ("broadcast_to", lambda a: F.broadcast_to(a, (2, 3, 4)), [rand(3, 1)]),
    ("expand", lambda a: a.expand(2, -1, 4), [rand(3, 1)]),
    ("composite", lambda a, b: ((a @ b).exp().sum(axis=0) / (1.0 + b.T.abs().mean())).log(),
     [rand(2, 3) * 0.3, rand(3, 4, seed=1) * 0.3]),
]


@pytest.mark.parametrize("fn, inputs", [pytest.param(f, i, id=n) for n, f, i in CASES])
def test_gradcheck(fn, inputs):
    gradcheck(fn, *inputs)


def test_forward_values_match_numpy():
    a, b = rand(3, 4), rand(3, 4, seed=1)
    ta, tb = Tensor(a), Tensor(b)
    pairs = [((ta + tb), a + b), ((ta - 1.0), a - 1), ((ta * tb), a * b), ((ta / tb), a / b), ((-ta), -a),
             ((ta ** 2), a ** 2), ((ta @ tb.T), a @ b.T), (ta.sum(axis=0), a.sum(0)), (ta.mean(), a.mean()),
             (ta[1:, ::2], a[1:, ::2]), (ta.exp(), np.exp(a)), (F.max(ta, axis=1), a.max(1)),
             (F.maximum(ta, tb), np.maximum(a, b)), (ta.clamp(-0.1, 0.2), np.clip(a, -0.1, 0.2)),
             (F.cat([ta, tb], axis=0), np.concatenate([a, b])), (F.stack([ta, tb], 2), np.stack([a, b], 2)),
             (F.where(a > 0, ta, tb), np.where(a > 0, a, b)), (abs(ta), np.abs(a))]
    for t, expected in pairs:
        assert t.dtype == np.float64
        # matmul and mean may round differently from NumPy's by an ulp or so.
        np.testing.assert_allclose(t.data, expected, rtol=4 * np.finfo(np.float64).eps, atol=0)


def test_astype_casts_the_gradient_back():
    x = Tensor(rand(3), requires_grad=True)
    y = x.astype(np.float32)
    assert y.dtype == np.float32
    (y * 2.0).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad, np.full(3, 2.0))


def test_max_routes_gradient_to_first_argmax_on_ties():
    x = Tensor(np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]), requires_grad=True)
    F.max(x, axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 1, 0], [1, 0, 0]])
    with pytest.raises(ValueError, match=r"max: cannot reduce over an empty axis \(shape \(2, 0\), axis 1\)"):
        F.max(Tensor(np.zeros((2, 0))), axis=1)


def test_split_chunk_shapes_and_errors():
    x = Tensor(rand(7, 2))
    assert [p.shape[0] for p in F.split(x, 3)] == [3, 3, 1]
    assert [p.shape[0] for p in F.chunk(x, 3)] == [3, 3, 1]
    assert [p.shape[0] for p in F.chunk(Tensor(rand(2, 2)), 5)] == [1, 1]
    with pytest.raises(ValueError, match=r"split: sections \[3, 3\] must be >= 0 and sum to 7"):
        F.split(x, [3, 3])
    with pytest.raises(ValueError, match="split: split_size must be > 0, got 0"):
        F.split(x, 0)
    with pytest.raises(ValueError, match="chunk: chunks must be > 0, got 0"):
        F.chunk(x, 0)


def test_shape_op_errors():
    x = Tensor(rand(2, 3))
    with pytest.raises(ValueError, match=r"cat: tensor 1 has shape \(3, 3\) but tensor 0 has shape \(2, 3\)"):
        F.cat([x, Tensor(rand(3, 3))], axis=1)
    with pytest.raises(ValueError, match=r"stack: tensor 1 has shape \(2, 2\)"):
        F.stack([x, Tensor(rand(2, 2))])
    with pytest.raises(ValueError, match="cat: expected a non-empty sequence"):
        F.cat([])
    with pytest.raises(TypeError, match=r"cat: tensors have dtypes \['float32', 'float64'\]"):
        F.cat([x, Tensor(np.zeros((2, 3), np.float32))])
    with pytest.raises(ValueError, match=r"unsqueeze: axis 4 is out of range for 2-D input of shape \(2, 3\)"):
        x.unsqueeze(4)
    with pytest.raises(ValueError, match=r"broadcast_to: cannot broadcast shape \(2, 3\) to \(3, 3\)"):
        F.broadcast_to(x, (3, 3))
    with pytest.raises(ValueError, match=r"broadcast_to: cannot broadcast shape \(2, 3\) to \(3,\)"):
        F.broadcast_to(x, (3,))
    with pytest.raises(ValueError, match="flatten: start_dim 1 comes after end_dim 0"):
        F.flatten(x, 1, 0)
    with pytest.raises(ValueError, match="clamp: at least one of min and max"):
        x.clamp()
    with pytest.raises(TypeError, match="where: cond must be a boolean array, got float64"):
        F.where(rand(2, 3), x, x)
    with pytest.raises(TypeError, match="add: operands are float64 and float32"):
        x + Tensor(np.zeros(3, np.float32))
    assert x.squeeze(0) is x  # squeezing a non-1 axis is a no-op, as PyTorch
    assert F.flatten(Tensor(np.float64(2.0))).shape == (1,)


def test_tensor_used_twice_sums_gradients():
    x = Tensor(rand(3), requires_grad=True)
    y = x * x + x          # dy/dx = 2x + 1
    y.sum().backward()
    np.testing.assert_allclose(x.grad, 2 * x.data + 1)
    z = Tensor(rand(2, 2), requires_grad=True)
    w = z @ z              # both operands of one Function are the same leaf
    w.sum().backward()
    g = np.ones((2, 2))
    np.testing.assert_allclose(z.grad, g @ z.data.T + z.data.T @ g)


def test_diamond_graph_visits_each_node_once():
    x = Tensor(rand(4), requires_grad=True)
    h = x.exp()
    y = (h * 2.0 + h.log()).sum()   # h feeds two branches that meet again
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * np.exp(x.data) + 1)


def test_gradients_accumulate_across_backward_calls():
    x = Tensor(rand(3), requires_grad=True)
    (x * 2.0).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad, np.full(3, 5.0))


class ReturnsSaved(Function):
    """Its backward returns an array it keeps (the saved one, the incoming gradient, one array for both inputs)."""

    def forward(self, a, b, mode):
        self.mode = mode
        self.save_for_backward(np.ones_like(a))
        return a + b

    def backward(self, g):
        if self.mode == "saved":
            return self.saved[0], g * 1.0, None
        if self.mode == "incoming":
            return g, g * 1.0, None
        both = g * 1.0
        return both, both, None


@pytest.mark.parametrize("mode", ["saved", "incoming", "both"])
def test_leaf_gradient_never_aliases_an_array_someone_else_holds(mode):
    # A fresh gradient becomes .grad without a copy; anything shared must be copied, or an
    # in-place change of one .grad (clip_grad_norm_, p.grad.zero_()) would reach the others.
    a, b = Tensor(rand(3), requires_grad=True), Tensor(rand(3), requires_grad=True)
    y = ReturnsSaved.apply(a, b, mode)
    y.backward(np.ones(3))
    a.grad.data[...] = 7.0
    np.testing.assert_array_equal(b.grad.data, np.ones(3))
    if mode == "saved":
        np.testing.assert_array_equal(y._ctx.saved[0], np.ones(3))


def test_leaf_takes_a_fresh_gradient_without_copying_it():
    w = Tensor(rand(3, 4), requires_grad=True)
    x = Tensor(rand(5, 4))
    seen = {}

    class Spy(Function):
        def forward(self, x, w):
            return x @ w.T

        def backward(self, g):
            seen["gw"] = g.T @ x.data
            return None, seen["gw"]

    Spy.apply(x, w).sum().backward()
    assert np.shares_memory(w.grad.data, seen["gw"])   # taken as is, not copied
    np.testing.assert_allclose(w.grad, np.ones((5, 3)).T @ x.data)


class SumAndDiff(Function):
    """A two-output Function: (a + b, a - b)."""

    def forward(self, a, b):
        return a + b, a - b

    def backward(self, g_sum, g_diff):
        return g_sum + g_diff, g_sum - g_diff


def test_multi_output_function_and_unused_output():
    a, b = Tensor(rand(3), requires_grad=True), Tensor(rand(3, seed=1), requires_grad=True)
    s, d = SumAndDiff.apply(a, b)
    (s * 2.0 + d * 5.0).sum().backward()
    np.testing.assert_allclose(a.grad, np.full(3, 7.0))
    np.testing.assert_allclose(b.grad, np.full(3, -3.0))
    a.grad = b.grad = None
    s, _ = SumAndDiff.apply(a, b)
    s.sum().backward()           # the unused output contributes a zero gradient
    np.testing.assert_allclose(b.grad, np.ones(3))
    gradcheck(lambda x, y: SumAndDiff.apply(x, y), rand(3), rand(3, seed=2))


def test_no_grad_records_nothing_and_restores():
    x = Tensor(rand(3), requires_grad=True)
    with dk.no_grad():
        assert not dk.is_grad_enabled()
        y = x * 2.0
        with dk.enable_grad():
            z = x * 2.0
    assert dk.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf
    assert z.requires_grad and not z.is_leaf
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()


def test_backward_errors():
    x = Tensor(rand(2, 3), requires_grad=True)
    y = x * 2.0
    with pytest.raises(RuntimeError, match=r"grad must be given for a non-scalar tensor of shape \(2, 3\)"):
        y.backward()
    with pytest.raises(ValueError, match=r"backward: grad has shape \(3,\) but the tensor has shape \(2, 3\)"):
        y.backward(np.ones(3))
    y.backward(np.full((2, 3), 0.5))
    np.testing.assert_allclose(x.grad, np.ones((2, 3)))
    s = x.sum()
    s.backward(0.5)               # a Python number, as torch's backward(gradient) takes
    np.testing.assert_allclose(x.grad, np.full((2, 3), 1.5))
    assert x.grad.dtype == x.dtype
    with pytest.raises(ValueError, match=r"backward: grad has shape \(\) but the tensor has shape \(2, 3\)"):
        y.backward(0.5)

    class BadShape(Function):
        def forward(self, a):
            return a.sum()

        def backward(self, g):
            return g  # wrong: a scalar for a (2, 3) input

    with pytest.raises(RuntimeError, match=r"BadShape.backward returned a gradient of shape \(\) for an input "
                                           r"of shape \(2, 3\)"):
        BadShape.apply(x).backward()


def test_backward_on_a_leaf_and_grad_assignment():
    x = Tensor(rand(2), requires_grad=True)
    x.backward(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(x.grad, [1.0, 2.0])
    x.grad = np.zeros(2)
    np.testing.assert_array_equal(x.grad, [0, 0])
    x.grad = Tensor(np.ones(2))
    assert isinstance(x.grad, Tensor) and isinstance(x.grad.data, np.ndarray)
    x.grad.zero_()                                  # PyTorch's idioms on the gradient
    np.testing.assert_array_equal(x.grad.data, [0, 0])
    x.grad.data[...] = 3.0
    np.testing.assert_array_equal(x.grad, [3, 3])
    with pytest.raises(ValueError, match=r"grad has shape \(3,\) but the tensor has shape \(2,\)"):
        x.grad = np.zeros(3)
    with pytest.raises(TypeError, match="grad must be a NumPy or CuPy array, got list"):
        x.grad = [1.0, 2.0]
    x.zero_grad()
    assert x.grad is None


def test_tensor_construction_numpy_item_detach():
    assert Tensor([1.0, 2.0]).dtype == np.float32           # Python floats: float32 default
    assert Tensor(np.zeros(2)).dtype == np.float64          # arrays keep their dtype
    assert Tensor(np.float64(1.0)).dtype == np.float64      # and so do NumPy scalars
    assert Tensor([1, 2]).dtype == np.int64
    assert Tensor([1, 2], dtype=np.float64).dtype == np.float64
    t = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert t.numpy() is t.data and t.shape == (2, 3) and t.ndim == 2 and t.size == 6 and len(t) == 2
    assert t.sum().item() == 15.0 and isinstance(t.sum().item(), float)
    with pytest.raises(ValueError, match=r"item\(\) needs a tensor with one element, got shape \(2, 3\)"):
        t.item()
    d = t.detach()
    assert not d.requires_grad and d.data is t.data
    assert t.device == "cpu" and t.to("cpu").device == "cpu"
    assert "requires_grad=True" in repr(t)
    assert t.astype(np.float32).dtype == np.float32 and t.float().dtype == np.float32
    assert t.double().dtype == np.float64
