import numpy as np
import pytest
from hypothesis import example, given, strategies as st

import deepkern as dk
import deepkern.functional as F
from deepkern import nn, ops, reference as ref
from tests.helpers import DEVICES, assert_matches_reference, gradcheck, to_host, xp_for


@st.composite
def transpose_cases(draw):
    groups = draw(st.integers(1, 3))
    cg, kg = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    R, S = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pad = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    # output_padding below max(stride, dilation): with stride 1 and dilation 2 it exceeds the stride
    opad = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dil))
    H, W = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    Ho = (H - 1) * stride[0] - 2 * pad[0] + dil[0] * (R - 1) + opad[0] + 1
    Wo = (W - 1) * stride[1] - 2 * pad[1] + dil[1] * (S - 1) + opad[1] + 1
    if Ho < 1 or Wo < 1:
        pad = (0, 0)
    N = draw(st.sampled_from([0, 1, 2, 3]))
    return dict(x=(N, cg * groups, H, W), w=(cg * groups, kg, R, S), stride=stride, padding=pad,
                output_padding=opad, dilation=dil, groups=groups, bias=draw(st.booleans()))


def _geo(case):
    return {k: case[k] for k in ("stride", "padding", "output_padding", "groups", "dilation")}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(case=transpose_cases(), seed=st.integers(0, 2**31 - 1))
# batch 0 once failed here: the long-double reference's weight gradient was uninitialized memory
@example(case=dict(x=(0, 1, 7, 6), w=(1, 2, 1, 1), stride=(1, 2), padding=(0, 1), output_padding=(0, 1),
                   dilation=(1, 2), groups=1, bias=False), seed=0)
def test_conv_transpose2d_forward_backward_match_reference(device, dtype, case, seed):
    xp = xp_for(device)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(case["x"]).astype(dtype)
    w = rng.standard_normal(case["w"]).astype(dtype)
    b = rng.standard_normal(case["w"][1] * case["groups"]).astype(dtype) if case["bias"] else None
    geo = _geo(case)
    y = ops.conv_transpose2d(xp.asarray(x), xp.asarray(w), None if b is None else xp.asarray(b), **geo)
    if b is None:
        assert_matches_reference(y, lambda x, w: ref.conv_transpose2d(x, w, None, **geo), x, w)
    else:
        assert_matches_reference(y, lambda x, w, b: ref.conv_transpose2d(x, w, b, **geo), x, w, b)
    g = rng.standard_normal(y.shape).astype(dtype)
    grads = ops.conv_transpose2d_backward(xp.asarray(g), xp.asarray(x), xp.asarray(w), **geo,
                                          need_bias=case["bias"])
    assert_matches_reference(
        grads, lambda g, x, w: ref.conv_transpose2d_backward(g, x, w, **geo, need_bias=case["bias"]), g, x, w)


def _litter_the_heap():
    """Free small blocks full of 0xFF bytes (a NaN as long double), where NumPy allocates next."""
    for n in (2, 4, 8, 16, 32, 64, 128):
        junk = np.empty(16 * n, np.uint8)
        junk[:] = 0xFF
        del junk


