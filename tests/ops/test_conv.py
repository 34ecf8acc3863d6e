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
    ((2, 4, 36, 37), (5, 4, 8, 8), dict(stride=4, padding=(1, 2))),           # kernel wider than stride 4
    ((3, 3, 23, 22), (4, 3, 7, 7), dict(stride=(2, 3), padding=3)),           # ... than stride 3
    ((1, 8, 100, 100), (4, 8, 5, 5), dict(stride=2, padding=2)),              # ... several blocks per image
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


@pytest.mark.parametrize("x_shape, w_shape, geo", [
    ((3, 8, 12, 12), (6, 8, 3, 3), dict(padding=1)),
    ((1, 3, 30, 30), (4, 3, 5, 5), dict(stride=2, padding=2)),  # one image, a strided layer
])
def test_conv2d_same_result_for_any_thread_count(x_shape, w_shape, geo):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    g = rng.standard_normal(ref.conv2d(x, w, **geo).shape)
    old = dk.get_num_threads()
    try:
        results = []
        for n in (1, 2, 3):
            dk.set_num_threads(n)
            results.append((ops.conv2d(x, w, **geo),) + ops.conv2d_backward(g, x, w, **geo))
    finally:
        dk.set_num_threads(old)
    assert_matches_reference(results[0][0], lambda x, w: ref.conv2d(x, w, **geo), x, w)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("x_shape, w_shape, geo", [
    ((1, 5, 90, 70), (6, 5, 3, 3), dict(padding=1, dilation=(1, 2))),  # batch 1: several column blocks
    ((3, 5, 40, 30), (4, 5, 5, 5), dict(padding=2, stride=(1, 2))),    # 3 images on 2 threads
    ((1, 7, 20, 20), (3, 7, 1, 1), {}),                                 # batch 1, pointwise (no col2im)
    ((1, 6, 24, 24), (4, 3, 3, 3), dict(padding=1, groups=2)),
])
def test_conv2d_data_gradient_splits_channels_when_images_are_few(conv_algorithm, x_shape, w_shape, geo):
    """With fewer images than threads (or a count they do not divide) the data gradient splits
    each image's input channels over the threads: the reference result for any thread count."""
    conv_algorithm("im2col")
    rng = np.random.default_rng(16)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    g = rng.standard_normal(ops.conv2d(x, w, **geo).shape).astype(np.float32)
    old = dk.get_num_threads()
    try:
        results = []
        for n in (1, 2, 3):
            dk.set_num_threads(n)
            results.append(ops.conv2d_backward(g, x, w, need_weight=False, need_bias=False, **geo)[0])
    finally:
        dk.set_num_threads(old)
    for gx in results:
        assert_matches_reference(gx, lambda g, x, w: ref.conv2d_backward(g, x, w, **geo)[0], g, x, w)


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


# ---- Winograd F(2x2, 3x3): 3x3 stride-1 forward and data gradient ----------


@pytest.fixture
def conv_algorithm():
    """Force the CPU's 3x3 stride-1 convolution algorithm for one test (automatic afterwards)."""
    yield dk._cpu.set_conv_algorithm
    dk._cpu.set_conv_algorithm(None)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape, k, padding", [
    ((1, 1, 1, 1), 1, 1),                  # sizes 1: one partial tile
    ((1, 1, 3, 3), 1, 0),                  # a 1x1 output
    ((2, 3, 7, 5), 5, 1),                  # primes: partial tiles on both edges
    ((3, 17, 13, 11), 19, (1, 2)),         # channels not a multiple of MR or the vector width
    ((2, 5, 9, 9), 7, "valid"),
    ((1, 4, 6, 7), 3, "same"),
    ((2, 40, 37, 20), 24, 1),              # several tile blocks and panels per block
    ((1, 2, 8, 8), 33, 2),                 # output channels past one MR panel, padding 2
])
def test_conv2d_winograd_matches_reference(conv_algorithm, dtype, x_shape, k, padding):
    conv_algorithm("winograd")
    rng = np.random.default_rng(11)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal((k, x_shape[1], 3, 3)).astype(dtype)
    b = rng.standard_normal(k).astype(dtype)
    y = ops.conv2d(x, w, b, padding=padding)
    assert_matches_reference(y, lambda x, w, b: ref.conv2d(x, w, b, padding=padding), x, w, b)
    g = rng.standard_normal(y.shape).astype(dtype)
    grads = ops.conv2d_backward(g, x, w, padding=padding)
    assert_matches_reference(grads, lambda g, x, w: ref.conv2d_backward(g, x, w, padding=padding), g, x, w)


@pytest.mark.parametrize("shape", [(2, 64, 28, 28, 64), (1, 128, 14, 14, 128), (1, 256, 8, 8, 96)])
def test_conv2d_winograd_error_within_twice_naive_float32(conv_algorithm, shape):
    """Winograd's rounding error at network sizes: within twice the float32 direct sum's error
    against float64, forward and data gradient, with inputs like a network's (standard normal,
    He-scaled weights). F(4x4, 3x3) misses this by 6-13x (benchmarks/winograd_error.py), so
    deepkern has F(2x2) only (benchmarks/results/2026-12-03-cpu-conv.md)."""
    conv_algorithm("winograd")
    n, c, h, w_, k = shape
    rng = np.random.default_rng(12)
    x = rng.standard_normal((n, c, h, w_)).astype(np.float32)
    w = (rng.standard_normal((k, c, 3, 3)) * np.sqrt(2 / (9 * c))).astype(np.float32)
    assert_matches_reference(ops.conv2d(x, w, padding=1), lambda x, w: ref.conv2d(x, w, padding=1), x, w)
    g = rng.standard_normal((n, k, h, w_)).astype(np.float32)
    gx = ops.conv2d_backward(g, x, w, padding=1, need_weight=False, need_bias=False)[0]
    assert_matches_reference(gx, lambda g, x, w: ref.conv2d_backward(g, x, w, padding=1)[0], g, x, w)


