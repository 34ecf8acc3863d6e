"""``deepkern train word2vec``: word vectors by skip-gram or CBOW (deepkern.text.Word2Vec).

By default it trains on the Brown corpus shipped inside deepkern (1.16M words, lower-cased);
``--corpus FILE`` takes any text, one sentence a line. The options and their defaults are
gensim's (``--lr`` is alpha, decaying linearly to ``--min-alpha`` over all epochs); training
runs on ``--threads`` threads without locks, or on the GPU with ``--device cuda``. The
progress bar shows words/s. At the end it prints the accuracy on the analogy questions
(shipped), the WordSim-353 / SimLex-999 correlations (``--data-dir`` with
word_eval/wordsim353.tsv, word_eval/simlex999.txt), and the nearest neighbours of a few
words; ``--save-vectors`` writes gensim-readable vectors, ``--tsne`` a t-SNE map, ``--debias``
reports hard debiasing.
"""
from __future__ import annotations

import time

import numpy as np

from ...cli import nonnegative_float, positive_int
from ._embeddings import EmbeddingTask, read_corpus


def build_model(args, workers=1):
    from ...text import Word2Vec

    return Word2Vec(vector_size=args.vector_size, window=args.window, min_count=args.min_count,
                    sg=int(args.model == "skipgram"), hs=int(args.hs), negative=args.negative, sample=args.sample,
                    alpha=args.lr, min_alpha=args.min_alpha, epochs=args.epochs, seed=args.seed, workers=workers,
                    device=args.device, compute_loss=True)


class Word2vec(EmbeddingTask):
    help = "word2vec (skip-gram / CBOW) on the Brown corpus or --corpus FILE; analogies, similarity"
    defaults = {"epochs": 5, "lr": 0.025}
    core_help = {"lr": "initial learning rate (gensim's alpha)",
                 "data_dir": "directory with word_eval/wordsim353.tsv and simlex999.txt (optional)"}

    @classmethod
    def add_arguments(cls, p):
        super().add_arguments(p)
        a = p.add_argument
        a("--model", choices=["skipgram", "cbow"], default="skipgram")
        a("--window", type=positive_int, default=5, help="maximal distance between a word and its context")
        a("--negative", type=int, default=5, help="noise words per word (0: none; then --hs is needed)")
        a("--hs", action="store_true", help="hierarchical softmax over a Huffman tree")
        a("--sample", type=nonnegative_float, default=1e-3, help="subsampling threshold of frequent words (0: off)")
        a("--min-alpha", type=nonnegative_float, default=1e-4, help="final learning rate")

    def check(self):
        super().check()
        from ..task import UsageError
        if self.args.negative < 0:
            raise UsageError("--negative", f"expected an integer >= 0, got {self.args.negative}")
        if self.args.negative == 0 and not self.args.hs:
            raise UsageError("--negative", "0 leaves nothing to train: give --hs or --negative >= 1")

    def setup(self):
        from ..task import UsageError

        args = self.args
        t0 = time.perf_counter()
        sentences = read_corpus(args.corpus)
        self.model = build_model(args, self.workers())
        try:
            self.model.build_vocab(sentences)
        except ValueError as e:
            raise UsageError("--min-count", str(e).split(": ", 1)[1]) from None
        self.encoded = self.model.encode(sentences)
        n = int(self.encoded[0].size)
        print(f"word2vec: {len(sentences):,} sentences, {n:,} words in a vocabulary of {len(self.model.wv):,} "
              f"(min count {args.min_count}); {args.model}, "
              f"{'hierarchical softmax' + (' + ' if args.negative else '') if args.hs else ''}"
              f"{f'{args.negative} negative samples' if args.negative else ''}, window {args.window}, "
              f"{args.vector_size} dimensions")
        self.log(f"vocabulary built in {time.perf_counter() - t0:.1f} s; training on {self.workers()} threads")
        self.speeds = []
        self.check_vocabulary(self.model.wv)

    def train_epoch(self, epoch):
        n = int(self.encoded[0].size)
        start = time.perf_counter()
        with self.word_bar(n) as bar:
            kept, loss = self.model.train_epoch(self.encoded, epoch, self.epochs, bar=bar)
        self.speeds.append(n / (time.perf_counter() - start))
        return {"loss": loss / max(kept, 1)}

    def state_dict(self):
        m = self.model
        return {"vectors": m.wv.vectors, "syn1neg": m.syn1neg, "syn1": m.syn1, "keys": list(m.wv.index_to_key),
                "epochs_trained": m.epochs_trained}

    def load_state_dict(self, state):
        from ..task import UsageError

        m = self.model
        if list(state["keys"]) != m.wv.index_to_key:
            raise UsageError("--corpus", "its vocabulary differs from the checkpoint's (resume with the corpus and "
                                         "--min-count the run was trained with)")
        m.wv.vectors[...] = state["vectors"]
        for name in ("syn1neg", "syn1"):
            if getattr(m, name) is not None:
                getattr(m, name)[...] = state[name]
        m.epochs_trained = int(state["epochs_trained"])
        m.wv.vectors_changed()

    def finish(self):
        if self.speeds:
            self.log(f"speed: median {np.median(self.speeds) / 1e3:,.0f} k words/s over {len(self.speeds)} epochs")
        self.report(self.model.wv)
