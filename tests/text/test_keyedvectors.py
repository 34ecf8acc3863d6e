"""KeyedVectors: similarity queries against brute-force NumPy, analogy and word-pair evaluation
on small files the tests write (and against gensim where it is installed), the word2vec file
formats both ways, and errors for unknown words."""
import math

import numpy as np
import pytest

from deepkern.text import KeyedVectors

WORDS = ["king", "queen", "man", "woman", "paris", "france", "rome", "italy", "berlin", "germany",
         "Paris", "apple", "car", "caf\u00e9", "\u6771\u4eac"]


def make_kv(seed=0, dim=8, words=WORDS):
    rng = np.random.default_rng(seed)
    kv = KeyedVectors(dim)
    kv.add_vectors(list(words), rng.standard_normal((len(words), dim)).astype(np.float32))
    kv.expandos["count"] = np.arange(len(words), 0, -1, dtype=np.int64) * 10
    return kv


def unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def brute_most_similar(kv, pos, neg, topn, limit=None):
    n = unit(kv.vectors.astype(np.float64))[:limit]
    q = unit(sum(unit(kv[w].astype(np.float64)) for w in pos) - sum(unit(kv[w].astype(np.float64)) for w in neg))
    scores = n @ q
    skip = {kv.get_index(w) for w in pos + neg}
    order = [i for i in np.argsort(-scores) if i not in skip][:topn]
    return [kv.index_to_key[i] for i in order], scores[order]


@pytest.mark.parametrize("seed", range(3))
def test_most_similar_is_3cosadd(seed):
    kv = make_kv(seed)
    for pos, neg in [(["king", "woman"], ["man"]), (["paris"], []), (["rome", "germany"], ["italy"]), ([], ["car"])]:
        got = kv.most_similar(positive=pos, negative=neg, topn=4)
        words, scores = brute_most_similar(kv, pos, neg, 4)
        assert [w for w, _ in got] == words
        np.testing.assert_allclose([s for _, s in got], scores, rtol=1e-5, atol=1e-6)
        assert not set(pos + neg) & {w for w, _ in got}
    got = kv.most_similar("king", topn=3, restrict_vocab=6)
    assert [w for w, _ in got] == brute_most_similar(kv, ["king"], [], 3, limit=6)[0]
    assert len(kv.most_similar("king", topn=None)) == len(kv)
    assert kv.similar_by_word("queen", topn=2) == kv.most_similar(positive=["queen"], topn=2)


def test_most_similar_cosmul_is_3cosmul():
    kv = make_kv(1)
    n = unit(kv.vectors.astype(np.float64))
    cos = lambda w: (1 + n @ unit(kv[w].astype(np.float64))) / 2  # noqa: E731
    scores = cos("king") * cos("woman") / (cos("man") + 1e-6)
    skip = {kv.get_index(w) for w in ("king", "woman", "man")}
    want = [kv.index_to_key[i] for i in np.argsort(-scores) if i not in skip][:3]
    assert [w for w, _ in kv.most_similar_cosmul(positive=["king", "woman"], negative=["man"], topn=3)] == want


def test_similarity_doesnt_match_and_lookups():
    kv = make_kv(2)
    a, b = kv["king"].astype(np.float64), kv["queen"].astype(np.float64)
    assert kv.similarity("king", "queen") == pytest.approx(a @ b / np.linalg.norm(a) / np.linalg.norm(b), rel=1e-5)
    assert kv.distance("king", "queen") == pytest.approx(1 - kv.similarity("king", "queen"))
    words = ["king", "queen", "man", "apple"]
    vecs = unit(np.stack([kv[w] for w in words]).astype(np.float64))
    assert kv.doesnt_match(words + ["not-a-word"]) == words[int(np.argmin(vecs @ unit(vecs.mean(0))))]
    assert kv["caf\u00e9"].shape == (8,) and kv[["king", "man"]].shape == (2, 8)
    assert "king" in kv and "KING" not in kv and len(kv) == len(WORDS)
    assert kv.get_vecattr("king", "count") == 150
    assert kv.n_similarity(["king"], ["queen"]) == pytest.approx(kv.similarity("king", "queen"), rel=1e-5)
    assert kv.rank("king", kv.most_similar("king", topn=1)[0][0]) == 1


@pytest.mark.parametrize("query", [lambda kv: kv["nope"], lambda kv: kv.most_similar("nope"),
                                   lambda kv: kv.similarity("king", "nope"),
                                   lambda kv: kv.most_similar(positive=["king"], negative=["nope"]),
                                   lambda kv: kv.doesnt_match(["nope", "nada"])])
