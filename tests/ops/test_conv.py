import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

import deepkern as dk
import deepkern.functional as F
from deepkern import ops, reference as ref
from tests.helpers import DEVICES, assert_matches_reference, gradcheck, to_host, xp_for


@st.composite
def conv_cases(draw):
    groups = draw(st.integers(1, 3))
    cg, kg = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    R, S = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = draw(st.one_of(st.sampled_from(["same", "valid"]),
                             st.tuples(st.integers(0, 2), st.integers(0, 2)), st.integers(0, 2)))
    stride = (1, 1) if padding == "same" else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    pad = (0, 0) if isinstance(padding, str) else (padding if isinstance(padding, tuple) else (padding, padding))
    H, W = draw(st.integers(1, 11)), draw(st.integers(1, 11))
    if padding != "same":
        assume(H + 2 * pad[0] >= dil[0] * (R - 1) + 1 and W + 2 * pad[1] >= dil[1] * (S - 1) + 1)
    N = draw(st.sampled_from([0, 1, 2, 3]))
    return dict(x=(N, cg * groups, H, W), w=(kg * groups, cg, R, S), stride=stride, padding=padding,
                dilation=dil, groups=groups, bias=draw(st.booleans()))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(case=conv_cases(), seed=st.integers(0, 2**31 - 1))
def test_conv2d_forward_backward_match_reference(device, dtype, case, seed):
    xp = xp_for(device)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(case["x"]).astype(dtype)
    w = rng.standard_normal(case["w"]).astype(dtype)
    b = rng.standard_normal(case["w"][0]).astype(dtype) if case["bias"] else None
    geo = dict(stride=case["stride"], padding=case["padding"], dilation=case["dilation"], groups=case["groups"])
    y = ops.conv2d(xp.asarray(x), xp.asarray(w), None if b is None else xp.asarray(b), **geo)
    if b is None:
        assert_matches_reference(y, lambda x, w: ref.conv2d(x, w, None, **geo), x, w)
    else:
        assert_matches_reference(y, lambda x, w, b: ref.conv2d(x, w, b, **geo), x, w, b)
    g = rng.standard_normal(y.shape).astype(dtype)
    grads = ops.conv2d_backward(xp.asarray(g), xp.asarray(x), xp.asarray(w), **geo, need_bias=case["bias"])
    assert_matches_reference(grads, lambda g, x, w: ref.conv2d_backward(g, x, w, **geo, need_bias=case["bias"]),
                             g, x, w)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape, w_shape, geo", [
    ((2, 40, 20, 19), (24, 40, 3, 3), dict(padding=1)),           # several column blocks per image
    ((2, 300, 20, 20), (16, 300, 1, 1), dict()),                  # pointwise path, several blocks
    ((1, 64, 9, 9), (64, 1, 3, 3), dict(padding=1, groups=64)),   # depthwise
    ((3, 6, 16, 16), (8, 6, 5, 5), dict(stride=2, dilation=2, padding=(3, 1))),
])
def test_conv2d_larger_shapes(device, dtype, x_shape, w_shape, geo):
    xp = xp_for(device)
    rng = np.random.default_rng(7)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    y = ops.conv2d(xp.asarray(x), xp.asarray(w), xp.asarray(b), **geo)
    assert_matches_reference(y, lambda x, w, b: ref.conv2d(x, w, b, **geo), x, w, b)
    g = rng.standard_normal(y.shape).astype(dtype)
    grads = ops.conv2d_backward(xp.asarray(g), xp.asarray(x), xp.asarray(w), **geo)
    assert_matches_reference(grads, lambda g, x, w: ref.conv2d_backward(g, x, w, **geo), g, x, w)


def test_conv2d_same_result_for_any_thread_count():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 8, 12, 12))
    w = rng.standard_normal((6, 8, 3, 3))
    g = rng.standard_normal((3, 6, 12, 12))
    old = dk.get_num_threads()
    try:
        results = []
        for n in (1, 2, 3):
            dk.set_num_threads(n)
            results.append((ops.conv2d(x, w, padding=1),) + ops.conv2d_backward(g, x, w, padding=1))
    finally:
        dk.set_num_threads(old)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
