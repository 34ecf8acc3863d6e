import numpy as np
import pytest
from hypothesis import given, strategies as st

import deepkern as dk
import deepkern.functional as F
from deepkern import ops, reference as ref
from tests.helpers import DEVICES, assert_matches_reference, gradcheck, to_host, xp_for

GATES = {"rnn_tanh": 1, "rnn_relu": 1, "gru": 3, "lstm": 4}


def _flat(res):
    out = []
    for r in res:
        out.extend(r if isinstance(r, tuple) else (r,))
    return tuple(out)


def _make(cell, T, B, I, H, dtype, seed, bias=True):
    rng = np.random.default_rng(seed)
    G = GATES[cell]
    k = 1 / np.sqrt(H)
    a = dict(x=rng.standard_normal((T, B, I)), h0=rng.standard_normal((B, H)) * 0.5,
             c0=rng.standard_normal((B, H)) if cell == "lstm" else None,
             w_ih=rng.uniform(-k, k, (G * H, I)) * 2, w_hh=rng.uniform(-k, k, (G * H, H)) * 2,
             b_ih=rng.uniform(-k, k, G * H) if bias else None, b_hh=rng.uniform(-k, k, G * H) if bias else None)
    return {n: (v.astype(dtype) if v is not None else None) for n, v in a.items()}, rng


def _forward(lib, cell, a, lengths, reverse):
    if cell == "lstm":
        return lib.lstm_forward(a["x"], a["h0"], a["c0"], a["w_ih"], a["w_hh"], a["b_ih"], a["b_hh"], lengths, reverse)
    if cell == "gru":
        return lib.gru_forward(a["x"], a["h0"], a["w_ih"], a["w_hh"], a["b_ih"], a["b_hh"], lengths, reverse)
    return lib.rnn_forward(a["x"], a["h0"], a["w_ih"], a["w_hh"], a["b_ih"], a["b_hh"], cell[4:], lengths, reverse)


def _backward(lib, cell, g, a, saved, lengths, reverse, need_bias):
    go, gh, gc = g
    if cell == "lstm":
        return lib.lstm_backward(go, gh, gc, a["x"], a["h0"], a["c0"], a["w_ih"], a["w_hh"], saved, lengths,
                                 reverse, need_bias)
    if cell == "gru":
        return lib.gru_backward(go, gh, a["x"], a["h0"], a["w_ih"], a["w_hh"], saved, lengths, reverse, need_bias)
    return lib.rnn_backward(go, gh, a["x"], a["h0"], a["w_ih"], a["w_hh"], saved, cell[4:], lengths, reverse,
                            need_bias)


NAMES = ["x", "h0", "c0", "w_ih", "w_hh", "b_ih", "b_hh"]


