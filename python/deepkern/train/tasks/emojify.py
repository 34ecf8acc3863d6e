"""``deepkern train emojify``: an emoji for a sentence (the deep-learning course's Emojify).

Reads train_emoji.csv and test_emoji.csv (132 and 56 sentences, labels 0-4 for
❤️ ⚾ 😄 😞 🍴) from ``--data-dir`` or its emojify/ folder (they are not shipped with
deepkern: no license). So few sentences need word vectors learned elsewhere: by default
word2vec is trained first on the Brown corpus (shipped) plus the training sentences, and
the embeddings stay fixed (``--freeze`` is on; ``--no-freeze`` to fine-tune).
``--model avg`` is the course's V1 (mean word vector -> softmax), ``--model lstm`` its V2.
A sixth of the training sentences is the validation set that picks the best epoch. The
progress bar shows words/s; at the end the test accuracy is printed with an emoji for each
test sentence (``--show N``) and for each ``--sentence TEXT``.
"""
from __future__ import annotations


import numpy as np

from ...cli import nonnegative_int
from ..task import UsageError
from ._sentences import SentenceTask


class Emojify(SentenceTask):
    help = "an emoji for each sentence (the course's Emojify, --data-dir): averaged embeddings or LSTM"
    defaults = {"epochs": 60, "batch_size": 32, "lr": 5e-3}
    core_help = {"lr": "Adam learning rate", "data_dir": "directory with train_emoji.csv and test_emoji.csv "
                                                         "(or an emojify/ folder holding them)"}
    resume_may_change = ("show", "sentence")

    @classmethod
    def add_arguments(cls, p):
        super().add_arguments(p)
        p.set_defaults(freeze=True, dropout=0.3)
        p.add_argument("--no-freeze", dest="freeze", action="store_false", help="fine-tune the word vectors")
        p.add_argument("--show", type=nonnegative_int, default=10, help="test sentences printed with their emoji")
        p.add_argument("--sentence", action="append", default=[], metavar="TEXT",
                       help="also print the emoji of TEXT (repeatable)")

    def check(self):
        if self.args.data_dir is None:
            raise UsageError("--data-dir", "needed: the Emojify sentences are not shipped with deepkern (give the "
                                           "directory with train_emoji.csv and test_emoji.csv)")
        super().check()

    def read_data(self):
        from ...text import corpora

        try:
            (train_x, train_y), (test_x, test_y) = corpora.emojify(self.args.data_dir)
        except FileNotFoundError as e:
            raise UsageError("--data-dir", str(e)) from None
        except (ValueError, IndexError) as e:
            raise UsageError("--data-dir", f"the Emojify CSV files are malformed ({e})") from None
        tok = lambda s: s.lower().split()  # noqa: E731
        extra = [tok(s) for s in self.args.sentence]
        self.sentences = [tok(s) for s in train_x + test_x] + extra
        self.labels = np.concatenate([train_y, test_y, np.zeros(len(extra), np.int64)])
        bad = self.labels[self.labels >= len(corpora.EMOJIS)]
        if bad.size:
            raise UsageError("--data-dir", f"labels must be 0-{len(corpora.EMOJIS) - 1}, found {int(bad[0])}")
        self.num_classes = len(corpora.EMOJIS)
        perm = np.random.default_rng(0).permutation(len(train_x))
        n_val = max(1, len(train_x) // 6)
        n = len(train_x) + len(test_x)
        self.splits = {"train": perm[n_val:], "val": perm[:n_val], "test": np.arange(len(train_x), n)}
        self.extra = np.arange(n, n + len(extra))
        self.w2v_extra = [self.sentences[i] for i in perm[n_val:]]

    def finish(self):
        from ...text.corpora import EMOJIS

        epoch = self.use_best()
        test = self.splits["test"]
        pred = self.predict(test)
        acc = float((pred == self.labels[test]).mean())
        print(f"test accuracy {acc:.4f} ({len(test)} sentences; {self.args.model}; weights of epoch {epoch + 1}, "
              f"best validation accuracy {self.best['val_accuracy']:.4f})")
        for i, p in list(zip(test, pred))[:self.args.show]:
            mark = "" if p == self.labels[i] else f"   (expected {EMOJIS[self.labels[i]]})"
            print(f"  {' '.join(self.sentences[i])} {EMOJIS[p]}{mark}")
        for i, p in zip(self.extra, self.predict(self.extra) if len(self.extra) else []):
            print(f"  {' '.join(self.sentences[i])} {EMOJIS[p]}")
