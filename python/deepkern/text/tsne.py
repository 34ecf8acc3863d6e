"""t-SNE maps of word vectors, written as PNG (scikit-learn's TSNE and matplotlib: the optional
``text`` extra, ``pip install 'deepkern[text]'``).

    tsne_plot(model.wv, ["king", "queen", "man", "woman", "paris", "france"], "words.png")
"""
from __future__ import annotations

import numpy as np

__all__ = ["tsne_plot"]


def _require():
    try:
        import matplotlib  # noqa: F401
        from sklearn.manifold import TSNE  # noqa: F401
    except ImportError:
        raise ImportError("tsne_plot needs scikit-learn and matplotlib: pip install 'deepkern[text]'") from None


def tsne_plot(kv, words, path, perplexity=None, seed=0, title=None):
    """Embeds the unit vectors of ``words`` (those in the vocabulary; KeyError when none is) in
    2-D with t-SNE and saves a labelled scatter plot to ``path``. ``perplexity`` defaults to
    min(30, (n - 1) / 3). Returns (the words plotted, their (n, 2) coordinates)."""
    _require()
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE

    known = list(dict.fromkeys(w for w in words if w in kv))
    if len(known) < 2:
        raise KeyError(f"tsne_plot: need at least 2 words in the vocabulary, found {known} of {list(words)[:10]}")
    x = kv[known].astype(np.float64)
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    p = perplexity if perplexity is not None else max(1.0, min(30.0, (len(known) - 1) / 3))
    from threadpoolctl import threadpool_limits  # a scikit-learn dependency
    # One thread: a few hundred words take a fraction of a second, while scikit-learn's OpenMP
    # threads on a busy machine spin for minutes (6 words: 80 s with 2 threads, 0.2 s with 1).
    with threadpool_limits(1):
        xy = TSNE(n_components=2, perplexity=p, init="pca", random_state=seed).fit_transform(x)
    fig, ax = plt.subplots(figsize=(8, 8))
    ax.scatter(xy[:, 0], xy[:, 1], s=12, color="tab:blue")
    for (px, py), w in zip(xy, known):
        ax.annotate(w, (px, py), xytext=(3, 3), textcoords="offset points", fontsize=9)
    ax.set_title(title or f"t-SNE of {len(known)} word vectors")
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return known, xy
