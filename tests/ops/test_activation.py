import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import deepkern as dk
import deepkern.functional as F
from deepkern import ops, reference as ref
from tests.helpers import DEVICES, assert_matches_reference, gradcheck, to_host, xp_for

ACTS = {
    "relu": (ops.relu, ref.relu, ops.relu_backward, ref.relu_backward, "input"),
    "leaky_relu": (ops.leaky_relu, ref.leaky_relu, ops.leaky_relu_backward, ref.leaky_relu_backward, "input"),
    "sigmoid": (ops.sigmoid, ref.sigmoid, ops.sigmoid_backward, ref.sigmoid_backward, "output"),
    "tanh": (ops.tanh, ref.tanh, ops.tanh_backward, ref.tanh_backward, "output"),
}
shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=9)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ACTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(shape=shapes, seed=st.integers(0, 2**31 - 1), scale=st.sampled_from([1.0, 30.0]))
def test_forward_backward_match_reference(device, name, dtype, shape, seed, scale):
    xp = xp_for(device)
    fwd, rfwd, bwd, rbwd, saves = ACTS[name]
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * scale).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    y = fwd(xp.asarray(x))
    assert y.dtype == dtype and y.shape == x.shape
    assert_matches_reference(y, rfwd, x)
    saved = x if saves == "input" else to_host(y)
    gx = bwd(xp.asarray(g), xp.asarray(saved))
    assert_matches_reference(gx, rbwd, g, saved)


@pytest.mark.parametrize("device", DEVICES)
def test_non_contiguous_and_out(device):
    xp = xp_for(device)
    x = xp.asarray(np.random.default_rng(0).standard_normal((6, 8)).astype(np.float32))
    view = x[:, ::2]
    np.testing.assert_array_equal(to_host(ops.relu(view)), ref.relu(to_host(view)))
    out = xp.empty((6, 4), dtype=np.float32)
    assert ops.tanh(view, out=out) is out
    np.testing.assert_allclose(to_host(out), np.tanh(to_host(view)), rtol=1e-6)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ACTS)
def test_many_blocks(device, name):
    """Sizes past one launch block (256 threads) and not a multiple of it: every block's
    elements, and only those, are written."""
    xp = xp_for(device)
    fwd, rfwd, bwd, rbwd, saves = ACTS[name]
    rng = np.random.default_rng(3)
    x = rng.standard_normal(8 * 256 + 5).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    y = fwd(xp.asarray(x))
    assert_matches_reference(y, rfwd, x)
    saved = x if saves == "input" else to_host(y)
    assert_matches_reference(bwd(xp.asarray(g), xp.asarray(saved)), rbwd, g, saved)


def test_sigmoid_extremes_are_finite():
    x = np.array([-1e4, -800.0, 0.0, 800.0, 1e4])
    y = ops.sigmoid(x)
    assert np.all(np.isfinite(y))
    np.testing.assert_array_equal(y, [0.0, 0.0, 0.5, 1.0, 1.0])


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "sigmoid", "tanh"])
def test_gradcheck(name):
    x = np.random.default_rng(1).standard_normal((3, 5))
    x[np.abs(x) < 1e-3] = 0.5  # keep away from relu's kink
    gradcheck(getattr(F, name), x)


def test_errors_name_argument_and_values():
    with pytest.raises(TypeError, match=r"relu: x must be float32 or float64, got int64"):
        ops.relu(np.arange(4))
    with pytest.raises(TypeError, match=r"relu: x must be a NumPy or CuPy array, got list"):
        ops.relu([1.0, 2.0])
    with pytest.raises(ValueError, match=r"out must have shape \(3,\) and dtype float32, got \(4,\) float32"):
        ops.relu(np.zeros(3, np.float32), out=np.zeros(4, np.float32))
    with pytest.raises(TypeError, match=r"saved is float32 but grad_out is float64|grad_out is float64 but saved is float32"):
        ops.relu_backward(np.zeros(3), np.zeros(3, np.float32))
    with pytest.raises(ValueError, match=r"grad_out has shape \(4,\) but the saved array has shape \(3,\)"):
        ops.sigmoid_backward(np.zeros(4), np.zeros(3))
    with pytest.raises(TypeError, match="negative_slope must be a real number"):
        ops.leaky_relu(np.zeros(3), negative_slope="a")


def test_cpu_extension_checks_sizes_itself():
    """A direct call into _cpu with inconsistent arrays raises instead of writing out of bounds."""
    x = np.zeros(10, np.float32)
    with pytest.raises(ValueError, match="out must have shape"):
        dk._cpu.activation_forward("relu", x, np.zeros(5, np.float32), 0.0)
    with pytest.raises(ValueError, match="must be float32, got float64"):
        dk._cpu.activation_forward("relu", x, np.zeros(10), 0.0)
    with pytest.raises(ValueError, match="must be writable"):
        ro = np.zeros(10, np.float32)
        ro.flags.writeable = False
        dk._cpu.activation_forward("relu", x, ro, 0.0)
    with pytest.raises(ValueError, match="unknown kind"):
        dk._cpu.activation_forward("gelu", x, np.zeros(10, np.float32), 0.0)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_keeps_nan_and_its_gradient_passes_through_there(device, dtype):
    """ops.relu and F.relu turned NaN into 0, hiding a diverging network's NaNs; PyTorch keeps
    NaN, and its gradient at NaN is 1 (relu(x) = x < 0 ? 0 : x, relu' = x <= 0 ? 0 : 1)."""
    import deepkern as dk
    import deepkern.functional as F
    xp = xp_for(device)
    x = np.array([np.nan, 1.0, -1.0, 0.0, np.inf, -np.inf] * 11, dtype)  # past one vector width
    out = to_host(ops.relu(xp.asarray(x)))
    np.testing.assert_array_equal(out, np.where(x < 0, 0, x))
    assert np.isnan(out[::6]).all()
    t = dk.Tensor(xp.asarray(x), requires_grad=True)
    y = F.relu(t)
    y.backward(xp.ones_like(t.data))
    assert np.isnan(to_host(y.data)[::6]).all()
    np.testing.assert_array_equal(to_host(t.grad), np.tile([1, 1, 0, 0, 1, 0], 11))
    np.testing.assert_array_equal(to_host(dk.nn.ReLU()(dk.Tensor(xp.asarray(x))).data), out)
