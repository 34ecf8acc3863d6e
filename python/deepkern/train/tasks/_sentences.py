"""What ``deepkern train sentiment`` and ``deepkern train emojify`` share: sentence classifiers
over word embeddings (deepkern.models.sentiment), trained on length-bucketed batches, with
random or word2vec-initialized embeddings, and the best epoch chosen on a validation split."""
from __future__ import annotations

import time
from collections import Counter

import numpy as np

from ...cli import existing_file, fraction, positive_int
from ..task import Task, UsageError


class SentenceTask(Task):
    """Subclasses set ``self.sentences`` (lists of tokens), ``self.labels``, ``self.splits``
    ({"train", "val", "test"}: index arrays), ``self.num_classes`` and ``self.w2v_extra``
    (unlabelled sentences that word2vec may also read) in ``read_data``."""

    core_help = {"lr": "Adam learning rate"}
    resume_may_change = ("show",)

    @classmethod
    def add_arguments(cls, p):
        a = p.add_argument
        a("--model", choices=["avg", "lstm"], default="lstm",
          help="avg: the mean word vector -> softmax; lstm: a many-to-one LSTM over the words")
        a("--embeddings", choices=["random", "word2vec"], default="word2vec",
          help="random: N(0, 1) rows learned from the labels alone; word2vec: vectors trained first on the Brown "
               "corpus plus the training sentences (or read from --vectors)")
        a("--vectors", metavar="FILE", type=existing_file, default=None,
          help="word vectors in word2vec's text or binary (.bin) format for --embeddings word2vec "
               "(e.g. from 'deepkern train word2vec --save-vectors')")
        a("--embedding-dim", type=positive_int, default=100, help="word vector size (random / trained here)")
        a("--hidden", type=positive_int, default=128, help="LSTM hidden units")
        a("--layers", type=positive_int, default=1, help="LSTM layers")
        a("--dropout", type=fraction, default=0.5, help="dropout on the word vectors")
        a("--freeze", action="store_true", help="keep the initial word vectors fixed")
        a("--w2v-epochs", type=positive_int, default=10, help="word2vec epochs when vectors are trained here")

    # ---- data --------------------------------------------------------------------------------
    def read_data(self):
        raise NotImplementedError(f"{type(self).__name__} must define read_data()")

    def setup(self):
        import deepkern as dk
        from ...models.sentiment import AveragedEmbeddingClassifier, LSTMClassifier, embedding_matrix

        args = self.args
        self.read_data()
        train = self.splits["train"]
        counts = Counter(t for i in train for t in self.sentences[i])
        self.itos = ["<pad>", "<unk>"] + [w for w, _ in counts.most_common()]
        self.stoi = {w: i for i, w in enumerate(self.itos)}
        embeddings, dim = None, args.embedding_dim
        if args.embeddings == "word2vec":
            kv = self.word_vectors()
            dim = kv.vector_size
            embeddings, found = embedding_matrix(self.itos, kv, seed=args.seed)
            print(f"{self.name}: word2vec vectors for {found:,} of {len(self.itos) - 2:,} training words")
        elif args.vectors is not None:
            raise UsageError("--vectors", "is for --embeddings word2vec")
        if args.model == "avg":
            self.model = AveragedEmbeddingClassifier(len(self.itos), dim, self.num_classes, dropout=args.dropout,
                                                     embeddings=embeddings, freeze=args.freeze)
        else:
            self.model = LSTMClassifier(len(self.itos), dim, args.hidden, self.num_classes, num_layers=args.layers,
                                        dropout=args.dropout, embeddings=embeddings, freeze=args.freeze)
        self.model.to(self.device)
        self.optimizer = dk.optim.Adam([p for p in self.model.parameters() if p.requires_grad], lr=args.lr)
        self.best = {"val_accuracy": -1.0, "epoch": -1, "model": None}
        print(f"{self.name}: {', '.join(f'{len(v):,} {k}' for k, v in self.splits.items())} sentences; "
              f"vocabulary {len(self.itos):,}; {args.model} with {args.embeddings} {dim}-d embeddings"
              f"{' (frozen)' if args.freeze else ''}, {self.model.num_parameters():,} parameters")

    def word_vectors(self):
        """KeyedVectors: --vectors, or word2vec trained here on Brown + the training sentences."""
        from ...text import KeyedVectors, Word2Vec, corpora

        args = self.args
        if args.vectors is not None:
            try:
                return KeyedVectors.load_word2vec_format(args.vectors, binary=args.vectors.endswith(".bin"))
            except (ValueError, UnicodeDecodeError) as e:
                raise UsageError("--vectors", f"{args.vectors}: {e}") from None
        t0 = time.perf_counter()
        corpus = corpora.brown() + self.w2v_extra
        import deepkern as dk
        model = Word2Vec(corpus, vector_size=args.embedding_dim, window=5, min_count=2, sg=1, negative=5,
                         epochs=args.w2v_epochs, workers=dk.get_num_threads(), seed=args.seed)
        print(f"{self.name}: word2vec (skip-gram, {args.w2v_epochs} epochs) on the Brown corpus + "
              f"{len(self.w2v_extra):,} training sentences: {len(model.wv):,} words")
        self.log(f"{self.name}: word2vec trained in {time.perf_counter() - t0:.1f} s")
        return model.wv

    def encode(self, index):
        return [self.stoi.get(t, 1) for t in self.sentences[index]] or [1]

    def batches(self, indices, batch_size, shuffle, seed=0):
        """(ids (B, T) right-padded with 0, labels (B,)) batches of similar lengths: the order is
        shuffled, then each run of 32 batches is sorted by length (little padding)."""
        idx = np.asarray(indices)
        if shuffle:
            idx = np.random.default_rng(seed).permutation(idx)
        groups = []
        for lo in range(0, len(idx), batch_size * 32):
            chunk = sorted(idx[lo:lo + batch_size * 32].tolist(), key=lambda i: len(self.sentences[i]))
            groups += [chunk[k:k + batch_size] for k in range(0, len(chunk), batch_size)]
        if shuffle:
            groups = [groups[i] for i in np.random.default_rng(seed + 1).permutation(len(groups))]
        for group in groups:
            yield self.pad(group), self.labels[group]

    # ---- training ----------------------------------------------------------------------------
    def train_epoch(self, epoch):
        import deepkern.functional as F
        from deepkern._device import to_device

        train = self.splits["train"]
        words = sum(len(self.sentences[i]) for i in train)
        total = correct = 0.0
        self.model.train()
        bar = self.progress(total=words, unit="word")
        bar.unit_scale = True
        with bar:
            for ids, y in self.batches(train, self.args.batch_size, True, seed=self.args.seed * 1000 + epoch):
                logits = self.model(to_device(ids, self.device))
                loss = F.cross_entropy(logits, to_device(y, self.device))
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()
                total += float(loss.item()) * len(y)
                correct += float((np.asarray(_host(logits.data)).argmax(1) == y).sum())
                bar.update(int((ids != 0).sum()))
        logs = {"loss": total / len(train), "accuracy": correct / len(train),
                "val_accuracy": self.accuracy(self.splits["val"])}
        if logs["val_accuracy"] > self.best["val_accuracy"]:
            self.best = {"val_accuracy": logs["val_accuracy"], "epoch": epoch,
                         "model": {k: v.copy() for k, v in self.model.state_dict().items()}}
        return logs

    def pad(self, index_list):
        """ids (B, T) of the given sentences, right-padded with 0."""
        seqs = [self.encode(i) for i in index_list]
        ids = np.zeros((len(seqs), max(map(len, seqs))), dtype=np.int64)
        for r, s in enumerate(seqs):
            ids[r, :len(s)] = s
        return ids

    def predict(self, indices, probabilities=False):
        """Predicted classes (or class probabilities) of the sentences ``indices``, in order."""
        import deepkern as dk
        import deepkern.functional as F
        from deepkern._device import to_device

        self.model.eval()
        out = []
        with dk.no_grad():
            for lo in range(0, len(indices), 256):
                logits = self.model(to_device(self.pad(list(indices[lo:lo + 256])), self.device))
                out.append(np.asarray(_host(F.softmax(logits, axis=-1).data)))
        self.model.train()
        p = np.concatenate(out) if out else np.zeros((0, self.num_classes))
        return p if probabilities else p.argmax(1)

    def accuracy(self, indices):
        if len(indices) == 0:
            return float("nan")
        return float((self.predict(indices) == self.labels[indices]).mean())

    def state_dict(self):
        best = {k: v for k, v in self.best.items()}
        return {**super().state_dict(), "itos": self.itos, "best": best}

    def load_state_dict(self, state):
        if list(state["itos"]) != self.itos:
            raise UsageError("--seed", "the training vocabulary differs from the checkpoint's (resume with the "
                                       "data and split the run was trained on)")
        super().load_state_dict(state)
        self.best = dict(state["best"])

    def use_best(self):
        """Load the weights of the epoch with the best validation accuracy (if any)."""
        if self.best.get("model") is not None:
            self.model.load_state_dict(self.best["model"])
        return self.best.get("epoch", -1)


def _host(a):
    return a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else a