def _as_dict(args):
    return dict(zip(NAMES, args))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("cell", list(GATES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(T=st.integers(0, 5), B=st.integers(0, 4), I=st.integers(1, 7), H=st.integers(1, 11),
       reverse=st.booleans(), use_lengths=st.booleans(), bias=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_sequence_forward_backward_match_reference(device, cell, dtype, T, B, I, H, reverse, use_lengths, bias,
                                                   seed):
    xp = xp_for(device)
    a, rng = _make(cell, T, B, I, H, dtype, seed, bias)
    lengths = rng.integers(1, T + 1, B) if (use_lengths and T > 0) else None
    dev = {n: (xp.asarray(v) if v is not None else None) for n, v in a.items()}
    ours = _forward(ops, cell, dev, lengths, reverse)
    args = [a[n] for n in NAMES]
    assert_matches_reference(_flat(ours), lambda *v: _flat(_forward(ref, cell, _as_dict(v), lengths, reverse)),
                             *args)
    g = (rng.standard_normal((T, B, H)).astype(dtype), rng.standard_normal((B, H)).astype(dtype),
         rng.standard_normal((B, H)).astype(dtype) if cell == "lstm" else None)
    grads = _backward(ops, cell, tuple(xp.asarray(v) if v is not None else None for v in g), dev, ours[-1],
                      lengths, reverse, bias)

    # Backward is compared on the same saved activations (ours), so only its own arithmetic
    # is measured (the forward's are checked above).
    saved = to_host(ours[-1])
    n_saved = len(saved)

    def reference_grads(*v):
        d = _as_dict(v[:7])
        return _backward(ref, cell, v[7:10], d, tuple(v[10:10 + n_saved]), lengths, reverse, bias)
    assert_matches_reference(tuple(grads), reference_grads, *args, *g, *saved)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(B=st.integers(1, 5), I=st.integers(1, 9), H=st.integers(1, 13), seed=st.integers(0, 2**31 - 1))
def test_cells_match_reference(device, dtype, B, I, H, seed):
    xp = xp_for(device)
    for cell in GATES:
        a, rng = _make(cell, 1, B, I, H, dtype, seed)
        x = a["x"][0]
        d = lambda v: xp.asarray(v) if v is not None else None  # noqa: E731
        w = (a["w_ih"], a["w_hh"], a["b_ih"], a["b_hh"])
        gh = rng.standard_normal((B, H)).astype(dtype)
        if cell == "lstm":
            gc = rng.standard_normal((B, H)).astype(dtype)
            h1, c1, gates = ops.lstm_cell(d(x), d(a["h0"]), d(a["c0"]), *map(d, w), return_gates=True)
            assert_matches_reference((h1, c1, gates), ref.lstm_cell, x, a["h0"], a["c0"], *w, return_gates=True)
            ours = ops.lstm_cell_backward(d(gh), d(gc), d(x), d(a["h0"]), d(a["c0"]), d(w[0]), d(w[1]), h1, c1,
                                          gates)

            def ref_bwd(gh, gc, x, h, c, wi, wh, bi, bh):
                h1, c1, g = ref.lstm_cell(x, h, c, wi, wh, bi, bh, return_gates=True)
                return ref.lstm_cell_backward(gh, gc, x, h, c, wi, wh, h1, c1, g)
            assert_matches_reference(ours, ref_bwd, gh, gc, x, a["h0"], a["c0"], *w)
        elif cell == "gru":
            h1, gates = ops.gru_cell(d(x), d(a["h0"]), *map(d, w), return_gates=True)
            assert_matches_reference((h1, gates), ref.gru_cell, x, a["h0"], *w, return_gates=True)
            ours = ops.gru_cell_backward(d(gh), d(x), d(a["h0"]), d(w[0]), d(w[1]), h1, gates)

            def ref_bwd(gh, x, h, wi, wh, bi, bh):
                h1, g = ref.gru_cell(x, h, wi, wh, bi, bh, return_gates=True)
                return ref.gru_cell_backward(gh, x, h, wi, wh, h1, g)
            assert_matches_reference(ours, ref_bwd, gh, x, a["h0"], *w)
        else:
            nl = cell[4:]
            h1 = ops.rnn_cell(d(x), d(a["h0"]), *map(d, w), nonlinearity=nl)
            assert_matches_reference(h1, ref.rnn_cell, x, a["h0"], *w, nonlinearity=nl)
            ours = ops.rnn_cell_backward(d(gh), d(x), d(a["h0"]), d(w[0]), d(w[1]), h1, nl)

            def ref_bwd(gh, x, h, wi, wh, bi, bh):
                return ref.rnn_cell_backward(gh, x, h, wi, wh, ref.rnn_cell(x, h, wi, wh, bi, bh, nl), nl)
            assert_matches_reference(ours, ref_bwd, gh, x, a["h0"], *w)


@pytest.mark.parametrize("cell", list(GATES))
@pytest.mark.parametrize("reverse", [False, True])
def test_sequence_gradcheck(cell, reverse):
    a, _ = _make(cell, 4, 3, 2, 3, np.float64, 7)
    lengths = np.array([4, 1, 3])
    if cell == "lstm":
        gradcheck(lambda *v: F.lstm(*v, lengths=lengths, reverse=reverse), *[a[n] for n in NAMES])
    elif cell == "gru":
        gradcheck(lambda x, h, wi, wh, bi, bh: F.gru(x, h, wi, wh, bi, bh, lengths=lengths, reverse=reverse),
                  *[a[n] for n in NAMES if n != "c0"])
    else:
        gradcheck(lambda x, h, wi, wh, bi, bh: F.rnn(x, h, wi, wh, bi, bh, cell[4:], lengths=lengths,
                                                     reverse=reverse),
                  *[a[n] for n in NAMES if n != "c0"])


@pytest.mark.parametrize("cell", list(GATES))
def test_cell_gradcheck(cell):
    a, _ = _make(cell, 1, 3, 4, 5, np.float64, 3)
    x = a["x"][0]
    if cell == "lstm":
        gradcheck(F.lstm_cell, x, a["h0"], a["c0"], a["w_ih"], a["w_hh"], a["b_ih"], a["b_hh"])
    elif cell == "gru":
        gradcheck(F.gru_cell, x, a["h0"], a["w_ih"], a["w_hh"], a["b_ih"], a["b_hh"])
    else:
        gradcheck(lambda *v: F.rnn_cell(*v, nonlinearity=cell[4:]), x, a["h0"], a["w_ih"], a["w_hh"], a["b_ih"],
                  a["b_hh"])


def test_gradcheck_without_bias():
    a, _ = _make("gru", 3, 2, 3, 2, np.float64, 1, bias=False)
    gradcheck(lambda x, h, wi, wh: F.gru(x, h, wi, wh), a["x"], a["h0"], a["w_ih"], a["w_hh"])


@pytest.mark.parametrize("device", DEVICES)
def test_lengths_padding_changes_nothing(device):
    """A row's padded steps change neither its outputs (zeros there) nor its final state."""
    xp = xp_for(device)
    a, rng = _make("lstm", 6, 3, 4, 5, np.float64, 11)
    lengths = np.array([6, 2, 4])
    for reverse in (False, True):
        out, h_n, c_n, _ = ops.lstm_forward(*[xp.asarray(a[n]) for n in NAMES], lengths=lengths, reverse=reverse)
        out, h_n, c_n = map(to_host, (out, h_n, c_n))
        for b, n in enumerate(lengths):
            one = {k: v for k, v in a.items()}
            one.update(x=a["x"][:n, b:b + 1], h0=a["h0"][b:b + 1], c0=a["c0"][b:b + 1])
            o1, h1, c1, _ = ops.lstm_forward(*[one[k] for k in NAMES], reverse=reverse)
            np.testing.assert_allclose(out[:n, b], o1[:, 0], rtol=1e-12, atol=1e-12)
            assert np.all(out[n:, b] == 0)
            np.testing.assert_allclose(h_n[b], h1[0], rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(c_n[b], c1[0], rtol=1e-12, atol=1e-12)


def test_non_contiguous_inputs():
    a, _ = _make("gru", 4, 3, 5, 6, np.float32, 2)
    x_wide = np.repeat(a["x"], 2, axis=2)[:, :, ::2]
    w_t = np.ascontiguousarray(a["w_ih"].T).T
    assert not x_wide.flags.c_contiguous and not w_t.flags.c_contiguous
    got = ops.gru_forward(x_wide, a["h0"], w_t, a["w_hh"], a["b_ih"], a["b_hh"])
    want = ops.gru_forward(a["x"], a["h0"], a["w_ih"], a["w_hh"], a["b_ih"], a["b_hh"])
    np.testing.assert_array_equal(got[0], want[0])


def test_errors_name_op_argument_and_values():
    a, _ = _make("lstm", 3, 2, 4, 5, np.float32, 0)
    args = [a[n] for n in NAMES]
    with pytest.raises(ValueError, match=r"lstm_forward: x must be 3-D \(T, B, input_size\), got shape \(2, 4\)"):
        ops.lstm_forward(a["x"][0], *args[1:])
    with pytest.raises(ValueError, match=r"lstm_forward: w_ih must have shape \(20, 3\).*got \(20, 4\)"):
        ops.lstm_forward(a["x"][:, :, :3], *args[1:])
    with pytest.raises(ValueError, match=r"lstm_forward: h0 must have shape \(2, 5\), got \(3, 5\)"):
        ops.lstm_forward(a["x"], np.zeros((3, 5), np.float32), *args[2:])
    with pytest.raises(TypeError, match=r"lstm_forward: h0 is float64 but x is float32"):
        ops.lstm_forward(a["x"], a["h0"].astype(np.float64), *args[2:])
    with pytest.raises(TypeError, match=r"lstm_forward: lengths must be integers, got dtype float64"):
        ops.lstm_forward(*args, lengths=np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"lstm_forward: lengths must be in \[1, 3\].*max 4"):
        ops.lstm_forward(*args, lengths=[4, 1])
    with pytest.raises(ValueError, match=r"lstm_forward: lengths must be in \[1, 3\].*min 0"):
        ops.lstm_forward(*args, lengths=[0, 1])
    with pytest.raises(ValueError, match=r"lengths must have shape \(2,\)"):
        ops.lstm_forward(*args, lengths=[1, 2, 3])
    with pytest.raises(ValueError, match=r"rnn_forward: nonlinearity must be 'tanh' or 'relu', got 'gelu'"):
        ops.rnn_forward(a["x"], a["h0"], a["w_ih"][:5], a["w_hh"][:5], nonlinearity="gelu")
    with pytest.raises(ValueError, match=r"gru_cell: w_hh must have shape \(15, 5\), got \(20, 5\)"):
        ops.gru_cell(a["x"][0], a["h0"], a["w_ih"][:15], a["w_hh"])
    _, _, _, saved = ops.lstm_forward(*args)
    with pytest.raises(ValueError, match=r"lstm_backward: grad_output must have shape \(3, 2, 5\), got \(3, 2, 4\)"):
        ops.lstm_backward(np.zeros((3, 2, 4), np.float32), None, None, a["x"], a["h0"], a["c0"], a["w_ih"],
                          a["w_hh"], saved)


def test_cpu_extension_checks_sizes_itself():
    """A direct call into _cpu with inconsistent arrays raises instead of writing out of bounds."""
    a, _ = _make("lstm", 3, 2, 4, 5, np.float32, 0)
    x, h0, c0, wi, wh = (a[n] for n in NAMES[:5])
    hs, cs, sv = np.empty((3, 2, 5), np.float32), np.empty((3, 2, 5), np.float32), np.empty((3, 2, 20), np.float32)
    with pytest.raises(ValueError, match=r"rnn_forward: saved must have shape \(3, 2, 20\), got \(3, 2, 19\)"):
        dk._cpu.rnn_forward("lstm", x, h0, c0, wi, wh, None, None, None, False, hs, cs, sv[:, :, :19].copy(), None)
    with pytest.raises(ValueError, match=r"rnn_forward: h0 must have shape \(2, 5\)"):
        dk._cpu.rnn_forward("lstm", x, h0[:1].copy(), c0, wi, wh, None, None, None, False, hs, cs, sv, None)
    with pytest.raises(ValueError, match=r"lengths\[1\] must be in \[1, 3\], got 9"):
        dk._cpu.rnn_forward("lstm", x, h0, c0, wi, wh, None, None, np.array([1, 9]), False, hs, cs, sv, None)
    with pytest.raises(ValueError, match=r"work must have at least 30 elements"):
        dk._cpu.rnn_forward("gru", x, h0, None, wi[:15], wh[:15], None, None, None, False, hs, None, sv,
                            np.empty(29, np.float32))
    with pytest.raises(ValueError, match="unknown cell"):
        dk._cpu.rnn_forward("peephole", x, h0, c0, wi, wh, None, None, None, False, hs, cs, sv, None)