@given(n=st.integers(0, 3), c=st.integers(1, 20), k=st.integers(1, 20), h=st.integers(1, 14),
       w=st.integers(1, 14), pad=st.tuples(st.integers(0, 2), st.integers(0, 2)), seed=st.integers(0, 2**31 - 1))
def test_conv2d_winograd_random_shapes(n, c, k, h, w, pad, seed):
    assume(h + 2 * pad[0] >= 3 and w + 2 * pad[1] >= 3)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    wt = rng.standard_normal((k, c, 3, 3)).astype(np.float32)
    dk._cpu.set_conv_algorithm("winograd")
    try:
        y = ops.conv2d(x, wt, padding=pad)
        g = rng.standard_normal(y.shape).astype(np.float32)
        gx = ops.conv2d_backward(g, x, wt, padding=pad, need_weight=False, need_bias=False)[0]
    finally:
        dk._cpu.set_conv_algorithm(None)
    assert_matches_reference(y, lambda x, wt: ref.conv2d(x, wt, padding=pad), x, wt)
    assert_matches_reference(gx, lambda g, x, wt: ref.conv2d_backward(g, x, wt, padding=pad)[0], g, x, wt)


def test_conv2d_winograd_gradcheck(conv_algorithm):
    conv_algorithm("winograd")
    rng = np.random.default_rng(13)
    x, w, b = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    gradcheck(lambda x, w, b: F.conv2d(x, w, b, padding=1), x, w, b)


def test_conv2d_winograd_same_result_for_any_thread_count(conv_algorithm):
    conv_algorithm("winograd")
    rng = np.random.default_rng(14)
    x = rng.standard_normal((3, 20, 30, 30)).astype(np.float32)
    w = rng.standard_normal((24, 20, 3, 3)).astype(np.float32)
    g = rng.standard_normal((3, 24, 30, 30)).astype(np.float32)
    old = dk.get_num_threads()
    try:
        results = []
        for n in (1, 2, 3):
            dk.set_num_threads(n)
            results.append((ops.conv2d(x, w, padding=1), ops.conv2d_backward(g, x, w, padding=1)[0]))
    finally:
        dk.set_num_threads(old)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


def test_conv2d_winograd_nonfinite_values_stay_where_direct_convolution_puts_them(conv_algorithm):
    """A NaN or inf (or a value the transform would overflow) makes the pass convolve directly:
    Winograd would spread it over its whole tile."""
    rng = np.random.default_rng(15)
    x = rng.standard_normal((1, 16, 12, 12)).astype(np.float32)
    w = rng.standard_normal((16, 16, 3, 3)).astype(np.float32)
    x[0, 3, 5, 5] = np.nan
    x[0, 4, 0, 11] = np.inf
    conv_algorithm("im2col")
    want = ops.conv2d(x, w, padding=1), ops.conv2d_backward(x, x, w, padding=1)[0]
    conv_algorithm("winograd")
    got = ops.conv2d(x, w, padding=1), ops.conv2d_backward(x, x, w, padding=1)[0]
    for a, b in zip(got, want):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_array_equal(np.isinf(a), np.isinf(b))
    big = np.full((1, 16, 8, 8), 1e38, np.float32)  # finite products, but the transform's 4x overflows
    wb = np.full((16, 16, 3, 3), 1e-3, np.float32)
    y = ops.conv2d(big, wb, padding=1)
    assert np.isfinite(y).all()
    w[2, 1, 0, 0] = np.inf
    y = ops.conv2d(np.ones_like(x), w, padding=1)
    conv_algorithm("im2col")
    np.testing.assert_array_equal(np.isnan(y), np.isnan(ops.conv2d(np.ones_like(x), w, padding=1)))


def test_set_conv_algorithm_rejects_unknown_names():
    with pytest.raises(ValueError, match="set_conv_algorithm: algorithm must be 'im2col', 'winograd' or None"):
        dk._cpu.set_conv_algorithm("fft")


def test_workspace_scratch_is_reused_per_thread_and_dtype():
    """Convolution and RNN workspaces come from one buffer per thread and dtype, grown to the
    largest request: a second call writes pages already mapped."""
    import threading

    from deepkern._backend import scratch
    a = scratch(np, 1000, np.float32)
    b = scratch(np, 10, np.float32)
    assert a.shape == (1000,) and b.shape == (10,) and np.shares_memory(a, b)
    grown = scratch(np, 5000, np.float32)
    assert grown.shape == (5000,) and np.shares_memory(grown, scratch(np, 3000, np.float32))
    assert not np.shares_memory(grown, scratch(np, 10, np.float64))
    assert scratch(np, 0, np.float32).shape == (0,)
    other = []
    t = threading.Thread(target=lambda: other.append(scratch(np, 10, np.float32)))
    t.start()
    t.join()
    assert not np.shares_memory(other[0], grown)
