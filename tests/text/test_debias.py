"""Hard debiasing: the algebra (neutralized words have no component along g, equalized pairs
are unit mirror images equidistant from every neutral word) and the direct-bias measure."""
import numpy as np
import pytest

from deepkern.text import KeyedVectors
from deepkern.text.debias import (DEFINITIONAL_PAIRS, bias_direction, direct_bias, equalize, hard_debias,
                                  neutralize)


def biased_kv(seed=0, dim=20):
    """Random vectors plus a planted gender axis: pairs differ along it, professions lean on it."""
    rng = np.random.default_rng(seed)
    axis = rng.standard_normal(dim)
    axis /= np.linalg.norm(axis)
    kv = KeyedVectors(dim)
    words, vecs = [], []
    for a, b in DEFINITIONAL_PAIRS + [("queen", "king"), ("actress", "actor")]:
        base = rng.standard_normal(dim)
        words += [a, b]
        vecs += [base + 2 * axis, base - 2 * axis]
    for w, lean in [("nurse", 1.5), ("engineer", -1.5), ("teacher", 0.5), ("doctor", -0.8), ("table", 0.0)]:
        words.append(w)
        vecs.append(rng.standard_normal(dim) + lean * axis)
    kv.add_vectors(words, np.array(vecs, dtype=np.float32))
    return kv, axis


def test_bias_direction_recovers_the_planted_axis():
    kv, axis = biased_kv()
    g = bias_direction(kv)
    assert abs(g @ axis) > 0.95 and np.linalg.norm(g) == pytest.approx(1.0)
    assert (kv["woman"] - kv["man"]) @ g > 0  # signed towards the first word of the first pair
    one = bias_direction(kv, [("she", "he")])  # one pair: the normalized difference of unit vectors
    d = kv["she"] / np.linalg.norm(kv["she"]) - kv["he"] / np.linalg.norm(kv["he"])
    np.testing.assert_allclose(one, d / np.linalg.norm(d), atol=1e-6)
    with pytest.raises(ValueError, match="none of the definitional pairs"):
        bias_direction(kv, [("xx", "yy")])


def test_neutralize_and_equalize_algebra():
    rng = np.random.default_rng(1)
    g = rng.standard_normal(12)
    g /= np.linalg.norm(g)
    words = rng.standard_normal((7, 12))
    n = neutralize(words, g)
    np.testing.assert_allclose(n @ g, 0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(n, axis=1), 1)
    a, b = equalize(rng.standard_normal(12), rng.standard_normal(12), g)
    np.testing.assert_allclose([np.linalg.norm(a), np.linalg.norm(b)], 1)
    np.testing.assert_allclose(a @ g, -(b @ g))
    np.testing.assert_allclose(n @ a, n @ b, atol=1e-12)  # equidistant from every neutral word


def test_hard_debias_removes_the_direct_bias():
    kv, _ = biased_kv(2)
    professions = ["nurse", "engineer", "teacher", "doctor"]
    g = bias_direction(kv)
    before = direct_bias(kv, professions, g)
    clean, g_used = hard_debias(kv)
    np.testing.assert_allclose(g_used, g)
    assert before > 0.2
    assert direct_bias(clean, professions, g) < 1e-6
    np.testing.assert_allclose(np.linalg.norm(clean.vectors, axis=1), 1, rtol=1e-6)
    for w in professions + ["table"]:
        assert clean.similarity(w, "queen") == pytest.approx(clean.similarity(w, "king"), abs=1e-6)
        assert clean.similarity(w, "woman") == pytest.approx(clean.similarity(w, "man"), abs=1e-6)
    # gender-specific words keep their gender
    assert (clean["she"] @ g) > 0.2 and (clean["he"] @ g) < -0.2
    assert kv.similarity("nurse", "woman") > kv.similarity("nurse", "man")  # (before)
    with pytest.raises(ValueError, match="none of the words"):
        direct_bias(kv, ["xx"], g)


def test_tsne_plot_writes_a_png(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    from deepkern.text.tsne import tsne_plot
    kv, _ = biased_kv(3)
    words, xy = tsne_plot(kv, ["king", "queen", "man", "woman", "nurse", "engineer", "missing"], tmp_path / "w.png")
    assert words == ["king", "queen", "man", "woman", "nurse", "engineer"] and xy.shape == (6, 2)
    assert (tmp_path / "w.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(KeyError, match="need at least 2 words"):
        tsne_plot(kv, ["nope", "king"], tmp_path / "x.png")
