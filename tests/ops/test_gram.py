"""Gram matrix kernels (deepkern.ops.gram_matrix and its backward) against the NumPy reference,
the float64 gradient check, and every error path."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import deepkern as dk
import deepkern.functional as F
from deepkern import ops, reference as ref
from tests.helpers import DEVICES, assert_matches_reference, gradcheck, to_host, xp_for


# Channel counts and spatial sizes that are not multiples of the GEMM's tiles (14/16/32 rows,
# 16/32 columns), batch 0 and 1, and a 1x1 map.
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(n=st.integers(0, 3), c=st.integers(1, 37), h=st.integers(1, 19), w=st.integers(1, 23),
       seed=st.integers(0, 2**31 - 1), scale=st.sampled_from([1.0, 1e3]))
def test_forward_backward_match_reference(device, dtype, n, c, h, w, seed, scale):
    xp = xp_for(device)
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, c, h, w)) * scale).astype(dtype)
    g = rng.standard_normal((n, c, c)).astype(dtype)
    y = ops.gram_matrix(xp.asarray(x))
    assert y.shape == (n, c, c) and y.dtype == dtype
    assert_matches_reference(y, ref.gram_matrix, x)
    gx = ops.gram_matrix_backward(xp.asarray(g), xp.asarray(x))
    assert gx.shape == x.shape and gx.dtype == dtype
    assert_matches_reference(gx, ref.gram_matrix_backward, g, x)


@pytest.mark.parametrize("device", DEVICES)
def test_normalization_and_symmetry(device):
    xp = xp_for(device)
    # One channel of ones and one of twos on a 3x5 map: sums 15, 30, 60 over C*H*W = 30.
    x = np.stack([np.ones((3, 5)), 2 * np.ones((3, 5))])[None].astype(np.float64)
    np.testing.assert_allclose(to_host(ops.gram_matrix(xp.asarray(x)))[0], [[0.5, 1.0], [1.0, 2.0]], rtol=1e-15)
    y = to_host(ops.gram_matrix(xp.asarray(np.random.default_rng(1).standard_normal((2, 70, 9, 11)))))
    np.testing.assert_allclose(y, y.transpose(0, 2, 1), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("device", DEVICES)
def test_non_contiguous_input_and_out(device):
    xp = xp_for(device)
    base = np.random.default_rng(2).standard_normal((3, 8, 12, 10)).astype(np.float32)
    view = xp.asarray(base)[:, ::2, 1:, ::3]
    out = xp.empty((3, 4, 4), dtype=np.float32)
    assert ops.gram_matrix(view, out=out) is out
    assert_matches_reference(out, ref.gram_matrix, to_host(view))
    g = xp.asarray(np.random.default_rng(3).standard_normal((4, 3, 4)).astype(np.float32)).transpose(1, 0, 2)
    assert_matches_reference(ops.gram_matrix_backward(g, view), ref.gram_matrix_backward, to_host(g), to_host(view))


@pytest.mark.parametrize("device", DEVICES)
def test_nan_and_inf_propagate(device):
    xp = xp_for(device)
    x = np.ones((1, 3, 4, 4), np.float32)
    x[0, 1, 2, 3] = np.nan
    y = to_host(ops.gram_matrix(xp.asarray(x)))[0]
    assert np.isnan(y[1]).all() and np.isnan(y[:, 1]).all() and np.isfinite(y[0, 0]) and np.isfinite(y[2, 2])


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (1, 1, 1, 1), (0, 4, 3, 3)])
def test_gradcheck(shape):
    x = np.random.default_rng(4).standard_normal(shape)
    gradcheck(F.gram_matrix, x)


def test_errors_name_the_op_argument_and_shapes():
    x = np.zeros((2, 3, 4, 5), np.float32)
    with pytest.raises(ValueError, match=r"gram_matrix: x must be 4-D \(N, C, H, W\), got shape \(3, 4, 5\)"):
        ops.gram_matrix(x[0])
    with pytest.raises(ValueError, match=r"gram_matrix: x has no spatial positions .*\(2, 3, 0, 5\)"):
        ops.gram_matrix(np.zeros((2, 3, 0, 5), np.float32))
    with pytest.raises(TypeError, match="gram_matrix: x must be float32 or float64, got int64"):
        ops.gram_matrix(np.zeros((2, 3, 4, 5), np.int64))
    with pytest.raises(TypeError, match="gram_matrix: x must be a NumPy or CuPy array, got list"):
        ops.gram_matrix([[[[1.0]]]])
    with pytest.raises(ValueError, match=r"gram_matrix: out must have shape \(2, 3, 3\) and dtype float32, "
                                         r"got \(2, 3, 4\) float32"):
        ops.gram_matrix(x, out=np.empty((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match="gram_matrix: out must not overlap x"):
        big = np.zeros((2, 3, 3, 3), np.float32)
        ops.gram_matrix(big, out=big.reshape(-1)[:18].reshape(2, 3, 3))
    with pytest.raises(ValueError, match=r"gram_matrix_backward: grad_out must have shape \(2, 3, 3\), got \(2, 3\)"):
        ops.gram_matrix_backward(np.zeros((2, 3), np.float32), x)
    with pytest.raises(TypeError, match="gram_matrix_backward: x is float64 but grad_out is float32"):
        ops.gram_matrix_backward(np.zeros((2, 3, 3), np.float32), x.astype(np.float64))


def test_kernel_entries_check_their_arguments():
    """The C++ entry points check shapes themselves: a direct call cannot write out of bounds."""
    cpu = dk._cpu
    x = np.zeros((2, 3, 20), np.float32)
    with pytest.raises(ValueError, match="gram_forward: out must have shape"):
        cpu.gram_forward(x, np.empty((2, 3, 2), np.float32), 1.0)
    with pytest.raises(ValueError, match="gram_backward: workspace must have shape"):
        cpu.gram_backward(np.zeros((2, 3, 3), np.float32), x, np.empty((2, 3), np.float32),
                          np.empty_like(x), 1.0)
    with pytest.raises(ValueError, match="gram_backward: grad_in must have shape"):
        cpu.gram_backward(np.zeros((2, 3, 3), np.float32), x, np.empty((2, 3, 3), np.float32),
                          np.empty((2, 3, 19), np.float32), 1.0)
