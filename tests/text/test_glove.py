"""GloVe: learning on a corpus with planted topics, the pipeline's pieces, save/load, errors."""
import numpy as np
import pytest

from deepkern.text import GloVe
from tests.text.test_word2vec import SENTENCES, TOPICS, topic_purity


def test_learns_the_planted_topics_and_the_cost_falls():
    model = GloVe(SENTENCES, vector_size=16, window=4, min_count=1, x_max=10, epochs=15, workers=2, seed=0)
    assert model.wv.vectors.shape == (34, 16)
    np.testing.assert_allclose(model.wv.vectors, model.W + model.W_context)
    assert model.losses[-1] < 0.5 * model.losses[0]  # the weighted least-squares cost falls
    assert topic_purity(model.wv) > 0.9  # a random embedding scores ~0.27
    rows, cols, values = model.cooccurrence
    assert values.min() > 0 and len(rows) == len(set(zip(rows.tolist(), cols.tolist())))


def test_single_worker_is_reproducible_and_save_load(tmp_path):
    kw = dict(vector_size=8, window=3, min_count=1, epochs=3, workers=1, seed=4)
    a, b = GloVe(SENTENCES[:300], **kw), GloVe(SENTENCES[:300], **kw)
    np.testing.assert_array_equal(a.wv.vectors, b.wv.vectors)
    a.save(str(tmp_path / "g.npz"))
    back = GloVe.load(str(tmp_path / "g.npz"))
    np.testing.assert_array_equal(back.wv.vectors, a.wv.vectors)
    assert back.wv.index_to_key == a.wv.index_to_key and back.losses == a.losses
    more = back.train(epochs=1)  # training continues with the saved accumulators
    assert len(more) == 1 and len(back.losses) == 4


@pytest.mark.parametrize("sentences, kw, error, match", [
    ([], {}, ValueError, "the corpus is empty"),
    ([["a"], ["b"]], {}, ValueError, "no two known words share a sentence"),
    ([["a", "b"]], {"min_count": 2}, ValueError, "min_count=2 leaves no words"),
    ([["a", "b"]], {"x_max": 0}, ValueError, "x_max must be > 0"),
    ("a b c", {}, TypeError, "got a string"),
])
def test_bad_input(sentences, kw, error, match):
    with pytest.raises(error, match=match):
        GloVe(sentences, **{"min_count": 1, **kw})
