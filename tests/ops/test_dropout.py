import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import deepkern as dk
import deepkern.functional as F
import deepkern.nn as nn
from deepkern import ops, reference as ref
from tests.helpers import DEVICES, assert_matches_reference, gradcheck, to_host, xp_for

shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=9)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(shape=shapes, seed=st.integers(0, 2**31 - 1), p=st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]))
def test_mask_and_values_match_reference(device, dtype, shape, seed, p):
    xp = xp_for(device)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    dk.manual_seed(seed)
    y, mask = ops.dropout(xp.asarray(x), p)
    dk.manual_seed(seed)
    _, ref_mask = ref.dropout(x, p)
    assert mask.dtype == np.uint8 and mask.shape == x.shape
    np.testing.assert_array_equal(to_host(mask), ref_mask)  # the same hash, bit for bit
    assert_matches_reference(y, ref.dropout_backward, x, ref_mask, p)
    assert_matches_reference(ops.dropout_backward(xp.asarray(g), mask, p), ref.dropout_backward, g, ref_mask, p)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_kept_fraction_is_binomial(device, p):
    xp = xp_for(device)
    n = 1 << 18
    dk.manual_seed(11)
    _, mask = ops.dropout(xp.ones(n, dtype=np.float32), p)
    mask = to_host(mask).astype(np.int64)
    sd = np.sqrt(p * (1 - p) / n)
    assert abs(mask.mean() - (1 - p)) < 5 * sd
    # no structure along the index: every 1/8 of the array, and even/odd positions, also binomial
    for part in np.split(mask, 8) + [mask[0::2], mask[1::2]]:
        assert abs(part.mean() - (1 - p)) < 5 * np.sqrt(p * (1 - p) / part.size)
    # neighbours independent: P(both kept) = (1-p)^2
    both = (mask[:-1] & mask[1:]).mean()
    assert abs(both - (1 - p) ** 2) < 5 * np.sqrt((1 - p) ** 2 * (1 - (1 - p) ** 2) / n)


@pytest.mark.parametrize("device", DEVICES)
def test_same_seed_same_mask_new_call_new_mask(device):
    xp = xp_for(device)
    x = xp.ones((64, 64), dtype=np.float32)
    dk.manual_seed(3)
    _, a = ops.dropout(x, 0.5)
    _, b = ops.dropout(x, 0.5)
    dk.manual_seed(3)
    _, c = ops.dropout(x, 0.5)
    np.testing.assert_array_equal(to_host(a), to_host(c))
    assert np.mean(to_host(a) != to_host(b)) > 0.3


def test_same_seed_gives_the_same_mask_for_any_thread_count():
    x = np.ones(1 << 18, np.float32)
    masks = []
    for threads in (1, 2):
        old = dk.get_num_threads()
        dk.set_num_threads(threads)
        try:
            dk.manual_seed(5)
            masks.append(ops.dropout(x, 0.3)[1])
        finally:
            dk.set_num_threads(old)
    np.testing.assert_array_equal(masks[0], masks[1])


def test_train_and_eval():
    x = np.random.default_rng(0).standard_normal((8, 16)).astype(np.float32)
    y, mask = ops.dropout(x, 0.5, training=False)
    assert y is x and mask is None
    t = dk.Tensor(x)
    assert F.dropout(t, 0.5, training=False) is t
    layer = nn.Dropout(0.25)
    assert repr(layer) == "Dropout(p=0.25)"
    out = layer(t).data
    kept = out != 0
    np.testing.assert_allclose(out[kept], x[kept] / 0.75, rtol=1e-6)
    layer.eval()
    assert layer(t) is t
    np.testing.assert_array_equal(ops.dropout(x, 1.0)[0], np.zeros_like(x))
    np.testing.assert_array_equal(ops.dropout(x, 0.0)[0], x)


def test_gradient_uses_the_forward_mask():
    x = np.random.default_rng(1).standard_normal((4, 5))

    def fn(t):
        dk.manual_seed(9)  # the same mask at every finite-difference evaluation
        return F.dropout(t, 0.4)

    gradcheck(fn, x)


def test_errors_name_argument_and_values():
    x = np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match=r"dropout: p must be in \[0.0, 1.0\], got 1.5"):
        ops.dropout(x, 1.5)
    with pytest.raises(ValueError, match=r"dropout: p must be in \[0.0, 1.0\], got -0.1"):
        F.dropout(dk.Tensor(x), -0.1)
    with pytest.raises(ValueError, match=r"Dropout: p must be in \[0.0, 1.0\], got 2.0"):
        nn.Dropout(2.0)
    with pytest.raises(TypeError, match=r"dropout_backward: mask must be uint8, got float32"):
        ops.dropout_backward(x, x, 0.5)
    with pytest.raises(ValueError, match=r"dropout_backward: mask must have shape \(3, 4\), got \(4,\)"):
        ops.dropout_backward(x, np.ones(4, np.uint8), 0.5)


def test_cpu_extension_checks_sizes_itself():
    x = np.zeros(10, np.float32)
    with pytest.raises(ValueError, match=r"dropout_forward: mask must have shape \(10,\), got \(5,\)"):
        dk._cpu.dropout_forward(x, x.copy(), np.zeros(5, np.uint8), 0.5, 1)
    with pytest.raises(ValueError, match=r"dropout_forward: p must be in \[0, 1\], got 2"):
        dk._cpu.dropout_forward(x, x.copy(), np.zeros(10, np.uint8), 2.0, 1)
    with pytest.raises(ValueError, match=r"dropout_backward: mask must be uint8, got float32"):
        dk._cpu.dropout_backward(x, x, x.copy(), 0.5)


@pytest.mark.cuda
def test_cpu_and_cuda_masks_agree_for_one_seed():
    xp = xp_for("cuda")
    x = np.ones((37, 101), np.float32)
    dk.manual_seed(21)
    _, cpu_mask = ops.dropout(x, 0.35)
    dk.manual_seed(21)
    _, gpu_mask = ops.dropout(xp.asarray(x), 0.35)
    np.testing.assert_array_equal(cpu_mask, to_host(gpu_mask))


def test_non_contiguous_input_uses_the_mask_of_its_copy():
    x = np.random.default_rng(2).standard_normal((6, 8)).astype(np.float32)[:, ::2]
    dk.manual_seed(4)
    y, mask = ops.dropout(x, 0.5)
    dk.manual_seed(4)
    _, ref_mask = ref.dropout(np.ascontiguousarray(x), 0.5)
    np.testing.assert_array_equal(mask, ref_mask)
    assert_matches_reference(y, ref.dropout_backward, np.ascontiguousarray(x), ref_mask, 0.5)
