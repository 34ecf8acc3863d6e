import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import deepkern as dk
import deepkern.functional as F
import deepkern.nn as nn
from deepkern import ops, reference as ref
from tests.helpers import DEVICES, assert_matches_reference, gradcheck, to_host, xp_for

FUNCS = {
    "softmax": (ops.softmax, ref.softmax, ops.softmax_backward, ref.softmax_backward),
    "log_softmax": (ops.log_softmax, ref.log_softmax, ops.log_softmax_backward, ref.log_softmax_backward),
}
# Odd sizes on purpose: rows longer and shorter than the 32-float lanes, columns not multiples
# of anything, size-0 and size-1 dims.
shapes = hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=37)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data(), shape=shapes, seed=st.integers(0, 2**31 - 1), scale=st.sampled_from([1.0, 20.0, 1e3]))
def test_forward_backward_match_reference(device, name, dtype, data, shape, seed, scale):
    xp = xp_for(device)
    fwd, rfwd, bwd, rbwd = FUNCS[name]
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * scale).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    y = fwd(xp.asarray(x), axis=axis)
    assert y.dtype == dtype and y.shape == x.shape
    assert_matches_reference(y, rfwd, x, axis=axis)
    yh = to_host(y)
    gx = bwd(xp.asarray(g), xp.asarray(yh), axis=axis)
    assert_matches_reference(gx, rbwd, g, yh, axis=axis)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype,magnitude", [(np.float64, 1e4), (np.float32, 80.0), (np.float32, 1e4)])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_large_logits_are_finite_and_correct(device, dtype, magnitude, axis):
    xp = xp_for(device)
    rng = np.random.default_rng(3)
    x = (rng.uniform(-1, 1, (5, 33, 7)) * magnitude).astype(dtype)
    x[0, 0, 0] = magnitude  # exp(x) alone overflows float64 at 1e4, float32 above ~88
    for fwd, rfwd in [(ops.softmax, ref.softmax), (ops.log_softmax, ref.log_softmax)]:
        y = to_host(fwd(xp.asarray(x), axis=axis))
        assert np.all(np.isfinite(y))
        assert_matches_reference(y, rfwd, x, axis=axis)
    s = to_host(ops.softmax(xp.asarray(x), axis=axis)).sum(axis=axis)
    np.testing.assert_allclose(s, 1.0, rtol=8 * x.shape[axis] * np.finfo(dtype).eps)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("axis", [-1, 0])
def test_infinities_and_nan_follow_the_reference(device, axis):
    # +inf anywhere in a row makes the whole row NaN (inf - inf), whichever value comes first
    # (the CUDA kernel for axis 0 once gave [0, nan, 0] for [1, inf, 2]).
    xp = xp_for(device)
    x = np.array([[0.0, -np.inf, 1.0, 2.0], [-np.inf, -np.inf, 2.0, 1.0], [np.nan, 0.0, 1.0, 3.0],
                  [1.0, np.inf, 2.0, 0.0], [-1.0, 2.0, -3.0, np.inf]], np.float32)
    with np.errstate(invalid="ignore"):
        for fwd, rfwd in [(ops.softmax, ref.softmax), (ops.log_softmax, ref.log_softmax)]:
            y = to_host(fwd(xp.asarray(x), axis=axis))
            r = rfwd(x.astype(np.float64), axis=axis)
            np.testing.assert_array_equal(np.isnan(y), np.isnan(r))
            fin = np.isfinite(r)
            np.testing.assert_array_equal(np.isfinite(y), fin)
            np.testing.assert_allclose(y[fin], r[fin], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("device", DEVICES)
def test_non_contiguous_and_out(device):
    xp = xp_for(device)
    x = xp.asarray(np.random.default_rng(0).standard_normal((6, 10, 4)).astype(np.float32))
    view = x[:, ::3, 1:]
    assert_matches_reference(ops.softmax(view, axis=1), ref.softmax, to_host(view), axis=1)
    out = xp.empty((6, 4, 3), dtype=np.float32)
    assert ops.log_softmax(view, axis=1, out=out) is out
    assert_matches_reference(out, ref.log_softmax, to_host(view), axis=1)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_gradcheck(name, axis):
    x = np.random.default_rng(1).standard_normal((3, 4, 5)) * 3
    gradcheck(lambda t: getattr(F, name)(t, axis=axis), x)


def test_nn_layers_use_dim():
    x = np.random.default_rng(2).standard_normal((4, 6)).astype(np.float32)
    assert_matches_reference(nn.Softmax(dim=0)(dk.Tensor(x)).data, ref.softmax, x, axis=0)
    assert_matches_reference(nn.LogSoftmax(dim=1)(dk.Tensor(x)).data, ref.log_softmax, x, axis=1)
    assert repr(nn.Softmax(dim=1)) == "Softmax(dim=1)"
    with pytest.raises(ValueError, match=r"LogSoftmax\(dim=2\): log_softmax: axis 2 is out of range for x of shape \(4, 6\)"):
        nn.LogSoftmax(dim=2)(dk.Tensor(x))


def test_errors_name_argument_and_values():
    with pytest.raises(ValueError, match=r"softmax: axis 2 is out of range for x of shape \(3, 4\)"):
        ops.softmax(np.zeros((3, 4), np.float32), axis=2)
    with pytest.raises(ValueError, match=r"log_softmax: x must have at least 1 dimension, got shape \(\)"):
        ops.log_softmax(np.ones((), np.float32))
    with pytest.raises(TypeError, match=r"softmax: x must be float32 or float64, got int64"):
        ops.softmax(np.arange(4))
    with pytest.raises(TypeError, match=r"softmax: axis must be an int, got float 1.0"):
        ops.softmax(np.zeros((3, 4)), axis=1.0)
    with pytest.raises(ValueError, match=r"softmax_backward: grad_out has shape \(3, 5\) but y has shape \(3, 4\)"):
        ops.softmax_backward(np.zeros((3, 5)), np.zeros((3, 4)))
    with pytest.raises(TypeError, match=r"log_softmax_backward: y is float32 but grad_out is float64"):
        ops.log_softmax_backward(np.zeros(3), np.zeros(3, np.float32))


def test_cpu_extension_checks_sizes_itself():
    x = np.zeros((4, 5), np.float32)
    with pytest.raises(ValueError, match=r"softmax_forward: y must have shape \(4, 5\), got \(4, 4\)"):
        dk._cpu.softmax_forward(x, np.zeros((4, 4), np.float32), 1, False)
    with pytest.raises(ValueError, match=r"softmax_forward: axis 2 is out of range"):
        dk._cpu.softmax_forward(x, np.zeros((4, 5), np.float32), 2, False)
    with pytest.raises(ValueError, match=r"softmax_backward: grad_in must be float32, got float64"):
        dk._cpu.softmax_backward(x, x, np.zeros((4, 5)), 1, True)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dim", [1, 31, 1024, 1025, 4099])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_long_and_short_rows(device, dim, dtype):
    """Rows around the CUDA kernels' warp-per-row / block-per-row switch (1024) and the CPU lanes."""
    xp = xp_for(device)
    rng = np.random.default_rng(dim)
    x = (rng.standard_normal((3, dim)) * 10).astype(dtype)
    g = rng.standard_normal((3, dim)).astype(dtype)
    for fwd, rfwd, bwd, rbwd in FUNCS.values():
        y = fwd(xp.asarray(x))
        assert_matches_reference(y, rfwd, x)
        yh = to_host(y)
        assert_matches_reference(bwd(xp.asarray(g), xp.asarray(yh)), rbwd, g, yh)