@pytest.mark.parametrize("transpose", [False, True])
def test_references_give_zero_weight_gradients_for_batch_0_in_long_double(transpose):
    """An empty batch sums nothing: NumPy's einsum returns uninitialized memory in long double
    there, which made the 2x-naive comparison fail at random on batch 0 (the references now
    return exact zeros)."""
    ld = np.longdouble
    for kg, R, S, p, op in [(2, 1, 1, (0, 1), (0, 1)), (3, 2, 3, (1, 2), (0, 0)), (1, 4, 1, (0, 0), (0, 1))] * 10:
        geo = dict(stride=(1, 2), padding=p, dilation=(1, 2))
        x = np.ones((0, 1, 7, 6), ld)
        w = np.ones((1, kg, R, S) if transpose else (kg, 1, R, S), ld)
        if transpose:
            y = ref.conv_transpose2d(x, w, None, output_padding=op, **geo)
            _litter_the_heap()
            grads = ref.conv_transpose2d_backward(np.ones(y.shape, ld), x, w, output_padding=op, **geo)
        else:
            y = ref.conv2d(x, w, None, **geo)
            _litter_the_heap()
            grads = ref.conv2d_backward(np.ones(y.shape, ld), x, w, **geo)
        assert y.shape[0] == 0 and grads[1].shape == w.shape and np.all(grads[1] == 0), (kg, R, S, grads[1])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape, w_shape, geo", [
    ((3, 64, 7, 7), (64, 32, 4, 4), dict(stride=2, padding=1)),        # DCGAN up-sampling block
    ((2, 20, 1, 1), (20, 24, 7, 7), dict()),                           # latent vector to a 7x7 map
    ((2, 300, 9, 10), (300, 16, 1, 1), dict()),                        # pointwise path, several blocks
    ((1, 48, 9, 9), (48, 1, 3, 3), dict(padding=1, groups=48)),        # depthwise
    ((2, 6, 5, 4), (6, 4, 3, 2), dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2), dilation=(2, 1))),
    # 1x1 kernel with output_padding: not the pointwise path (the output is larger than the input)
    ((1, 1, 6, 5), (1, 2, 1, 1), dict(output_padding=(1, 0), dilation=(2, 1))),
])
def test_conv_transpose2d_larger_shapes(device, dtype, x_shape, w_shape, geo):
    xp = xp_for(device)
    rng = np.random.default_rng(7)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[1] * geo.get("groups", 1)).astype(dtype)
    y = ops.conv_transpose2d(xp.asarray(x), xp.asarray(w), xp.asarray(b), **geo)
    assert_matches_reference(y, lambda x, w, b: ref.conv_transpose2d(x, w, b, **geo), x, w, b)
    g = rng.standard_normal(y.shape).astype(dtype)
    grads = ops.conv_transpose2d_backward(xp.asarray(g), xp.asarray(x), xp.asarray(w), **geo)
    assert_matches_reference(grads, lambda g, x, w: ref.conv_transpose2d_backward(g, x, w, **geo), g, x, w)


@pytest.mark.parametrize("geo", [dict(), dict(stride=2, padding=1, output_padding=1),
                                 dict(stride=1, dilation=2, output_padding=1), dict(stride=(1, 3), padding=(0, 2))])
def test_conv_transpose2d_is_the_adjoint_of_conv2d(geo):
    """<conv2d(a, w), y> == <a, conv_transpose2d(y, w)> for every a, y: the defining property, checked
    without either reference."""
    rng = np.random.default_rng(11)
    y = rng.standard_normal((2, 4, 5, 6))
    w = rng.standard_normal((4, 3, 3, 2))
    t = ops.conv_transpose2d(y, w, **geo)
    a = rng.standard_normal(t.shape)
    c2 = {k: v for k, v in geo.items() if k != "output_padding"}
    c = ops.conv2d(a, w, **c2)
    # output_padding >= stride (allowed below the dilation) adds output rows conv2d maps to extra rows:
    # the transpose is then the adjoint of conv2d cropped to y's size
    assert c.shape[2] >= y.shape[2] and c.shape[3] >= y.shape[3]
    c = c[:, :, :y.shape[2], :y.shape[3]]
    np.testing.assert_allclose(np.vdot(c, y), np.vdot(a, t), rtol=1e-12)


def test_conv_transpose2d_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 6, 5, 7))
    w = rng.standard_normal((6, 2, 3, 4))
    b = rng.standard_normal(4)
    g = rng.standard_normal((2, 4, 10, 19))
    geo = dict(stride=2, padding=(1, 0), output_padding=(1, 0), groups=2, dilation=(1, 2))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = torch.nn.functional.conv_transpose2d(tx, tw, tb, **geo)
    ty.backward(torch.tensor(g))
    y = ops.conv_transpose2d(x, w, b, **geo)
    gx, gw, gb = ops.conv_transpose2d_backward(g, x, w, **geo)
    for ours, theirs in ((y, ty), (gx, tx.grad), (gw, tw.grad), (gb, tb.grad)):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-10, atol=1e-10)


def test_conv_transpose2d_same_result_for_any_thread_count():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 8, 6, 6))
    w = rng.standard_normal((8, 5, 4, 4))
    g = rng.standard_normal((3, 5, 12, 12))
    old = dk.get_num_threads()
    try:
        results = []
        for n in (1, 2, 3):
            dk.set_num_threads(n)
            results.append((ops.conv_transpose2d(x, w, stride=2, padding=1),)
                           + ops.conv_transpose2d_backward(g, x, w, stride=2, padding=1))
    finally:
        dk.set_num_threads(old)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
