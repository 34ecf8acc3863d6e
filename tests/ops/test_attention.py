import numpy as np
import pytest
from hypothesis import given, strategies as st

import deepkern as dk
import deepkern.functional as F
from deepkern import ops, reference as ref
from tests.helpers import DEVICES, assert_matches_reference, gradcheck, to_host, xp_for

sizes = st.integers(0, 9)


def _inputs(rng, batch, L, S, D, Dv, dtype, scale=1.0):
    q = (rng.standard_normal(batch + (L, D)) * scale).astype(dtype)
    k = rng.standard_normal(batch + (S, D)).astype(dtype)
    v = rng.standard_normal(batch + (S, Dv)).astype(dtype)
    return q, k, v


def _mask(rng, kind, shape, dtype):
    if kind == "none":
        return None
    if kind == "bool":
        return rng.random(shape) < 0.7
    m = rng.standard_normal(shape).astype(dtype)
    m[rng.random(shape) < 0.2] = -np.inf
    return m


def _check_all(xp, q, k, v, mask, causal, scale, g, check_backward=True):
    dq_ = lambda a: None if a is None else xp.asarray(a)  # noqa: E731
    out, lse = ops.scaled_dot_product_attention(xp.asarray(q), xp.asarray(k), xp.asarray(v), mask=dq_(mask),
                                                causal=causal, scale=scale, return_lse=True)
    assert lse.dtype == np.float64
    assert_matches_reference((out, lse.astype(q.dtype)), ref.scaled_dot_product_attention, q, k, v, mask=mask, causal=causal,
                             scale=scale, return_lse=True)
    if not check_backward:
        return to_host(out), to_host(lse), None
    grads = ops.scaled_dot_product_attention_backward(xp.asarray(g), xp.asarray(q), xp.asarray(k), xp.asarray(v),
                                                      out, lse, mask=dq_(mask), causal=causal, scale=scale)
    assert_matches_reference(grads, ref.scaled_dot_product_attention_backward, g, q, k, v, to_host(out),
                             to_host(lse), mask=mask, causal=causal, scale=scale)
    return to_host(out), to_host(lse), to_host(grads)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(batch=st.lists(st.integers(0, 3), min_size=0, max_size=2).map(tuple), L=sizes, S=sizes,
       D=sizes, Dv=sizes, causal=st.booleans(), mask_kind=st.sampled_from(["none", "bool", "float"]),
       mask_batch=st.booleans(), magnitude=st.sampled_from([1.0, 20.0]), seed=st.integers(0, 2**31 - 1))
def test_matches_reference(device, dtype, batch, L, S, D, Dv, causal, mask_kind, mask_batch, magnitude, seed):
    """Forward (out, lse) and backward (dq, dk, dv) over random shapes, masks (broadcast over the
    batch or per item), causal or not; the forward also on large scores (magnitude 20). The
    backward is compared with the reference's formulas given the kernel's own out and lse (what
    the op computes); that these give the true gradient is test_gradcheck's and
    test_matches_torch's job. Large scores are left out of the float32 backward comparison: there
    dk = scale·dSᵀq cancels terms of size |q| down to O(1) and the kernel's vectorized exp
    (~1 ulp more than NumPy's) shows up to ~6x the baseline's error (PyTorch's CPU flash
    backward: 13x on the same inputs), and in float64 the FMA-rounded scores alone do it;
    test_gradcheck_large_scores covers them."""
    xp = xp_for(device)
    rng = np.random.default_rng(seed)
    q, k, v = _inputs(rng, batch, L, S, D, Dv, dtype, magnitude)
    mask = _mask(rng, mask_kind, (batch if mask_batch else ()) + (L, S), dtype)
    g = rng.standard_normal(batch + (L, Dv)).astype(dtype)
    _check_all(xp, q, k, v, mask, causal, None, g,
               check_backward=magnitude == 1.0)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("dims", [(2, 130, 150, 33, 17), (1, 150, 70, 64, 64), (3, 65, 1, 8, 40)])
def test_multi_tile_shapes(device, causal, dims):
    """Sizes that cross the kernels' query and key tiles (64) and vector widths, L != S both ways."""
    xp = xp_for(device)
    B, L, S, D, Dv = dims
    rng = np.random.default_rng(B * L + S)
    q, k, v = _inputs(rng, (B,), L, S, D, Dv, np.float32)
    mask = rng.random((B, 1, S)) < 0.9
    g = rng.standard_normal((B, L, Dv)).astype(np.float32)
    _check_all(xp, q, k, v, mask, causal, 0.3, g)


