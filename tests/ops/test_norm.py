import numpy as np
import pytest
from hypothesis import given, strategies as st

import deepkern as dk
import deepkern.functional as F
from deepkern import ops, reference as ref
from tests.helpers import DEVICES, assert_matches_reference, gradcheck, to_host, xp_for


def _ref_running(x, running_mean, running_var, weight, bias, training, momentum, eps):
    """The reference's in-place running-stat update, as outputs."""
    rm, rv = running_mean.copy(), running_var.copy()
    ref.batch_norm(x, rm, rv, weight, bias, training, momentum, eps)
    return rm, rv


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(n=st.integers(0, 6), c=st.integers(1, 19), spatial=st.lists(st.integers(0, 7), max_size=2),
       training=st.booleans(), affine=st.booleans(), track=st.booleans(), seed=st.integers(0, 2**31 - 1),
       offset=st.sampled_from([0.0, 50.0]))
def test_batch_norm_matches_reference(device, dtype, n, c, spatial, training, affine, track, seed, offset):
    xp = xp_for(device)
    shape = (n, c) + tuple(spatial)
    m = int(np.prod(shape)) // c
    training = training or not track  # eval needs running stats
    if training and m == 1:
        return  # an error (tested below)
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * rng.uniform(0.5, 3) + offset).astype(dtype)
    w = rng.uniform(0.5, 2, c).astype(dtype) if affine else None
    b = rng.standard_normal(c).astype(dtype) if affine else None
    rm = rng.standard_normal(c).astype(dtype) if track else None
    rv = rng.uniform(0.5, 2, c).astype(dtype) if track else None
    dev = lambda a: None if a is None else xp.array(a)  # noqa: E731  (a copy: updated in place)
    rm_d, rv_d = dev(rm), dev(rv)
    out = ops.batch_norm(dev(x), rm_d, rv_d, dev(w), dev(b), training, 0.1, 1e-5)
    ref_rm, ref_rv = (rm.copy(), rv.copy()) if track else (None, None)
    assert_matches_reference(out, ref.batch_norm, x, ref_rm, ref_rv, w, b, training, 0.1, 1e-5)
    if track:
        assert_matches_reference((rm_d, rv_d), _ref_running, x, rm, rv, w, b, training, 0.1, 1e-5)
    y, save_mean, save_invstd = (to_host(o) for o in out)
    g = rng.standard_normal(shape).astype(dtype)
    grads = ops.batch_norm_backward(xp.asarray(g), xp.asarray(x), dev(w), xp.asarray(save_mean),
                                    xp.asarray(save_invstd), training)
    assert_matches_reference(grads, ref.batch_norm_backward, g, x, w, save_mean, save_invstd, training)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(5, 3), (3, 2, 4), (2, 3, 2, 3)])
def test_gradcheck_wrt_x_weight_bias(training, shape):
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape) * 2 + 1
    w, b = rng.uniform(0.5, 2, shape[1]), rng.standard_normal(shape[1])
    rm, rv = rng.standard_normal(shape[1]), rng.uniform(0.5, 2, shape[1])
    # momentum 0 keeps the running stats fixed across the finite-difference evaluations
    gradcheck(lambda t, wt, bt: F.batch_norm(t, rm, rv, wt, bt, training=training, momentum=0.0), x, w, b)
    gradcheck(lambda t: F.batch_norm(t, None if training else rm, None if training else rv, training=training),
              x)


def test_empty_batch_leaves_running_stats_alone():
    rm, rv = np.full(3, 0.5), np.full(3, 2.0)
    y, _, _ = ops.batch_norm(np.zeros((0, 3, 4)), rm, rv, training=True)
    assert y.shape == (0, 3, 4)
    np.testing.assert_array_equal(rm, 0.5)
    np.testing.assert_array_equal(rv, 2.0)


def test_non_contiguous_input():
    x = np.random.default_rng(8).standard_normal((4, 6, 5)).astype(np.float32)[:, ::2, 1:]
    out = ops.batch_norm(x, None, None, training=True)
    assert_matches_reference(out, ref.batch_norm, x, None, None, None, None, True)


def test_errors_name_argument_and_values():
    x = np.zeros((4, 3, 2, 2), np.float32)
    c3 = np.zeros(3, np.float32)
    with pytest.raises(ValueError, match=r"batch_norm: x must be \(N, C\), \(N, C, L\) or \(N, C, H, W\), got shape \(4,\)"):
        ops.batch_norm(np.zeros(4, np.float32), None, None, training=True)
    with pytest.raises(ValueError, match=r"batch_norm: weight must have shape \(3,\), got \(4,\)"):
        ops.batch_norm(x, None, None, np.ones(4, np.float32), training=True)
    with pytest.raises(ValueError, match=r"batch_norm: running_mean must have shape \(3,\), got \(2,\)"):
        ops.batch_norm(x, np.zeros(2, np.float32), c3.copy(), training=True)
    with pytest.raises(TypeError, match=r"batch_norm: running_var is float64 but x is float32"):
        ops.batch_norm(x, c3.copy(), np.ones(3), training=True)
    with pytest.raises(ValueError, match=r"running_mean must be C-contiguous and writable \(it is updated in place\)"):
        ops.batch_norm(x, np.zeros(6, np.float32)[::2], c3.copy(), training=True)
    with pytest.raises(ValueError, match=r"batch_norm: eval mode \(training=False\) needs running_mean and running_var"):
        ops.batch_norm(x, None, None, training=False)
    with pytest.raises(ValueError, match=r"batch_norm: running_mean and running_var must both be arrays or both be None"):
        ops.batch_norm(x, c3.copy(), None, training=True)
    with pytest.raises(ValueError, match=r"batch_norm: expected more than 1 value per channel when training, "
                                         r"got x of shape \(1, 3\)"):
        ops.batch_norm(np.zeros((1, 3), np.float32), None, None, training=True)
    with pytest.raises(ValueError, match=r"batch_norm: momentum must be in \[0.0, 1.0\], got 1.5"):
        ops.batch_norm(x, None, None, training=True, momentum=1.5)
    with pytest.raises(ValueError, match=r"batch_norm_backward: grad_out must have shape \(4, 3, 2, 2\), got \(4, 3\)"):
        ops.batch_norm_backward(np.zeros((4, 3), np.float32), x, None, c3, c3)


def test_cpu_extension_checks_sizes_itself():
    x = np.zeros((4, 3), np.float32)
    c3 = np.zeros(3, np.float32)
    with pytest.raises(ValueError, match=r"batch_norm_forward: save_mean must have shape \(3,\), got \(2,\)"):
        dk._cpu.batch_norm_forward(x, x.copy(), None, None, None, None, np.zeros(2, np.float32), c3, True, 0.1,
                                   1e-5)
    with pytest.raises(ValueError, match=r"batch_norm_forward: eval mode needs running_mean and running_var"):
        dk._cpu.batch_norm_forward(x, x.copy(), None, None, None, None, c3, c3.copy(), False, 0.1, 1e-5)
    with pytest.raises(ValueError, match=r"batch_norm_backward: grad_weight must have shape \(3,\), got \(4,\)"):
        dk._cpu.batch_norm_backward(x, x, None, c3, c3, x.copy(), np.zeros(4, np.float32), c3.copy(), True)