def test_conv_transpose2d_non_contiguous_inputs_and_out(device):
    xp = xp_for(device)
    rng = np.random.default_rng(1)
    x = xp.asarray(rng.standard_normal((2, 3, 5, 14)).astype(np.float32))[:, :, :, ::2]
    w = xp.asarray(rng.standard_normal((4, 3, 3, 3)).astype(np.float32)).transpose(1, 0, 2, 3)
    assert not x.flags.c_contiguous and not w.flags.c_contiguous
    out = xp.empty((2, 4, 11, 15), dtype=np.float32)
    y = ops.conv_transpose2d(x, w, stride=2, out=out)
    assert y is out
    assert_matches_reference(y, lambda x, w: ref.conv_transpose2d(x, w, stride=2), to_host(x), to_host(w))
    g = xp.asarray(rng.standard_normal((2, 15, 4, 11)).astype(np.float32)).transpose(0, 2, 3, 1)
    grads = ops.conv_transpose2d_backward(g, x, w, stride=2)
    assert_matches_reference(grads, lambda g, x, w: ref.conv_transpose2d_backward(g, x, w, stride=2),
                             to_host(g), to_host(x), to_host(w))


def test_conv_transpose2d_backward_need_flags():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((2, 3, 4, 4)), rng.standard_normal((3, 2, 3, 3))
    g = rng.standard_normal((2, 2, 6, 6))
    gx, gw, gb = ops.conv_transpose2d_backward(g, x, w, need_input=False, need_bias=False)
    assert gx is None and gb is None
    np.testing.assert_allclose(gw, ref.conv_transpose2d_backward(g, x, w)[1], rtol=1e-10, atol=1e-12)
    gx, gw, gb = ops.conv_transpose2d_backward(g, x, w, need_weight=False)
    assert gw is None
    np.testing.assert_allclose(gb, g.sum(axis=(0, 2, 3)), rtol=1e-10, atol=1e-12)


def test_conv_transpose2d_large_magnitudes_and_nan():
    x = np.full((1, 2, 3, 3), 1e30, np.float32)
    w = np.full((2, 1, 2, 2), 1e7, np.float32)
    y = ops.conv_transpose2d(x, w, stride=2)
    assert np.isinf(y).sum() == 0 and np.allclose(y, 2e37, rtol=1e-5)
    x[0, 1, 1, 1] = np.nan
    y = ops.conv_transpose2d(x, w, stride=2)
    assert np.isnan(y).sum() == 4   # the 2x2 patch the NaN scatters into, nothing else
    assert np.isnan(y[0, 0, 2:4, 2:4]).all()


@pytest.mark.parametrize("geo", [dict(), dict(stride=2, padding=1, output_padding=1),
                                 dict(stride=1, dilation=2, output_padding=1), dict(groups=2, padding=(1, 0))])
def test_conv_transpose2d_gradcheck(geo):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((1, 2, 3, 4))
    w = rng.standard_normal((2, 4 // geo.get("groups", 1), 3, 2))
    b = rng.standard_normal(4)
    gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, **geo), x, w, b)


def test_conv_transpose2d_unbatched_input():
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((3, 4, 4)), rng.standard_normal((3, 2, 3, 3))
    y = F.conv_transpose2d(dk.Tensor(x), dk.Tensor(w), stride=2)
    assert y.shape == (2, 9, 9)
    np.testing.assert_allclose(y.data, ref.conv_transpose2d(x[None], w, stride=2)[0], rtol=1e-10, atol=1e-12)