@pytest.mark.parametrize("device", DEVICES)
def test_fully_masked_rows_give_zeros_not_nan(device):
    xp = xp_for(device)
    rng = np.random.default_rng(3)
    q, k, v = _inputs(rng, (2,), 4, 5, 3, 2, np.float64)
    mask = np.ones((2, 4, 5), dtype=bool)
    mask[0, 1] = False
    mask[1, 3] = False
    additive = np.where(mask, 0.0, -np.inf)
    g = rng.standard_normal((2, 4, 2))
    for m in (mask, additive):
        out, lse, (dq, dk_, dv) = _check_all(xp, q, k, v, m, False, None, g)
        assert np.all(out[0, 1] == 0) and np.all(out[1, 3] == 0)
        assert lse[0, 1] == -np.inf and lse[1, 3] == -np.inf
        assert np.all(dq[0, 1] == 0) and np.all(dq[1, 3] == 0)
        assert np.all(np.isfinite(dk_)) and np.all(np.isfinite(dv))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_allowed_key_gives_exactly_zero_dq_dk(device, dtype):
    """With one allowed key per row the softmax is exactly one-hot (out_i = v_j), so the scores
    get no gradient: dp - delta must cancel exactly, which needs delta = <dO_i, O_i> summed in
    the same order as dp = <dO_i, v_j> (Dv = 37 is not a multiple of the warp size)."""
    xp = xp_for(device)
    rng = np.random.default_rng(11)
    q, k, v = _inputs(rng, (2,), 5, 7, 6, 37, dtype)
    mask = np.zeros((2, 5, 7), dtype=bool)
    mask[np.arange(2)[:, None], np.arange(5)[None, :], rng.integers(0, 7, (2, 5))] = True
    g = rng.standard_normal((2, 5, 37)).astype(dtype)
    out, lse = ops.scaled_dot_product_attention(xp.asarray(q), xp.asarray(k), xp.asarray(v), mask=xp.asarray(mask),
                                                return_lse=True)
    dq, dk_, dv = to_host(ops.scaled_dot_product_attention_backward(
        xp.asarray(g), xp.asarray(q), xp.asarray(k), xp.asarray(v), out, lse, mask=xp.asarray(mask)))
    assert np.all(dq == 0) and np.all(dk_ == 0)
    assert_matches_reference(dv, lambda *a, **kw: ref.scaled_dot_product_attention_backward(*a, **kw)[2], g, q, k, v,
                             to_host(out), to_host(lse), mask=mask)


@pytest.mark.parametrize("device", DEVICES)
def test_empty_keys_and_batch(device):
    xp = xp_for(device)
    rng = np.random.default_rng(4)
    q, k, v = _inputs(rng, (2,), 3, 0, 4, 5, np.float32)
    out, lse = ops.scaled_dot_product_attention(xp.asarray(q), xp.asarray(k), xp.asarray(v), return_lse=True)
    assert out.shape == (2, 3, 5) and np.all(to_host(out) == 0) and np.all(to_host(lse) == -np.inf)
    q, k, v = _inputs(rng, (0, 2), 3, 4, 4, 5, np.float32)
    assert ops.scaled_dot_product_attention(xp.asarray(q), xp.asarray(k), xp.asarray(v)).shape == (0, 2, 3, 5)


@pytest.mark.parametrize("device", DEVICES)
def test_non_contiguous_inputs(device):
    xp = xp_for(device)
    rng = np.random.default_rng(5)
    x = xp.asarray(rng.standard_normal((2, 7, 3, 18)).astype(np.float32))  # (B, L, H, 3·E)
    q, k, v = (x[..., i::3].transpose(0, 2, 1, 3) for i in range(3))    # (B, H, L, E) views
    assert not q.flags.c_contiguous
    mask = xp.asarray(rng.random((7, 7)) < 0.8)[:, ::-1]
    out = ops.scaled_dot_product_attention(q, k, v, mask=mask, causal=True)
    assert_matches_reference(out, ref.scaled_dot_product_attention, to_host(q), to_host(k), to_host(v),
                             mask=to_host(mask), causal=True)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("mask_kind", ["none", "bool", "float"])
def test_gradcheck(causal, mask_kind):
    rng = np.random.default_rng(6)
    q, k, v = _inputs(rng, (2,), 3, 4, 2, 3, np.float64)
    mask = _mask(rng, mask_kind, (2, 1, 4), np.float64)
    if mask is not None and mask.dtype == bool:
        mask[:, :, 0] = True  # every row keeps a key: finite differences need a smooth point
    elif mask is not None:
        mask[np.isinf(mask)] = -1.5
    gradcheck(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, mask=mask, causal=causal, scale=0.7),
              q, k, v)


def test_gradcheck_large_scores():
    """Scores of magnitude ~50: the online softmax's rescaling and exp(s - lse) stay exact enough."""
    rng = np.random.default_rng(8)
    q, k, v = _inputs(rng, (), 3, 5, 2, 2, np.float64, 20.0)
    gradcheck(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, causal=True), q, k, v, eps=1e-7)