def test_unknown_words_raise_a_clear_key_error(query):
    with pytest.raises(KeyError, match="nope.*not in the vocabulary|none of"):
        query(make_kv())


ANALOGIES = """: capital-world
paris france rome italy
paris france berlin germany
rome italy paris france
paris france tokyo japan
: gender
king queen man woman
MAN WOMAN KING QUEEN
man woman king apple
"""


def test_evaluate_word_analogies_on_a_tiny_file(tmp_path):
    kv = make_kv(3)
    # Plant the structure: the capital offset and the gender offset.
    offset = np.random.default_rng(9).standard_normal(8).astype(np.float32) * 3
    for city, country in [("paris", "france"), ("rome", "italy"), ("berlin", "germany")]:
        kv.vectors[kv.get_index(country)] = kv[city] + offset
    kv.vectors[kv.get_index("queen")] = kv["king"] + kv["woman"] - kv["man"]
    kv.vectors_changed()
    path = tmp_path / "questions.txt"
    path.write_text(ANALOGIES)
    score, sections = kv.evaluate_word_analogies(str(path))
    assert [s["section"] for s in sections] == ["capital-world", "gender", "Total accuracy"]
    assert len(sections[0]["correct"]) == 3 and sections[0]["incorrect"] == []  # tokyo/japan skipped (OOV)
    assert ("KING", "QUEEN", "MAN", "WOMAN") in sections[1]["correct"]
    assert ("MAN", "WOMAN", "KING", "APPLE") in sections[1]["incorrect"]
    assert score == pytest.approx(len(sections[2]["correct"]) / 6)
    assert kv.analogy_oov_ratio == pytest.approx(100 / 7)
    score_dummy, sections_dummy = kv.evaluate_word_analogies(str(path), dummy4unknown=True)
    assert len(sections_dummy[-1]["incorrect"]) == len(sections[-1]["incorrect"]) + 1
    restricted = kv.evaluate_word_analogies(str(path), restrict_vocab=4)[1][-1]
    assert len(restricted["correct"]) == 2 and not restricted["incorrect"]  # only king/queen/man/woman
    cosmul = kv.evaluate_word_analogies(str(path), similarity_function="most_similar_cosmul")[0]
    assert 0 <= cosmul <= 1
    bad = tmp_path / "bad.txt"
    bad.write_text("paris france rome italy\n")
    with pytest.raises(ValueError, match="before any ': section' header"):
        kv.evaluate_word_analogies(str(bad))


def test_evaluate_word_analogies_equals_gensim(tmp_path):
    gensim = pytest.importorskip("gensim")
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(60)] + ["W3", "W7"]
    kv = make_kv(4, dim=6, words=words)
    lines = []
    for section in range(3):
        lines.append(f": section{section}")
        for _ in range(40):
            lines.append(" ".join(rng.choice(words + ["oov"], 4)))
    path = tmp_path / "q.txt"
    path.write_text("\n".join(lines) + "\n")
    vec = tmp_path / "v.txt"
    kv.save_word2vec_format(str(vec))
    theirs = gensim.models.KeyedVectors.load_word2vec_format(str(vec))
    for restrict in (300000, 30):
        ours_score, ours = kv.evaluate_word_analogies(str(path), restrict_vocab=restrict)
        their_score, their = theirs.evaluate_word_analogies(str(path), restrict_vocab=restrict)
        assert ours_score == pytest.approx(their_score)
        assert [s["correct"] for s in ours] == [s["correct"] for s in their]


PAIRS = "# comment\n# another\nking\tqueen\t8.5\nman\twoman\t8.3\nparis\tfrance\t7.0\napple\tcar\t1.2\n" \
        "king\tapple\t0.5\nrome\tnowhere\t5.0\nbad line\n"