def test_conv_transpose2d_errors_name_argument_and_values():
    x = np.zeros((8, 4, 7, 7), np.float32)
    w = np.zeros((4, 3, 4, 4), np.float32)
    with pytest.raises(ValueError, match=r"conv_transpose2d: weight has 3 input channels \(weight.shape=\(3, 2, 4, "
                                         r"4\) is \(C_in, C_out/groups, kH, kW\)\) but x has 4"):
        ops.conv_transpose2d(x, np.zeros((3, 2, 4, 4), np.float32))
    with pytest.raises(ValueError, match=r"conv_transpose2d: groups=3 must divide the input channels \(4\)"):
        ops.conv_transpose2d(x, w, groups=3)
    with pytest.raises(ValueError, match=r"conv_transpose2d: output_padding must be smaller than the stride or the "
                                         r"dilation, got output_padding=\(2, 2\), stride=\(2, 2\)"):
        ops.conv_transpose2d(x, w, stride=2, output_padding=2)
    with pytest.raises(ValueError, match=r"conv_transpose2d: the output size \(-2, -2\) must be positive"):
        ops.conv_transpose2d(x[:, :, :1, :1], w, padding=3)
    with pytest.raises(ValueError, match=r"conv_transpose2d: x must have height and width >= 1"):
        ops.conv_transpose2d(x[:, :, :0], w)
    with pytest.raises(ValueError, match=r"conv_transpose2d: stride must be >= 1, got 0"):
        ops.conv_transpose2d(x, w, stride=0)
    with pytest.raises(ValueError, match=r"conv_transpose2d: output_padding must be >= 0, got -1"):
        ops.conv_transpose2d(x, w, output_padding=-1)
    with pytest.raises(ValueError, match=r"conv_transpose2d: padding must be an int or a pair of ints .*got 'same'"):
        ops.conv_transpose2d(x, w, padding="same")
    with pytest.raises(ValueError, match=r"conv_transpose2d: x must be 4-D \(N, C_in, H, W\), got shape \(4, 7, 7\)"):
        ops.conv_transpose2d(x[0], w)
    with pytest.raises(ValueError, match=r"conv_transpose2d: bias must have shape \(3,\), got \(4,\)"):
        ops.conv_transpose2d(x, w, np.zeros(4, np.float32))
    with pytest.raises(TypeError, match=r"conv_transpose2d: weight is float64 but x is float32"):
        ops.conv_transpose2d(x, w.astype(np.float64))
    with pytest.raises(ValueError, match=r"conv_transpose2d: out must have shape \(8, 3, 10, 10\)"):
        ops.conv_transpose2d(x, w, out=np.zeros((8, 3, 9, 9), np.float32))
    with pytest.raises(ValueError, match=r"conv_transpose2d_backward: grad_out must have shape \(8, 3, 10, 10\), "
                                         r"got \(8, 3, 9, 9\)"):
        ops.conv_transpose2d_backward(np.zeros((8, 3, 9, 9), np.float32), x, w)


def test_cpu_extension_checks_sizes_itself():
    """Direct calls into _cpu with inconsistent arrays raise instead of writing out of bounds."""
    k = dk._cpu
    x = np.zeros((2, 3, 4, 4), np.float32)
    w = np.zeros((3, 2, 3, 3), np.float32)
    geo = ((2, 2), (1, 1), (1, 1), (1, 1), 1)      # y (2, 2, 8, 8)
    ws = np.zeros(k.conv_transpose2d_workspace_size("forward", x.shape, w.shape, *geo), np.float32)
    with pytest.raises(ValueError, match=r"out must have shape \(2, 2, 8, 8\)"):
        k.conv_transpose2d_forward(x, w, None, np.zeros((2, 2, 7, 7), np.float32), ws, *geo)
    with pytest.raises(ValueError, match="workspace must have at least"):
        k.conv_transpose2d_forward(x, w, None, np.zeros((2, 2, 8, 8), np.float32), ws[:3], *geo)
    with pytest.raises(ValueError, match=r"weight has 2 input channels but x has 3"):
        k.conv_transpose2d_forward(x, np.zeros((2, 2, 3, 3), np.float32), None, np.zeros((2, 2, 8, 8), np.float32),
                                   ws, *geo)
    with pytest.raises(ValueError, match=r"bias must have shape \(2,\)"):
        k.conv_transpose2d_forward(x, w, np.zeros(3, np.float32), np.zeros((2, 2, 8, 8), np.float32), ws, *geo)
    with pytest.raises(ValueError, match="output_padding must be >= 0 and smaller than the stride or the dilation"):
        k.conv_transpose2d_forward(x, w, None, np.zeros((2, 2, 9, 9), np.float32), ws, (2, 2), (1, 1), (2, 2),
                                   (1, 1), 1)
    with pytest.raises(ValueError, match=r"grad_out must have shape \(2, 2, 8, 8\)"):
        k.conv_transpose2d_backward_data(np.zeros((2, 2, 8, 7), np.float32), w, np.zeros_like(x), ws, *geo)
    wsw = np.zeros(k.conv_transpose2d_workspace_size("backward_weight", x.shape, w.shape, *geo), np.float32)
    with pytest.raises(ValueError, match=r"grad_b must have shape \(2,\)"):
        k.conv_transpose2d_backward_weight(np.zeros((2, 2, 8, 8), np.float32), x, np.zeros_like(w),
                                           np.zeros(3, np.float32), wsw, *geo)
    with pytest.raises(ValueError, match=r"grad_w must be float32, got float64"):
        k.conv_transpose2d_backward_weight(np.zeros((2, 2, 8, 8), np.float32), x, np.zeros(w.shape), None, wsw, *geo)