@pytest.mark.parametrize("causal", [False, True])
def test_matches_torch(causal):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    q, k, v = _inputs(rng, (2, 3), 9, 11, 8, 5, np.float64)
    mask = rng.random((2, 1, 9, 11)) < 0.6
    mask[..., 0] = True  # torch gives NaN for rows with no allowed key; deepkern gives zeros
    g = rng.standard_normal((2, 3, 9, 5))
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    tm = torch.tensor(mask)
    if causal:
        tm = tm & torch.ones(9, 11, dtype=torch.bool).tril()
    tout = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=tm)
    tout.backward(torch.tensor(g))
    qt, kt, vt = (dk.Tensor(a, requires_grad=True) for a in (q, k, v))
    out = F.scaled_dot_product_attention(qt, kt, vt, mask=mask, causal=causal)
    out.backward(g)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    for ours, theirs in ((qt, tq), (kt, tk), (vt, tv)):
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_errors_name_argument_and_values():
    f32 = lambda *s: np.zeros(s, np.float32)  # noqa: E731
    sdpa = ops.scaled_dot_product_attention
    with pytest.raises(TypeError, match=r"scaled_dot_product_attention: k is float64 but q is float32"):
        sdpa(f32(2, 3), np.zeros((2, 3)), f32(2, 3))
    with pytest.raises(ValueError, match=r"q must be \(\.\.\., L, D\) with at least 2 dimensions, got shape \(3,\)"):
        sdpa(f32(3), f32(2, 3), f32(2, 3))
    with pytest.raises(ValueError, match=r"the batch dims of q \(2,\), k \(3,\) and v \(3,\) do not broadcast"):
        sdpa(f32(2, 4, 3), f32(3, 5, 3), f32(3, 5, 3))
    with pytest.raises(ValueError, match=r"k has feature size 4 but q has 3"):
        sdpa(f32(4, 3), f32(5, 4), f32(5, 2))
    with pytest.raises(ValueError, match=r"v has 6 keys but k has 5"):
        sdpa(f32(4, 3), f32(5, 3), f32(6, 2))
    with pytest.raises(ValueError, match=r"mask of shape \(4, 4\) does not broadcast to \(\.\.\., L, S\) = \(4, 5\)"):
        sdpa(f32(4, 3), f32(5, 3), f32(5, 2), mask=np.ones((4, 4), bool))
    with pytest.raises(TypeError, match=r"mask must be bool \(True = may attend\) or float32 like q .* got int64"):
        sdpa(f32(4, 3), f32(5, 3), f32(5, 2), mask=np.ones((4, 5), np.int64))
    with pytest.raises(TypeError, match=r"causal must be a bool, got int 1"):
        sdpa(f32(4, 3), f32(5, 3), f32(5, 2), causal=1)
    with pytest.raises(TypeError, match=r"scale must be a real number"):
        sdpa(f32(4, 3), f32(5, 3), f32(5, 2), scale="x")
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention_backward: lse must have shape \(4,\), got \(5,\)"):
        ops.scaled_dot_product_attention_backward(f32(4, 2), f32(4, 3), f32(5, 3), f32(5, 2), f32(4, 2), np.zeros(5))
    with pytest.raises(TypeError, match=r"scaled_dot_product_attention_backward: lse must be float64, got float32"):
        ops.scaled_dot_product_attention_backward(f32(4, 2), f32(4, 3), f32(5, 3), f32(5, 2), f32(4, 2), f32(4))


def test_cpu_extension_checks_sizes_itself():
    """Direct calls into _cpu with inconsistent arrays raise instead of reading or writing out of bounds."""
    f32 = lambda *s: np.zeros(s, np.float32)  # noqa: E731
    q, k, v = f32(2, 4, 3), f32(2, 5, 3), f32(2, 5, 6)
    fwd = dk._cpu.attention_forward
    with pytest.raises(ValueError, match=r"out must have shape \(2, 4, 6\), got \(2, 4, 5\)"):
        fwd(q, k, v, None, None, False, 1.0, f32(2, 4, 5), np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"v must have shape \(2, 5, 6\)|k must have shape"):
        fwd(q, f32(2, 5, 2), v, None, None, False, 1.0, f32(2, 4, 6), np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"mask_index\[1\] = 3 is outside \[0, 1\)"):
        fwd(q, k, v, np.ones((1, 4, 5), bool), np.array([0, 3]), False, 1.0, f32(2, 4, 6), np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"mask must have shape \(M, 4, 5\), got \(1, 5, 4\)"):
        fwd(q, k, v, np.ones((1, 5, 4), bool), np.array([0, 0]), False, 1.0, f32(2, 4, 6), np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"mask and mask_index must be given together"):
        fwd(q, k, v, np.ones((1, 4, 5), bool), None, False, 1.0, f32(2, 4, 6), np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"delta must have shape \(2, 4\)"):
        dk._cpu.attention_backward(f32(2, 4, 6), q, k, v, f32(2, 4, 6), np.zeros((2, 4)), None, None, False, 1.0,
                                   f32(2, 5), f32(2, 4, 3), f32(2, 5, 3), f32(2, 5, 6))


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("backward", [False, True])
def test_bench_cases_compare_the_same_computation(causal, backward):
    from deepkern import bench
    from deepkern.bench.attention import _case
    fns = _case(1, 2, 33, 8, causal, backward).setup(bench.Context("cpu"))
    ours = fns["deepkern"]()
    if not backward:
        np.testing.assert_allclose(ours, fns["reference"](), rtol=1e-4, atol=1e-5)
    if "torch" in fns:
        theirs = fns["torch"]()
        for a, b in zip(ours if backward else [ours], theirs if backward else [theirs]):
            np.testing.assert_allclose(a, b.numpy(), rtol=1e-4, atol=1e-5)


