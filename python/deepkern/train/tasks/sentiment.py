"""``deepkern train sentiment``: positive or negative? Pang & Lee's 10,662 movie-review
sentences (shipped with deepkern, CC BY 4.0).

A seeded 90/10 split (``--split-seed``) holds out the test sentences; a tenth of the rest is
the validation set that picks the best epoch. ``--model avg`` classifies the mean word vector
with softmax regression; ``--model lstm`` (default) reads the sentence with a many-to-one LSTM
(masked for the sentences' lengths). ``--embeddings word2vec`` (default) starts from word2vec
vectors trained first on the Brown corpus plus the training sentences (no labels), or from
``--vectors FILE``; ``random`` learns them from the labels alone. The progress bar shows
words/s. At the end the test accuracy is printed beside a TF-IDF + logistic-regression
baseline (scikit-learn) trained and tuned on the same sentences.
"""
from __future__ import annotations

import numpy as np

from ...cli import nonnegative_int, positive_int
from ..task import UsageError
from ._sentences import SentenceTask


class Sentiment(SentenceTask):
    help = "sentence sentiment (movie reviews): averaged embeddings or LSTM vs TF-IDF + logistic regression"
    defaults = {"epochs": 8, "batch_size": 64, "lr": 2e-3}
    unused = ("data_dir",)

    @classmethod
    def add_arguments(cls, p):
        super().add_arguments(p)
        p.add_argument("--split-seed", type=nonnegative_int, default=0, help="seed of the 90/10 train/test split")
        p.add_argument("--max-sentences", type=positive_int, default=None,
                       help="use only this many sentences (a seeded sample of both classes; default: all 10,662)")

    def read_data(self):
        from ...text import corpora

        sentences, self.labels = corpora.sentence_polarity()
        self.sentences = [s.split() for s in sentences]
        self.num_classes = 2
        perm = np.random.default_rng(self.args.split_seed).permutation(len(sentences))
        if self.args.max_sentences is not None:
            if self.args.max_sentences < 30:
                raise UsageError("--max-sentences", f"expected at least 30, got {self.args.max_sentences}")
            perm = perm[:self.args.max_sentences]
        n_test = len(perm) // 10
        test, rest = perm[:n_test], perm[n_test:]
        n_val = len(rest) // 10
        self.splits = {"train": rest[n_val:], "val": rest[:n_val], "test": test}
        self.w2v_extra = [self.sentences[i] for i in self.splits["train"]]

    def baseline(self):
        """TF-IDF (unigrams, or unigrams + bigrams) + logistic regression, C and n-grams chosen on the
        validation sentences, refit on train; its test accuracy (None without scikit-learn)."""
        try:
            from sklearn.feature_extraction.text import TfidfVectorizer
            from sklearn.linear_model import LogisticRegression
        except ImportError:
            return None
        text = [" ".join(s) for s in self.sentences]
        tr, va, te = (self.splits[k] for k in ("train", "val", "test"))
        best = None
        for ngrams in ((1, 1), (1, 2)):
            vec = TfidfVectorizer(ngram_range=ngrams, sublinear_tf=True, token_pattern=r"\S+")
            x_tr = vec.fit_transform([text[i] for i in tr])
            x_va, x_te = vec.transform([text[i] for i in va]), vec.transform([text[i] for i in te])
            for c in (0.3, 1.0, 3.0, 10.0):
                clf = LogisticRegression(C=c, max_iter=2000).fit(x_tr, self.labels[tr])
                val = (clf.predict(x_va) == self.labels[va]).mean()
                if best is None or val > best[0]:
                    best = (val, (clf.predict(x_te) == self.labels[te]).mean(), ngrams, c)
        return best

    def finish(self):
        epoch = self.use_best()
        test = self.accuracy(self.splits["test"])
        print(f"test accuracy {test:.4f} ({len(self.splits['test']):,} sentences; {self.args.model}, "
              f"{self.args.embeddings} embeddings; weights of epoch {epoch + 1}, best validation accuracy "
              f"{self.best['val_accuracy']:.4f})")
        base = self.baseline()
        if base is None:
            print("baseline: skipped (TF-IDF + logistic regression needs scikit-learn: "
                  "pip install 'deepkern[text]')")
        else:
            val, acc, ngrams, c = base
            grams = "unigrams" if ngrams == (1, 1) else "unigrams + bigrams"
            print(f"baseline TF-IDF ({grams}) + logistic regression (C={c:g}): test accuracy {acc:.4f} "
                  f"on the same split ({'+' if test >= acc else ''}{100 * (test - acc):.2f} points for the "
                  f"{self.args.model})")