def test_conv_transpose2d_layer_shapes_init_and_output_size():
    layer = nn.ConvTranspose2d(8, 6, 4, stride=2, padding=1, groups=2)
    assert layer.weight.shape == (8, 3, 4, 4) and layer.bias.shape == (6,)
    assert sorted(layer.state_dict()) == ["bias", "weight"]
    bound = 1 / np.sqrt(3 * 16)          # PyTorch's fan_in of a transposed weight: out/groups * kH * kW
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.weight.data).max() > 0.8 * bound
    x = dk.Tensor(np.random.default_rng(0).standard_normal((2, 8, 5, 5)).astype(np.float32))
    assert layer(x).shape == (2, 6, 10, 10)
    assert layer(x, output_size=(11, 11)).shape == (2, 6, 11, 11)
    with pytest.raises(ValueError, match=r"output_size \(12, 12\) is not reachable .* must be in \[10, 11\]"):
        layer(x, output_size=(12, 12))
    with pytest.raises(ValueError, match=r"input has 4 channels, expected 8"):
        layer(dk.Tensor(np.zeros((1, 4, 5, 5), np.float32)))
    with pytest.raises(ValueError, match=r"output_padding must be smaller than the stride or the dilation"):
        nn.ConvTranspose2d(2, 2, 3, stride=2, output_padding=2)
    assert "output_padding" in repr(nn.ConvTranspose2d(2, 2, 3, stride=2, output_padding=1))


def test_conv_transpose2d_layer_matches_torch_state_dict():
    torch = pytest.importorskip("torch")
    tl = torch.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2).double()
    layer = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2, dtype=np.float64)
    layer.load_state_dict({k: v.detach().numpy() for k, v in tl.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((2, 4, 5, 5))
    np.testing.assert_allclose(layer(dk.Tensor(x)).data, tl(torch.tensor(x)).detach().numpy(), rtol=1e-10,
                               atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape, w_shape, padding", [
    ((2, 24, 9, 11), (24, 20, 3, 3), 1),   # forward on conv2d's Winograd data gradient
    ((1, 5, 4, 3), (5, 7, 3, 3), 0),       # output larger than the input, partial tiles
    ((3, 17, 6, 6), (17, 3, 3, 3), 2),
])
def test_conv_transpose2d_winograd_matches_reference(dtype, x_shape, w_shape, padding):
    dk._cpu.set_conv_algorithm("winograd")
    try:
        rng = np.random.default_rng(8)
        x = rng.standard_normal(x_shape).astype(dtype)
        w = rng.standard_normal(w_shape).astype(dtype)
        b = rng.standard_normal(w_shape[1]).astype(dtype)
        y = ops.conv_transpose2d(x, w, b, padding=padding)
        assert_matches_reference(y, lambda x, w, b: ref.conv_transpose2d(x, w, b, padding=padding), x, w, b)
        g = rng.standard_normal(y.shape).astype(dtype)
        grads = ops.conv_transpose2d_backward(g, x, w, padding=padding)
        assert_matches_reference(grads, lambda g, x, w: ref.conv_transpose2d_backward(g, x, w, padding=padding),
                                 g, x, w)
    finally:
        dk._cpu.set_conv_algorithm(None)