# ---- PyTorch's arguments: broadcast batch dims, dropout_p, attn_mask / is_causal ------------------

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("qb,kb,vb", [((2, 3), (2, 1), (2, 1)), ((3,), (1,), (3,)), ((2, 1), (4,), (1, 4)),
                                      ((), (2,), (2,))])
def test_batch_dims_broadcast_as_torch(device, qb, kb, vb):
    """k, v shared across heads (B, 1, S, D) against q (B, H, L, D): broadcast, not refused."""
    xp = xp_for(device)
    rng = np.random.default_rng(0)
    q = rng.standard_normal(qb + (3, 4))
    k, v = rng.standard_normal(kb + (5, 4)), rng.standard_normal(vb + (5, 2))
    out = ops.scaled_dot_product_attention(xp.asarray(q), xp.asarray(k), xp.asarray(v))
    batch = np.broadcast_shapes(qb, kb, vb)
    expected = ref.scaled_dot_product_attention(*(np.broadcast_to(x, batch + x.shape[-2:]) for x in (q, k, v)))
    np.testing.assert_allclose(to_host(out), expected, rtol=1e-12, atol=1e-12)
    if device == "cpu":
        gradcheck(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, causal=True), q, k, v)
    with pytest.raises(ValueError, match=r"the batch dims of q \(2,\), k \(3,\) and v \(3,\) do not broadcast"):
        ops.scaled_dot_product_attention(xp.zeros((2, 3, 4)), xp.zeros((3, 5, 4)), xp.zeros((3, 5, 2)))


def test_dropout_p_drops_attention_probabilities():
    rng = np.random.default_rng(1)
    q, k = rng.standard_normal((2, 6, 4)), rng.standard_normal((2, 7, 4))
    eye = np.broadcast_to(np.eye(7), (2, 7, 7)).copy()    # out = the dropped probabilities themselves
    probs = F.scaled_dot_product_attention(q, k, eye).numpy()
    dk.manual_seed(3)
    dropped = F.scaled_dot_product_attention(dk.Tensor(q), dk.Tensor(k), dk.Tensor(eye), dropout_p=0.4).numpy()
    kept = dropped != 0
    assert 0.4 < kept.mean() < 0.8                         # about 60% kept
    np.testing.assert_allclose(dropped[kept], probs[kept] / 0.6, rtol=1e-12)
    assert (F.scaled_dot_product_attention(q, k, eye, dropout_p=1.0).numpy() == 0).all()
    v = rng.standard_normal((2, 7, 3))
    mask = rng.random((6, 7)) < 0.5
    mask[2] = False                                        # a row with no allowed key: zeros
    for kw in ({"attn_mask": mask}, {"is_causal": True}, {"mask": np.where(mask, 0.0, -np.inf)}):
        def f(a, b, c, kw=kw):
            dk.manual_seed(7)  # the same dropout mask at every evaluation
            return F.scaled_dot_product_attention(a, b, c, dropout_p=0.25, **kw)
        gradcheck(f, q, k, v)
        dk.manual_seed(7)
        out = f(q, k, v).numpy()
        assert np.isfinite(out).all()
        if "is_causal" not in kw:
            assert (out[:, 2] == 0).all()
    # the fused path with torch's argument names
    np.testing.assert_allclose(F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=True).numpy(),
                               ops.scaled_dot_product_attention(q, k, v, mask=mask, causal=True), rtol=0, atol=0)
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention: dropout_p must be in \[0.0, 1.0\], got 1.5"):
        F.scaled_dot_product_attention(q, k, v, dropout_p=1.5)
    with pytest.raises(TypeError, match="got mask and attn_mask; give one"):
        F.scaled_dot_product_attention(q, k, v, mask, attn_mask=mask)
