import numpy as np
import pytest

import deepkern as dk
import deepkern.functional as F
from deepkern import nn, reference as ref
from tests.helpers import DEVICES, assert_matches_reference, gradcheck, to_host, xp_for

try:
    import torch
except ImportError:  # torch is optional: the comparisons with it skip
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
LAYERS = {"LSTM": nn.LSTM, "GRU": nn.GRU, "RNN": nn.RNN}


def _pair(mode, **kw):
    """A deepkern layer and a torch layer (float64) with the same weights."""
    ours = LAYERS[mode](dtype=np.float64, **kw)
    theirs = getattr(torch.nn, mode)(**kw).double()
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    assert list(state) == list(ours.state_dict())
    ours.load_state_dict(state)
    return ours, theirs


def _grads_close(ours, theirs):
    for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == tname
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-9, atol=1e-11, err_msg=name)


@needs_torch
@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_matches_torch_two_layers(mode, bidirectional, batch_first):
    torch.manual_seed(0)
    kw = dict(input_size=5, hidden_size=7, num_layers=2, bidirectional=bidirectional, batch_first=batch_first)
    ours, theirs = _pair(mode, **kw)
    rng = np.random.default_rng(1)
    T, B, D = 6, 3, 2 if bidirectional else 1
    x = rng.standard_normal((B, T, 5) if batch_first else (T, B, 5))
    h0 = rng.standard_normal((2 * D, B, 7))
    c0 = rng.standard_normal((2 * D, B, 7))
    xt = torch.tensor(x, requires_grad=True)
    h0t, c0t = torch.tensor(h0, requires_grad=True), torch.tensor(c0, requires_grad=True)
    xd, h0d, c0d = dk.Tensor(x, requires_grad=True), dk.Tensor(h0, requires_grad=True), dk.Tensor(c0, requires_grad=True)
    if mode == "LSTM":
        out_t, (hn_t, cn_t) = theirs(xt, (h0t, c0t))
        out_d, (hn_d, cn_d) = ours(xd, (h0d, c0d))
        np.testing.assert_allclose(cn_d.data, cn_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    else:
        out_t, hn_t = theirs(xt, h0t)
        out_d, hn_d = ours(xd, h0d)
    np.testing.assert_allclose(out_d.data, out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(hn_d.data, hn_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    g_out, g_h = rng.standard_normal(out_d.shape), rng.standard_normal(hn_d.shape)
    loss_t = (out_t * torch.tensor(g_out)).sum() + (hn_t * torch.tensor(g_h)).sum()
    loss_d = (out_d * dk.Tensor(g_out)).sum() + (hn_d * dk.Tensor(g_h)).sum()
    if mode == "LSTM":
        g_c = rng.standard_normal(cn_d.shape)
        loss_t = loss_t + (cn_t * torch.tensor(g_c)).sum()
        loss_d = loss_d + (cn_d * dk.Tensor(g_c)).sum()
    loss_t.backward()
    loss_d.backward()
    np.testing.assert_allclose(xd.grad, xt.grad.numpy(), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(h0d.grad, h0t.grad.numpy(), rtol=1e-9, atol=1e-11)
    if mode == "LSTM":
        np.testing.assert_allclose(c0d.grad, c0t.grad.numpy(), rtol=1e-9, atol=1e-11)
    _grads_close(ours, theirs)


@needs_torch
@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_lengths_match_torch_packed_sequence(mode):
    torch.manual_seed(3)
    ours, theirs = _pair(mode, input_size=4, hidden_size=6, num_layers=2, bidirectional=True, batch_first=True)
    rng = np.random.default_rng(4)
    lengths = np.array([5, 2, 4, 1])
    x = rng.standard_normal((4, 5, 4))
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), torch.tensor(lengths), batch_first=True,
                                                     enforce_sorted=False)
    out_t, state_t = theirs(packed)
    out_t, _ = torch.nn.utils.rnn.pad_packed_sequence(out_t, batch_first=True, total_length=5)
    out_d, state_d = ours(x, lengths=lengths)
    np.testing.assert_allclose(out_d.data, out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    hn_t = state_t[0] if mode == "LSTM" else state_t
    hn_d = state_d[0] if mode == "LSTM" else state_d
    np.testing.assert_allclose(hn_d.data, hn_t.detach().numpy(), rtol=1e-10, atol=1e-12)


@needs_torch
@pytest.mark.parametrize("cls", ["LSTMCell", "GRUCell", "RNNCell"])
def test_cells_match_torch(cls):
    torch.manual_seed(5)
    theirs = getattr(torch.nn, cls)(4, 6).double()
    ours = getattr(nn, cls)(4, 6, dtype=np.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(6).standard_normal((3, 4))
    xt, xd = torch.tensor(x, requires_grad=True), dk.Tensor(x, requires_grad=True)
    out_t, out_d = theirs(xt), ours(xd)
    if cls == "LSTMCell":
        out_t, out_d = out_t[0] * 2 + out_t[1], out_d[0] * 2 + out_d[1]
    np.testing.assert_allclose(out_d.data, out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    out_t.sum().backward()
    out_d.sum().backward()
    np.testing.assert_allclose(xd.grad, xt.grad.numpy(), rtol=1e-9, atol=1e-11)
    _grads_close(ours, theirs)


def test_parameter_names_shapes_and_init():
    m = nn.LSTM(3, 5, num_layers=2, bidirectional=True)
    names = list(m.state_dict())
    assert names[:8] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ih_l0_reverse",
                         "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse"]
    assert m.weight_ih_l0.shape == (20, 3) and m.weight_ih_l1.shape == (20, 10) and m.weight_hh_l1.shape == (20, 5)
    assert m.weight_ih_l0.dtype == np.float32
    bound = 1 / np.sqrt(5)
    for p in m.parameters():
        assert np.all(np.abs(p.data) <= bound) and np.std(p.data) > bound / 4
    assert "bias_ih_l0" not in nn.GRU(3, 4, bias=False).state_dict()
    assert nn.LSTM(3, 4, variant="peephole").weight_ch_l0.shape == (12,)
    assert nn.GRU(3, 4, variant="simple").weight_ih_l0.shape == (8, 3)
    assert nn.LSTM(3, 4, variant="coupled").weight_hh_l0.shape == (12, 4)


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN"])
def test_lengths_padded_steps_change_nothing(mode):
    dk.manual_seed(0)
    m = LAYERS[mode](3, 4, num_layers=2, bidirectional=True, batch_first=True, dtype=np.float64)
    rng = np.random.default_rng(0)
    lengths = np.array([4, 2, 3])
    x = rng.standard_normal((3, 4, 3))
    x_noise = x.copy()
    for b, n in enumerate(lengths):
        x_noise[b, n:] = rng.standard_normal(x_noise[b, n:].shape) * 100
    out, state = m(x, lengths=lengths)
    out2, state2 = m(x_noise, lengths=lengths)
    h = state[0] if mode == "LSTM" else state
    h2 = state2[0] if mode == "LSTM" else state2
    np.testing.assert_array_equal(out.data, out2.data)
    np.testing.assert_array_equal(h.data, h2.data)
    for b, n in enumerate(lengths):
        assert np.all(out.data[b, n:] == 0)
        o1, s1 = m(x[b:b + 1, :n])
        np.testing.assert_allclose(out.data[b, :n], o1.data[0], rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(h.data[:, b], (s1[0] if mode == "LSTM" else s1).data[:, 0], rtol=1e-12,
                                   atol=1e-13)


@pytest.mark.parametrize("device", DEVICES)
def test_unbatched_input_and_default_state(device):
    xp = xp_for(device)
    dk.manual_seed(1)
    m = nn.GRU(3, 4, num_layers=2).to(device)
    x = xp.asarray(np.random.default_rng(2).standard_normal((5, 3)).astype(np.float32))
    out, h = m(x)
    assert out.shape == (5, 4) and h.shape == (2, 4)
    out_b, h_b = m(x[:, None, :])
    np.testing.assert_array_equal(to_host(out.data), to_host(out_b.data)[:, 0])
    np.testing.assert_array_equal(to_host(h.data), to_host(h_b.data)[:, 0])


def test_dropout_only_between_layers():
    dk.manual_seed(2)
    x = np.random.default_rng(3).standard_normal((6, 2, 3)).astype(np.float32)
    one = nn.LSTM(3, 4, dropout=0.5)
    out_train, _ = one(x)
    out_eval, _ = one.eval()(x)
    np.testing.assert_array_equal(out_train.data, out_eval.data)  # nothing to drop between layers
    two = nn.LSTM(3, 4, num_layers=2, dropout=0.5)
    out_train, _ = two(x)
    out_eval, _ = two.eval()(x)
    assert not np.allclose(out_train.data, out_eval.data)


def _reference_variant(variant, x, h, c, w):
    outs = []
    for t in range(x.shape[0]):
        if variant == "simple":
            h = ref.simple_gru_cell(x[t], h, *w)
        elif variant == "peephole":
            h, c = ref.peephole_lstm_cell(x[t], h, c, w[0], w[1], w[4], w[2], w[3])
        else:
            h, c = ref.coupled_lstm_cell(x[t], h, c, *w)
        outs.append(h)
    return np.stack(outs)


@pytest.mark.parametrize("variant", ["simple", "peephole", "coupled"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_variant_layers_match_reference(variant, dtype):
    dk.manual_seed(4)
    cls = nn.GRU if variant == "simple" else nn.LSTM
    m = cls(3, 5, variant=variant, dtype=dtype)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 2, 3)).astype(dtype)
    out, _ = m(x)
    w = [p.data for p in (m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0, m.bias_hh_l0)]
    if variant == "peephole":
        m.weight_ch_l0.data = rng.uniform(-1, 1, 15).astype(dtype)  # nonzero peepholes
        out, _ = m(x)
        w.append(m.weight_ch_l0.data)
    z = np.zeros((2, 5), dtype)
    assert_matches_reference(out.data, lambda x, z, *w: _reference_variant(variant, x, z, z, w), x, z, *w)


@pytest.mark.parametrize("variant", ["simple", "peephole", "coupled"])
def test_variant_cells_gradcheck(variant):
    rng = np.random.default_rng(6)
    B, I, H = 2, 3, 4
    G = {"simple": 2, "peephole": 4, "coupled": 3}[variant]
    x, h, c = rng.standard_normal((B, I)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    wi, wh = rng.standard_normal((G * H, I)) * 0.5, rng.standard_normal((G * H, H)) * 0.5
    bi, bh = rng.standard_normal(G * H), rng.standard_normal(G * H)
    if variant == "simple":
        gradcheck(F.simple_gru_cell, x, h, wi, wh, bi, bh)
    elif variant == "peephole":
        gradcheck(F.peephole_lstm_cell, x, h, c, wi, wh, rng.standard_normal(3 * H), bi, bh)
    else:
        gradcheck(F.coupled_lstm_cell, x, h, c, wi, wh, bi, bh)


def test_variant_lengths_keep_state():
    dk.manual_seed(7)
    m = nn.LSTM(3, 4, variant="peephole", batch_first=True, dtype=np.float64)
    x = np.random.default_rng(8).standard_normal((2, 5, 3))
    out, (h, c) = m(x, lengths=[5, 3])
    o1, (h1, c1) = m(x[1:, :3])
    np.testing.assert_allclose(out.data[1, :3], o1.data[0], rtol=1e-12)
    assert np.all(out.data[1, 3:] == 0)
    np.testing.assert_allclose(h.data[:, 1], h1.data[:, 0], rtol=1e-12)
    np.testing.assert_allclose(c.data[:, 1], c1.data[:, 0], rtol=1e-12)


def test_layer_errors():
    m = nn.LSTM(3, 4, num_layers=2)
    x = np.zeros((5, 2, 3), np.float32)
    with pytest.raises(ValueError, match=r"LSTM: input has 4 features but input_size=3"):
        m(np.zeros((5, 2, 4), np.float32))
    with pytest.raises(ValueError, match=r"LSTM: input must be 3-D"):
        m(np.zeros((5,), np.float32))
    with pytest.raises(ValueError, match=r"LSTM: h0 must have shape \(2, 2, 4\).*got \(1, 2, 4\)"):
        m(x, (np.zeros((1, 2, 4), np.float32), np.zeros((2, 2, 4), np.float32)))
    with pytest.raises(ValueError, match=r"LSTM: hx must be a pair"):
        m(x, np.zeros((2, 2, 4), np.float32))
    with pytest.raises(TypeError, match=r"lengths must be integers, got dtype float64"):
        m(x, lengths=np.array([2.0, 3.0]))
    with pytest.raises(ValueError, match=r"lengths must be in \[1, 5\].*max 6"):
        m(x, lengths=[6, 1])
    with pytest.raises(ValueError, match=r"lengths must be in \[1, 5\].*min 0"):
        m(x, lengths=[0, 1])
    with pytest.raises(TypeError, match=r"LSTM: input is float64 but the weights are float32"):
        m(x.astype(np.float64))
    with pytest.raises(ValueError, match=r"GRU: variant must be None, 'simple', got 'peephole'"):
        nn.GRU(3, 4, variant="peephole")
    with pytest.raises(ValueError, match=r"RNN: nonlinearity must be 'tanh' or 'relu'"):
        nn.RNN(3, 4, nonlinearity="gelu")
    with pytest.raises(ValueError, match=r"hidden_size must be a positive int, got 0"):
        nn.GRU(3, 0)
    with pytest.raises(ValueError, match=r"GRUCell: hidden state must have shape \(2, 4\)"):
        nn.GRUCell(3, 4)(np.zeros((2, 3), np.float32), np.zeros((2, 5), np.float32))


def test_functional_cells_take_unbatched_inputs_as_torch():
    """F.rnn_cell / gru_cell / lstm_cell with x (I,) and h, c (H,): a batch of one, dropped."""
    rng = np.random.default_rng(0)
    x, h, c = rng.standard_normal(3), rng.standard_normal(2), rng.standard_normal(2)
    for gates, fn in ((1, lambda *a: F.rnn_cell(*a)), (3, lambda *a: F.gru_cell(*a))):
        w_ih, w_hh = rng.standard_normal((gates * 2, 3)), rng.standard_normal((gates * 2, 2))
        one = fn(dk.Tensor(x), dk.Tensor(h), w_ih, w_hh)
        assert one.shape == (2,)
        np.testing.assert_allclose(one.numpy(), fn(dk.Tensor(x[None]), dk.Tensor(h[None]), w_ih, w_hh).numpy()[0])
        gradcheck(lambda a, b: fn(a, b, w_ih, w_hh), x, h)
    w_ih, w_hh = rng.standard_normal((8, 3)), rng.standard_normal((8, 2))
    h1, c1 = F.lstm_cell(dk.Tensor(x), dk.Tensor(h), dk.Tensor(c), w_ih, w_hh)
    hb, cb = F.lstm_cell(dk.Tensor(x[None]), dk.Tensor(h[None]), dk.Tensor(c[None]), w_ih, w_hh)
    assert h1.shape == c1.shape == (2,)
    np.testing.assert_allclose(h1.numpy(), hb.numpy()[0])
    np.testing.assert_allclose(c1.numpy(), cb.numpy()[0])
    gradcheck(lambda a, b, d: F.lstm_cell(a, b, d, w_ih, w_hh)[0], x, h, c)