def test_evaluate_word_pairs(tmp_path):
    kv = make_kv(5)
    path = tmp_path / "pairs.tsv"
    path.write_text(PAIRS)
    (r, p_r), (rho, p_rho), oov = kv.evaluate_word_pairs(str(path))
    gold = [8.5, 8.3, 7.0, 1.2, 0.5]
    model = [kv.similarity(a, b) for a, b in [("king", "queen"), ("man", "woman"), ("paris", "france"),
                                             ("apple", "car"), ("king", "apple")]]
    assert r == pytest.approx(np.corrcoef(gold, model)[0, 1], rel=1e-5)
    rank = lambda x: np.argsort(np.argsort(x))  # noqa: E731  (no ties here)
    assert rho == pytest.approx(np.corrcoef(rank(gold), rank(model))[0, 1], rel=1e-5)
    assert oov == pytest.approx(100 / 6)
    stats = pytest.importorskip("scipy.stats")
    assert p_r == pytest.approx(stats.pearsonr(gold, model)[1], rel=1e-6)
    assert p_rho == pytest.approx(stats.spearmanr(gold, model)[1], rel=1e-6)
    ties = tmp_path / "ties.tsv"
    ties.write_text("king\tqueen\t1\nman\twoman\t1\nparis\tfrance\t2\napple\tcar\t3\n")
    rho_ties = kv.evaluate_word_pairs(str(ties))[1][0]
    assert rho_ties == pytest.approx(stats.spearmanr([1, 1, 2, 3], [kv.similarity("king", "queen"),
                                                                   kv.similarity("man", "woman"),
                                                                   kv.similarity("paris", "france"),
                                                                   kv.similarity("apple", "car")])[0])
    empty = tmp_path / "empty.tsv"
    empty.write_text("xx\tyy\t1.0\n")
    with pytest.raises(ValueError, match="no usable pairs"):
        kv.evaluate_word_pairs(str(empty))


@pytest.mark.parametrize("binary", [False, True])
def test_word2vec_format_round_trip(tmp_path, binary):
    kv = make_kv(6)
    kv.vectors[0, 0] = 1e-30  # tiny and huge values survive the text format too
    kv.vectors[1, 1] = -3.4e38
    path = tmp_path / ("v.bin" if binary else "v.txt")
    kv.save_word2vec_format(str(path), fvocab=str(tmp_path / "vocab.txt"), binary=binary)
    back = KeyedVectors.load_word2vec_format(str(path), fvocab=str(tmp_path / "vocab.txt"), binary=binary)
    assert back.index_to_key == kv.index_to_key
    np.testing.assert_array_equal(back.vectors, kv.vectors)
    np.testing.assert_array_equal(back.expandos["count"], kv.expandos["count"])
    first = KeyedVectors.load_word2vec_format(str(path), binary=binary, limit=3)
    assert first.index_to_key == kv.index_to_key[:3]


@pytest.mark.parametrize("binary", [False, True])
def test_word2vec_format_is_gensims_both_ways(tmp_path, binary):
    gensim = pytest.importorskip("gensim")
    kv = make_kv(7)
    ours = tmp_path / "ours"
    kv.save_word2vec_format(str(ours), binary=binary)
    theirs = gensim.models.KeyedVectors.load_word2vec_format(str(ours), binary=binary)
    assert theirs.index_to_key == kv.index_to_key
    np.testing.assert_array_equal(theirs.vectors, kv.vectors)
    written = tmp_path / "theirs"
    theirs.save_word2vec_format(str(written), binary=binary)
    back = KeyedVectors.load_word2vec_format(str(written), binary=binary)
    assert back.index_to_key == kv.index_to_key
    np.testing.assert_array_equal(back.vectors, kv.vectors)
    ours_top, their_top = back.most_similar("king", topn=3), theirs.most_similar("king", topn=3)
    assert [w for w, _ in ours_top] == [w for w, _ in their_top]
    np.testing.assert_allclose([s for _, s in ours_top], [s for _, s in their_top], rtol=1e-5)


def test_format_errors_and_native_save(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("three 2\na 1 2\n")
    with pytest.raises(ValueError, match="first line must be 'count dim'"):
        KeyedVectors.load_word2vec_format(str(bad))
    bad.write_text("2 3\na 1 2 3\nb 1 2\n")
    with pytest.raises(ValueError, match="vector 1 has 2 values, expected 3"):
        KeyedVectors.load_word2vec_format(str(bad))
    short = tmp_path / "short.bin"
    short.write_bytes(b"2 3\na " + np.ones(3, "<f4").tobytes() + b"\nb " + b"\x00" * 5)
    with pytest.raises(ValueError, match="ends inside vector 1"):
        KeyedVectors.load_word2vec_format(str(short), binary=True)
    kv = make_kv(8)
    kv.save(str(tmp_path / "kv.npz"))
    back = KeyedVectors.load(str(tmp_path / "kv.npz"))
    assert back.index_to_key == kv.index_to_key and np.array_equal(back.vectors, kv.vectors)
    assert back.get_vecattr("queen", "count") == kv.get_vecattr("queen", "count")
    assert math.isclose(back.similarity("king", "man"), kv.similarity("king", "man"))
