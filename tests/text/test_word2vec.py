"""Word2Vec: learning on a corpus with planted structure (every mode), reproducibility,
gensim's API (build_vocab/train, save/load, callbacks, loss) and bad input."""
import numpy as np
import pytest

from deepkern.text import LineSentence, Word2Vec

TOPICS = [[f"{t}{i}" for i in range(10)] for t in ("sport", "food", "music")]
STOP = ["the", "a", "and", "of"]


def topic_corpus(n=1500, seed=0):
    """Sentences of 8 words: 6 from one topic, 2 stop words, shuffled."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        topic = TOPICS[rng.integers(len(TOPICS))]
        words = list(rng.choice(topic, 6)) + list(rng.choice(STOP, 2))
        rng.shuffle(words)
        out.append([str(w) for w in words])
    return out


def topic_purity(wv):
    """Mean fraction of each topic word's 5 nearest neighbours that share its topic."""
    hits = []
    for topic in TOPICS:
        for w in topic:
            hits += [n in topic for n, _ in wv.most_similar(w, topn=5)]
    return float(np.mean(hits))


SENTENCES = topic_corpus()


@pytest.mark.parametrize("sg, hs, negative", [(1, 0, 5), (0, 0, 5), (1, 1, 0), (0, 1, 0), (1, 1, 3)])
def test_learns_the_planted_topics(sg, hs, negative):
    model = Word2Vec(SENTENCES, vector_size=16, window=3, min_count=1, sg=sg, hs=hs, negative=negative,
                     epochs=4, workers=2, seed=1, sample=0)
    assert model.wv.vectors.shape == (34, 16)
    assert model.wv.index_to_key[:4] == sorted(STOP, key=lambda w: -model.wv.get_vecattr(w, "count"))
    # A random embedding scores 9/33 ~ 0.27; these settings reach ~1.0 in one second.
    assert topic_purity(model.wv) > 0.9
    assert model.wv.similarity("sport1", "sport2") > model.wv.similarity("sport1", "food2") + 0.3


def test_single_worker_is_exactly_reproducible_and_the_seed_matters():
    kw = dict(vector_size=12, window=2, min_count=1, sg=1, epochs=2, workers=1)
    a, b = Word2Vec(SENTENCES, seed=5, **kw), Word2Vec(SENTENCES, seed=5, **kw)
    np.testing.assert_array_equal(a.wv.vectors, b.wv.vectors)
    np.testing.assert_array_equal(a.syn1neg, b.syn1neg)
    c = Word2Vec(SENTENCES, seed=6, **kw)
    assert not np.array_equal(a.wv.vectors, c.wv.vectors)


def test_epoch_by_epoch_training_equals_one_train_call():
    kw = dict(vector_size=12, window=2, min_count=1, sg=0, workers=1, seed=3)
    whole = Word2Vec(SENTENCES[:400], epochs=3, **kw)
    stepped = Word2Vec(epochs=3, **kw)
    stepped.build_vocab(SENTENCES[:400])
    encoded = stepped.encode(SENTENCES[:400])
    for e in range(3):
        stepped.train_epoch(encoded, e, 3)
    assert stepped.epochs_trained == 3
    np.testing.assert_array_equal(stepped.wv.vectors, whole.wv.vectors)
    np.testing.assert_array_equal(stepped.syn1neg, whole.syn1neg)


def test_gensim_style_workflow(tmp_path):
    losses = []

    class EpochLoss:
        def on_epoch_end(self, model):
            losses.append(model.get_latest_training_loss())

    model = Word2Vec(vector_size=16, window=3, min_count=2, sg=1, epochs=5, workers=1, seed=0, compute_loss=True,
                     callbacks=[EpochLoss()], sample=0)
    model.build_vocab(SENTENCES)
    assert model.corpus_count == len(SENTENCES) and model.corpus_total_words == 8 * len(SENTENCES)
    trained, raw = model.train(SENTENCES, total_examples=model.corpus_count, epochs=model.epochs)
    assert raw == 5 * model.corpus_total_words and trained == raw  # sample=0 keeps every word
    per_epoch = np.diff([0.0] + losses)
    assert len(losses) == 5 and per_epoch[-1] < 0.9 * per_epoch[0]  # the loss falls (by ~14% here)
    path = tmp_path / "w2v.npz"
    model.save(str(path))
    back = Word2Vec.load(str(path))
    np.testing.assert_array_equal(back.wv.vectors, model.wv.vectors)
    np.testing.assert_array_equal(back.syn1neg, model.syn1neg)
    assert back.wv.index_to_key == model.wv.index_to_key and back.sg == 1 and back.window == 3
    back.train(SENTENCES[:10], total_examples=10, epochs=1)  # training continues from the loaded state
    text = tmp_path / "corpus.txt"
    text.write_text("\n".join(" ".join(s) for s in SENTENCES[:300]) + "\n")
    from_file = Word2Vec(corpus_file=str(text), vector_size=8, min_count=1, epochs=1, workers=1)
    assert from_file.corpus_count == 300 and len(list(LineSentence(str(text)))) == 300


def test_long_sentences_are_cut_like_gensim():
    model = Word2Vec(vector_size=4, min_count=1, workers=1)
    model.build_vocab([["a", "b"] * 10000])
    ids, starts = model.encode([["a", "b"] * 10000])
    assert starts.tolist() == [0, 10000, 20000]


@pytest.mark.parametrize("sentences, kw, error, match", [
    ([], {}, ValueError, "the corpus is empty"),
    ([[], []], {}, ValueError, "the corpus is empty"),
    ([["a", "b"], ["a"]], {"min_count": 3}, ValueError, "min_count=3 leaves no words.*2 distinct.*seen 2 times"),
    ("a text, not sentences", {}, TypeError, "got a string"),
    (["one sentence as a string"], {}, TypeError, "each sentence must be a list of words"),
    ([["a"]], {"hs": 0, "negative": 0}, ValueError, "leave nothing to train"),
    ([["a"]], {"vector_size": 0}, ValueError, "vector_size must be >= 1"),
    ([["a"]], {"window": 2.5}, TypeError, "window must be an int"),
    ([["a"]], {"alpha": float("nan")}, ValueError, "alpha must be a finite number"),
    ([["a"]], {"device": "tpu"}, ValueError, "device must be 'cpu' or 'cuda'"),
])
def test_bad_input(sentences, kw, error, match):
    with pytest.raises(error, match=match):
        Word2Vec(sentences, min_count=kw.pop("min_count", 1), **kw)


def test_unknown_word_and_untrained_model():
    model = Word2Vec(SENTENCES[:50], vector_size=8, min_count=1, epochs=1, workers=1)
    with pytest.raises(KeyError, match="'guitar' is not in the vocabulary"):
        model.wv.most_similar("guitar")
    with pytest.raises(RuntimeError, match="call build_vocab first"):
        Word2Vec(vector_size=8).train(SENTENCES, total_examples=1, epochs=1)