def test_conv2d_non_contiguous_inputs_and_out(device):
    xp = xp_for(device)
    rng = np.random.default_rng(1)
    x = xp.asarray(rng.standard_normal((2, 3, 10, 14)).astype(np.float32))[:, :, :, ::2]
    w = xp.asarray(rng.standard_normal((3, 4, 3, 3)).astype(np.float32)).transpose(1, 0, 2, 3)
    assert not x.flags.c_contiguous and not w.flags.c_contiguous
    out = xp.empty((2, 4, 8, 5), dtype=np.float32)
    y = ops.conv2d(x, w, padding=(0, 0), out=out)
    assert y is out
    assert_matches_reference(y, ref.conv2d, to_host(x), to_host(w))
    g = xp.asarray(rng.standard_normal((2, 8, 5, 4)).astype(np.float32)).transpose(0, 3, 1, 2)
    grads = ops.conv2d_backward(g, x, w)
    assert_matches_reference(grads, ref.conv2d_backward, to_host(g), to_host(x), to_host(w))


def test_conv2d_backward_need_flags():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3))
    g = rng.standard_normal((2, 4, 4, 4))
    gx, gw, gb = ops.conv2d_backward(g, x, w, need_input=False, need_bias=False)
    assert gx is None and gb is None
    np.testing.assert_allclose(gw, ref.conv2d_backward(g, x, w)[1], rtol=1e-10, atol=1e-12)
    gx, gw, gb = ops.conv2d_backward(g, x, w, need_weight=False)
    assert gw is None
    np.testing.assert_allclose(gb, g.sum(axis=(0, 2, 3)), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("geo", [dict(), dict(stride=2, padding=1), dict(padding="same", dilation=(2, 1)),
                                 dict(groups=2, padding=(1, 0))])
def test_conv2d_gradcheck(geo):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 2, 5, 4))
    w = rng.standard_normal((2, 2 // geo.get("groups", 1), 3, 2))
    b = rng.standard_normal(2)
    gradcheck(lambda x, w, b: F.conv2d(x, w, b, **geo), x, w, b)


def test_conv2d_unbatched_input():
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((3, 7, 7)), rng.standard_normal((2, 3, 3, 3))
    y = F.conv2d(dk.Tensor(x), dk.Tensor(w), padding=1)
    assert y.shape == (2, 7, 7)
    np.testing.assert_allclose(y.data, ref.conv2d(x[None], w, padding=1)[0], rtol=1e-10, atol=1e-12)


def test_conv2d_errors_name_argument_and_values():
    x = np.zeros((8, 4, 32, 32), np.float32)
    w = np.zeros((16, 3, 3, 3), np.float32)
    with pytest.raises(ValueError, match=r"conv2d: weight has 3 input channels per group \(groups=1\), so x must "
                                         r"have 3 channels, but x has 4 \(x.shape=\(8, 4, 32, 32\)"):
        ops.conv2d(x, w)
    with pytest.raises(ValueError, match=r"conv2d: groups=3 must divide the input channels \(4\) and the output "
                                         r"channels \(16\)"):
        ops.conv2d(x, np.zeros((16, 1, 3, 3), np.float32), groups=3)
    with pytest.raises(ValueError, match=r"conv2d: the kernel \(5, 5\) .* is larger than the padded input "
                                         r"\(4, 4\)"):
        ops.conv2d(np.zeros((1, 1, 4, 4), np.float32), np.zeros((1, 1, 5, 5), np.float32))
    with pytest.raises(ValueError, match=r"conv2d: stride must be >= 1, got 0"):
        ops.conv2d(x, np.zeros((2, 4, 3, 3), np.float32), stride=0)
    with pytest.raises(ValueError, match=r"conv2d: dilation\[1\] must be >= 1, got -1"):
        ops.conv2d(x, np.zeros((2, 4, 3, 3), np.float32), dilation=(1, -1))
    with pytest.raises(ValueError, match=r"conv2d: padding must be >= 0, got -1"):
        ops.conv2d(x, np.zeros((2, 4, 3, 3), np.float32), padding=-1)
    with pytest.raises(ValueError, match=r"conv2d: padding='same' needs stride 1, got stride=\(2, 2\)"):
        ops.conv2d(x, np.zeros((2, 4, 3, 3), np.float32), padding="same", stride=2)
    with pytest.raises(ValueError, match=r"conv2d: padding must be an int, a pair, 'same' or 'valid', got 'full'"):
        ops.conv2d(x, np.zeros((2, 4, 3, 3), np.float32), padding="full")
    with pytest.raises(ValueError, match=r"conv2d: x must be 4-D \(N, C, H, W\), got shape \(4, 32, 32\)"):
        ops.conv2d(x[0], w)
    with pytest.raises(ValueError, match=r"conv2d: bias must have shape \(2,\), got \(3,\)"):
        ops.conv2d(x, np.zeros((2, 4, 3, 3), np.float32), np.zeros(3, np.float32))
    with pytest.raises(TypeError, match=r"conv2d: weight is float64 but x is float32"):
        ops.conv2d(x, np.zeros((2, 4, 3, 3)))
    with pytest.raises(ValueError, match=r"conv2d_backward: grad_out must have shape \(8, 2, 30, 30\), "
                                         r"got \(8, 2, 32, 32\)"):
        ops.conv2d_backward(np.zeros((8, 2, 32, 32), np.float32), x, np.zeros((2, 4, 3, 3), np.float32))


def test_cpu_extension_checks_sizes_itself():
    """Direct calls into _cpu with inconsistent arrays raise instead of writing out of bounds."""
    x = np.zeros((2, 3, 8, 8), np.float32)
    w = np.zeros((4, 3, 3, 3), np.float32)
    geo = ((1, 1), (0, 0, 0, 0), (1, 1), 1)
    ws = np.zeros(dk._cpu.conv2d_workspace_size("forward", x.shape, w.shape, *geo), np.float32)
    with pytest.raises(ValueError, match=r"out must have shape \(2, 4, 6, 6\)"):
        dk._cpu.conv2d_forward(x, w, None, np.zeros((2, 4, 8, 8), np.float32), ws, *geo)
    with pytest.raises(ValueError, match="workspace must have at least"):
        dk._cpu.conv2d_forward(x, w, None, np.zeros((2, 4, 6, 6), np.float32), ws[:3], *geo)
    with pytest.raises(ValueError, match=r"weight has 2 input channels per group \(groups=1\) but x has 3 channels"):
        dk._cpu.conv2d_forward(x, np.zeros((4, 2, 3, 3), np.float32), None, np.zeros((2, 4, 6, 6), np.float32),
                               ws, *geo)
    with pytest.raises(ValueError, match=r"bias must have shape \(4,\)"):
        dk._cpu.conv2d_forward(x, w, np.zeros(5, np.float32), np.zeros((2, 4, 6, 6), np.float32), ws, *geo)
    with pytest.raises(ValueError, match="padding must be >= 0"):
        dk._cpu.conv2d_forward(x, w, None, np.zeros((2, 4, 6, 6), np.float32), ws, (1, 1), (0, -1, 0, 0), (1, 1), 1)
    with pytest.raises(ValueError, match=r"grad_out must have shape \(2, 4, 6, 6\)"):
        dk._cpu.conv2d_backward_data(np.zeros((2, 4, 5, 6), np.float32), w, np.zeros_like(x), ws, *geo)
    with pytest.raises(ValueError, match=r"grad_b must have shape \(4,\)"):
        wsw = np.zeros(dk._cpu.conv2d_workspace_size("backward_weight", x.shape, w.shape, *geo), np.float32)
        dk._cpu.conv2d_backward_weight(np.zeros((2, 4, 6, 6), np.float32), x, np.zeros_like(w),
                                       np.zeros(3, np.float32), wsw, *geo)
    with pytest.raises(ValueError, match="pass must be"):
        dk._cpu.conv2d_workspace_size("sideways", x.shape, w.shape, *geo)
