"""``deepkern train glove``: GloVe word vectors (deepkern.text.GloVe).

By default on the Brown corpus shipped inside deepkern (``--corpus FILE`` for any text, one
sentence a line). Setup counts the distance-weighted co-occurrences within ``--window`` (C++);
each epoch is one AdaGrad pass over the (shuffled) nonzero counts, on ``--threads`` threads
without locks or on the GPU; the progress bar shows the rate in corpus words/s (the pairs done
times the corpus words per pair). The vectors are W + W~. The report at the end is word2vec's: analogies,
WordSim-353 / SimLex-999 with ``--data-dir``, neighbours, ``--save-vectors``, ``--tsne``,
``--debias``.
"""
from __future__ import annotations

import time

import numpy as np

from ...cli import positive_float, positive_int
from ._embeddings import EmbeddingTask, read_corpus


class Glove(EmbeddingTask):
    help = "GloVe word vectors from co-occurrence counts (Brown corpus or --corpus FILE); analogies, similarity"
    defaults = {"epochs": 25, "lr": 0.05}
    core_help = {"lr": "AdaGrad learning rate (GloVe's eta)",
                 "data_dir": "directory with word_eval/wordsim353.tsv and simlex999.txt (optional)"}

    @classmethod
    def add_arguments(cls, p):
        super().add_arguments(p)
        a = p.add_argument
        a("--window", type=positive_int, default=10, help="context window for the co-occurrence counts")
        a("--x-max", type=positive_float, default=10.0,
          help="counts at or above it get full weight in the loss (the paper's 100 suits billions of words)")
        a("--alpha", type=positive_float, default=0.75, help="exponent of the weighting function")

    def setup(self):
        from ...text import GloVe
        from ..task import UsageError

        args = self.args
        t0 = time.perf_counter()
        sentences = read_corpus(args.corpus)
        self.corpus_words = sum(map(len, sentences))
        self.model = GloVe(vector_size=args.vector_size, window=args.window, min_count=args.min_count,
                           x_max=args.x_max, alpha=args.alpha, learning_rate=args.lr, epochs=args.epochs,
                           workers=self.workers(), seed=args.seed, device=args.device)
        try:
            self.model.build_vocab(sentences)
        except ValueError as e:
            raise UsageError("--min-count" if "min_count" in str(e) else "--corpus", str(e).split(": ", 1)[1]) from None
        seconds = time.perf_counter() - t0
        print(f"glove: {len(sentences):,} sentences, {self.corpus_words:,} words, vocabulary {len(self.model.wv):,}; "
              f"{self.model.num_pairs:,} nonzero co-occurrences within {args.window} words; {args.vector_size} "
              "dimensions")
        self.log(f"counted in {seconds:.1f} s ({self.corpus_words / seconds / 1e3:,.0f} k words/s); training on "
                 f"{self.workers()} threads")
        self.speeds = []
        self.check_vocabulary(self.model.wv)

    def train_epoch(self, epoch):
        start = time.perf_counter()
        # The bar counts corpus words (pairs done x words per pair), so its rate is words/s.
        with self.word_bar(self.corpus_words) as bar:
            cost = self.model.train_epoch(bar, bar_scale=self.corpus_words / self.model.num_pairs)
        self.speeds.append(self.model.num_pairs / (time.perf_counter() - start))
        return {"loss": cost}

    def state_dict(self):
        m = self.model
        return {"model": [m.W, m.W_context, m.b, m.b_context, *m._accumulators], "keys": list(m.wv.index_to_key),
                "losses": list(m.losses)}

    def load_state_dict(self, state):
        from ..task import UsageError

        m = self.model
        if list(state["keys"]) != m.wv.index_to_key:
            raise UsageError("--corpus", "its vocabulary differs from the checkpoint's (resume with the corpus and "
                                         "--min-count the run was trained with)")
        for dst, src in zip([m.W, m.W_context, m.b, m.b_context, *m._accumulators], state["model"]):
            dst[...] = src
        m.losses = list(state["losses"])
        m._update_wv()

    def finish(self):
        if self.speeds:
            rate = np.median(self.speeds)
            self.log(f"speed: median {rate / 1e6:.2f} M pairs/s (= {rate * self.corpus_words / self.model.num_pairs / 1e3:,.0f}"
                     f" k corpus words/s) over {len(self.speeds)} epochs")
        self.report(self.model.wv)
