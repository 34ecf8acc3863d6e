import numpy as np
import pytest

import deepkern as dk
import deepkern.functional as F
from deepkern import nn
from deepkern.data import text as embedded
from deepkern.models import CharRNN, SequenceClassifier, SequenceTagger
from deepkern.train.tasks import charlm


def test_charlm_validation_perplexity_beats_unigram(tmp_path, capsys):
    from deepkern import cli
    from deepkern.train.task import load_checkpoint

    corpus, ck = tmp_path / "shakespeare.txt", tmp_path / "charlm.dk"
    corpus.write_text(embedded.load("tiny_shakespeare")[:40000], encoding="utf-8")
    assert cli.main(["train", "charlm", "--text", str(corpus), "--epochs", "2", "--seq-len", "50", "--batch-size",
                     "16", "--hidden", "96", "--layers", "1", "--embedding", "24", "--lr", "1e-2", "--quiet",
                     "--sample-length", "0", "--checkpoint", str(ck)]) == 0
    baseline = float(capsys.readouterr().out.split("unigram baseline perplexity ")[1].split()[0])
    ckpt = load_checkpoint(str(ck), ("charlm",))
    first, last = ckpt["history"]["history.val_perplexity"]
    assert last < 0.6 * baseline and last < first, (first, last, baseline)
    model = charlm.load_model(ckpt)
    sample = model.sample("ROMEO:", length=40, temperature=0.8, rng=np.random.default_rng(0))
    assert sample.startswith("ROMEO:") and len(sample) == 46 and set(sample) <= set(model.chars)


def test_one_to_many_generation_learns_a_cycle():
    """Trained on a repeating string, greedy generation from a seed continues the cycle."""
    dk.manual_seed(0)
    chars = "abcde"
    model = CharRNN(5, hidden_size=24, num_layers=1, cell="gru", embedding_dim=8, chars=chars)
    ids = model.encode("abcde" * 41)
    x, y = ids[:-1].reshape(4, -1), ids[1:].reshape(4, -1)
    opt = dk.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(60):
        logits, _ = model(x)
        loss = F.cross_entropy(logits.reshape(-1, 5), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert model.sample("c", length=12, temperature=0) == "cdeabcdeabcde"


def test_exploding_gradients_are_tamed_by_clip_grad_norm():
    """A relu RNN with large recurrent weights: the raw gradient over 40 steps is astronomically
    large and one SGD step with it wrecks the loss; clipped to norm 1, the same step is safe."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 4, 3)).astype(np.float64)
    target = rng.standard_normal((4, 6))
    w_hh = np.eye(6) * 1.6 + rng.standard_normal((6, 6)) * 0.01

    def make():
        dk.manual_seed(1)
        m = nn.RNN(3, 6, nonlinearity="relu", dtype=np.float64)
        m.weight_hh_l0.data = w_hh.copy()
        return m

    def loss_of(m):
        _, h = m(x)
        return ((h[0] - dk.Tensor(target)) ** 2).mean()

    results = {}
    for clip in (False, True):
        m = make()
        loss = loss_of(m)
        loss.backward()
        norm = float(nn.utils.clip_grad_norm_(m.parameters(), 1.0)) if clip else None
        grads = np.sqrt(sum(float((p.grad ** 2).sum()) for p in m.parameters()))
        for p in m.parameters():
            p.data = p.data - 0.1 * p.grad
        with dk.no_grad():
            results[clip] = (float(loss.item()), float(loss_of(m).item()), norm, grads)
    before, after_raw, _, raw_norm = results[False]
    _, after_clipped, norm, clipped_norm = results[True]
    assert raw_norm > 1e6 and norm == pytest.approx(raw_norm)
    assert clipped_norm <= 1.0 + 1e-6
    assert after_raw > 1e3 * before          # the unclipped step explodes
    assert after_clipped < 10 * before        # the clipped one does not


def _train(model, x, y, loss_fn, steps, lr=0.03, lengths=None):
    opt = dk.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        loss = loss_fn(model(x, lengths=lengths), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


def test_many_to_one_classifier_learns_from_last_state():
    """Label = whether token 1 occurs in the (padded) sequence; held-out accuracy > 90%."""
    dk.manual_seed(0)
    rng = np.random.default_rng(0)
    n, T = 400, 8
    ids = rng.integers(2, 6, (n, T))
    lengths = rng.integers(3, T + 1, n)
    has = rng.random(n) < 0.5
    for i in np.flatnonzero(has):
        ids[i, rng.integers(0, lengths[i])] = 1
    ids[np.arange(T)[None, :] >= lengths[:, None]] = 1  # padding with the very token: must be ignored
    y = has.astype(np.int64)
    model = SequenceClassifier(8, 16, 2, cell="lstm", vocab_size=6)
    _train(model, ids[:300], y[:300], F.cross_entropy, 80, lengths=lengths[:300])
    with dk.no_grad():
        pred = model(ids[300:], lengths=lengths[300:]).data.argmax(axis=1)
    assert (pred == y[300:]).mean() > 0.9


@pytest.mark.parametrize("output", ["softmax", "sigmoid"])
def test_many_to_many_tagger_learns_per_step_tags(output):
    """Tag at step t = whether token t equals token t-1 (needs the recurrent state)."""
    dk.manual_seed(1)
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 3, (300, 10))
    tags = np.zeros((300, 10), np.int64)
    tags[:, 1:] = ids[:, 1:] == ids[:, :-1]
    model = SequenceTagger(8, 16, 2 if output == "softmax" else 1, cell="gru", vocab_size=3, output=output)
    if output == "softmax":
        def loss_fn(logits, t):
            return F.cross_entropy(logits.reshape(-1, 2), t.reshape(-1))
        target = tags
    else:
        def loss_fn(logits, t):
            return F.binary_cross_entropy_with_logits(logits, t)
        target = tags[..., None].astype(np.float32)
    _train(model, ids[:200], target[:200], loss_fn, 80)
    with dk.no_grad():
        p = model.predict(ids[200:]).data
    pred = p.argmax(axis=-1) if output == "softmax" else (p[..., 0] > 0.5)
    assert (pred == tags[200:]).mean() > 0.95


def test_charrnn_errors():
    with pytest.raises(ValueError, match="cell must be 'lstm' or 'gru'"):
        CharRNN(5, cell="rnn")
    with pytest.raises(ValueError, match="chars has 3 characters but vocab_size=5"):
        CharRNN(5, chars="abc")
    with pytest.raises(ValueError, match="cannot encode or decode text"):
        CharRNN(5, hidden_size=4, num_layers=1).sample("a", 3)
    with pytest.raises(ValueError, match=r"characters not in the vocabulary: \['z'\]"):
        CharRNN(3, hidden_size=4, num_layers=1, chars="abc").encode("abz")
