import itertools

import numpy as np
import pytest

from deepkern.text import beam_search, error_analysis, greedy_search, sequence_log_prob

V, EOS, BOS = 4, 0, 3


def _model(seed):
    """A toy conditional model: log P(next | last token, t) from a random table per sentence;
    the state is (sentence id, t) per row."""
    rng = np.random.default_rng(seed)
    table = rng.standard_normal((5, 8, V + 1, V)) * 2.0   # (sentence, t, last token, next)
    table -= np.log(np.exp(table).sum(-1, keepdims=True))

    def step(tokens, state):
        sent, t = state
        return table[sent, t, tokens], (sent, t + 1)
    return step


def _init(n):
    return (np.arange(n), np.zeros(n, dtype=np.int64))


def _exhaustive(step, sent, max_len, alpha):
    best = None
    for L in range(1, max_len + 1):
        for seq in itertools.product(range(V), repeat=L):
            if EOS in seq[:-1] or (L < max_len and seq[-1] != EOS):
                continue
            lp = sequence_log_prob(step, (np.array([sent]), np.zeros(1, dtype=np.int64)), BOS, [list(seq)])[0]
            score = lp / L ** alpha
            if best is None or score > best[0]:
                best = (score, list(seq))
    return best


@pytest.mark.parametrize("alpha", [0.0, 0.7, 1.0])
def test_wide_beam_finds_exact_argmax(alpha):
    step = _model(1)
    res = beam_search(step, _init(5), 5, BOS, EOS, beam_width=V ** 4, max_len=4, alpha=alpha)
    for sent in range(5):
        score, seq = _exhaustive(step, sent, 4, alpha)
        assert res[sent][0].tokens == seq
        assert res[sent][0].score == pytest.approx(score)


@pytest.mark.parametrize("seed", range(3))
def test_width_one_is_greedy(seed):
    step = _model(seed)
    res = beam_search(step, _init(5), 5, BOS, EOS, beam_width=1, max_len=7)
    greedy = greedy_search(step, _init(5), 5, BOS, EOS, max_len=7)
    assert [r[0].tokens for r in res] == greedy


def test_length_normalization_prefers_longer_when_alpha_grows():
    # P(eos first) = 0.4; else a long confident continuation: raw sum prefers the short answer,
    # the mean (alpha=1) the long one.
    def step(tokens, state):
        t = state
        lp = np.full((len(tokens), V), np.log(1e-3))
        if t[0] == 0:
            lp[:, EOS], lp[:, 1] = np.log(0.4), np.log(0.35)
        elif t[0] < 4:
            lp[:, 1] = np.log(0.99)
        else:
            lp[:, EOS] = np.log(0.99)
        return lp, t + 1
    init = np.zeros(1, dtype=np.int64)
    short = beam_search(step, init, 1, BOS, EOS, beam_width=3, max_len=8, alpha=0.0)[0][0]
    long_ = beam_search(step, init, 1, BOS, EOS, beam_width=3, max_len=8, alpha=1.0)[0][0]
    assert short.tokens == [EOS]
    assert long_.tokens == [1, 1, 1, 1, EOS]
    assert long_.log_prob < short.log_prob


def test_error_analysis_blames_search_or_model():
    step = _model(2)
    init = (np.array([0]), np.zeros(1, dtype=np.int64))
    best = beam_search(step, init, 1, BOS, EOS, beam_width=64, max_len=4)[0][0].tokens
    worse = greedy_search(step, init, 1, BOS, EOS, max_len=4)[0]
    rep = error_analysis(step, init, BOS, y_hat=best, y_star=best)
    assert rep["fault"] == "model" and rep["log_p_hat"] == rep["log_p_star"]
    rep = error_analysis(step, init, BOS, y_hat=[2, 2, 2, EOS], y_star=best)
    assert rep["fault"] == "beam search" and rep["score_star"] > rep["score_hat"]
    rep = error_analysis(step, init, BOS, y_hat=best, y_star=[2, 2, 2, EOS] if best != [2, 2, 2, EOS] else worse)
    assert rep["fault"] == "model"
