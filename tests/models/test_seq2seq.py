import numpy as np
import pytest

import deepkern as dk
from deepkern import reference as ref
from deepkern.models.seq2seq import Seq2Seq, plot_attention


@pytest.fixture
def one_thread():
    """Training runs many tiny per-step kernels; one thread avoids barrier costs on a shared box."""
    n = dk.get_num_threads()
    dk.set_num_threads(1)
    yield
    dk.set_num_threads(n)


def _batch(rng, B=3, Tx=7, Ty=5, V=15):
    src = rng.integers(4, V, (B, Tx))
    lengths = np.array([Tx, Tx - 2, 1])[:B]
    for i, n in enumerate(lengths):
        src[i, n:] = 0
    tgt = rng.integers(4, V, (B, Ty))
    tgt[:, 0] = 2
    return src, lengths, tgt


@pytest.mark.parametrize("attention", ["additive", "dot"])
@pytest.mark.parametrize("rnn", ["gru", "lstm"])
def test_forward_backward_and_attention_weights(attention, rnn):
    dk.manual_seed(0)
    rng = np.random.default_rng(0)
    model = Seq2Seq(20, 15, 8, 16, attention=attention, rnn=rnn)
    src, lengths, tgt = _batch(rng)
    logits = model(src, tgt, lengths)
    assert logits.shape == (3, 5, 15)
    loss = model.loss(src, tgt, tgt, lengths)
    loss.backward()
    assert all(p.grad is not None and np.all(np.isfinite(p.grad)) for p in model.parameters())
    memory, state = model.encode(src, lengths)
    _, _, alpha = model.decode_step(tgt[:, 0], state, memory, weights=True)
    assert alpha.shape == (3, 7)
    np.testing.assert_allclose(alpha.sum(axis=1), 1, rtol=1e-5)
    assert np.all(alpha[1, 5:] == 0) and np.all(alpha[2, 1:] == 0) and alpha[2, 0] == pytest.approx(1)


def test_padding_does_not_change_the_output():
    dk.manual_seed(1)
    rng = np.random.default_rng(1)
    model = Seq2Seq(20, 15, 8, 16).eval()
    src, lengths, tgt = _batch(rng)
    padded = np.concatenate([src, np.zeros((3, 4), dtype=src.dtype)], axis=1)
    with dk.no_grad():
        np.testing.assert_allclose(model(src, tgt, lengths).data, model(padded, tgt, lengths).data, atol=1e-6)


def test_dot_attention_weights_are_the_kernel_softmax():
    dk.manual_seed(2)
    rng = np.random.default_rng(2)
    model = Seq2Seq(20, 15, 8, 16, attention="dot").double()
    src, lengths, tgt = _batch(rng)
    memory, state = model.encode(src, lengths)
    context, alpha = model.attend(state[0], memory, weights=True)
    a, keys, mask = memory
    expected = ref.scaled_dot_product_attention(state[0].data[:, None], keys.data, a.data, mask=mask[:, None],
                                                scale=1.0)[:, 0]
    np.testing.assert_allclose(context.data, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.einsum("bt,btc->bc", alpha, a.data), expected, rtol=1e-10, atol=1e-12)


def test_greedy_and_beam_translate_shapes():
    dk.manual_seed(3)
    model = Seq2Seq(20, 15, 8, 16)
    src, lengths, _ = _batch(np.random.default_rng(3))
    for width in (1, 3):
        out = model.translate(src, lengths, beam_width=width, max_len=6)
        assert len(out) == 3 and all(len(o) <= 6 and 3 not in o for o in out)


def test_errors():
    with pytest.raises(ValueError, match="attention must be 'additive' or 'dot', got 'luong'"):
        Seq2Seq(5, 5, attention="luong")
    with pytest.raises(ValueError, match="rnn must be 'gru' or 'lstm', got 'rnn'"):
        Seq2Seq(5, 5, rnn="rnn")


def test_plot_attention(tmp_path):
    pytest.importorskip("matplotlib")
    path = plot_attention(np.eye(3, 4), "abcd", "xyz", tmp_path / "a.png", title="t")
    assert path.stat().st_size > 0


def test_dates_task_learns(one_thread, tmp_path, capsys):
    """Seeded, ~5 s: a small model on 2000 generated dates gets most held-out dates exactly right
    (chance is ~0; measured 0.88)."""
    from deepkern import cli
    from deepkern.train.task import load_checkpoint
    from deepkern.train.tasks import dates

    ck = tmp_path / "dates.dk"
    assert cli.main(["train", "dates", "--train-size", "2000", "--test-size", "200", "--epochs", "3", "--hidden",
                     "32", "--embedding", "16", "--batch-size", "32", "--quiet", "--checkpoint", str(ck)]) == 0
    acc = float(capsys.readouterr().out.split("held-out exact match: ")[1].split()[0])
    assert acc > 0.5
    model = dates.load_model(load_checkpoint(str(ck), ("dates",)))
    assert dates.translate(model, ["3 May 1979"]) == ["1979-05-03"]
