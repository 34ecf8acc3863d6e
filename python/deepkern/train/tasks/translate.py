"""``deepkern train translate``: word-level neural machine translation on Multi30k with attention.

Reads ``{train,test_2016_flickr}.{en,de,fr}.gz`` from ``--data-dir`` (the raw Multi30k files of
github.com/multi30k/dataset, data/task1/raw; Elliott et al. 2016), lower-cases and splits words
from punctuation, keeps words seen at least ``--min-freq`` times (others become <unk>), trains
a deepkern.models.seq2seq.Seq2Seq on the first ``--train-size`` training pairs (``--all`` for
all 29,000) and reports corpus BLEU (deepkern.text.bleu, on these tokens, 0-100) of
beam-search translations of the test set against its single reference. The score is what it
is: a small model trained for minutes on 2 CPU cores, far below published Multi30k results.

Translate your own sentences with the trained model: ``deepkern translate --checkpoint
translate.dk "a man rides a bike ."``.
"""
from __future__ import annotations

import gzip
import os
import re

from ...cli import positive_float, positive_int
from ..task import Task, UsageError

MULTI30K = ("Multi30k: download {files} from https://github.com/multi30k/dataset/tree/master/data/task1/raw "
            "into one directory and pass it as --data-dir")


def tokenize(line):
    """Lower-cased words and punctuation marks."""
    return re.findall(r"\w+|[^\w\s]", line.lower())


def read_split(data_dir, split, lang):
    with gzip.open(os.path.join(data_dir, f"{split}.{lang}.gz"), "rt", encoding="utf-8") as f:
        return [tokenize(line) for line in f.read().splitlines()]


def build_model(args, src_size, tgt_size):
    from ...models.seq2seq import Seq2Seq
    from ...text.vocab import Vocab
    return Seq2Seq(src_size, tgt_size, args.embedding, args.hidden, attention=args.attention, rnn=args.cell,
                   pad_id=Vocab.PAD, bos_id=Vocab.BOS, eos_id=Vocab.EOS)


def load_model(ckpt):
    """(model in eval mode, source Vocab, target Vocab) of a translate checkpoint."""
    from types import SimpleNamespace

    from ...text.vocab import Vocab

    state = ckpt["state"]
    src_vocab = Vocab.from_itos(state["src_vocab"], join=" ")
    tgt_vocab = Vocab.from_itos(state["tgt_vocab"], join=" ")
    model = build_model(SimpleNamespace(**ckpt["args"]), len(src_vocab), len(tgt_vocab))
    model.load_state_dict(state["model"])
    return model.eval(), src_vocab, tgt_vocab


def translate(model, src_vocab, tgt_vocab, sentences, beam_width=3, alpha=0.7, max_len=50):
    """Translations (token strings) of raw sentences."""
    from ._seq2seq import decode
    outs = decode(model, [list(src_vocab.encode(tokenize(s))) for s in sentences], beam_width=beam_width,
                  max_len=max_len, alpha=alpha)
    return [tgt_vocab.decode(o) for o in outs]


class Translate(Task):
    help = "seq2seq with attention on Multi30k (en->de by default); BLEU with beam search"
    defaults = {"epochs": 6, "batch_size": 64, "lr": 3e-3}
    core_help = {"data_dir": "directory with the Multi30k files {train,test_2016_flickr}.{en,de,fr}.gz (required)"}
    resume_may_change = ("beam_width", "length_penalty", "test_size")

    @classmethod
    def add_arguments(cls, p):
        a = p.add_argument
        a("--src", choices=["en", "de", "fr"], default="en", help="source language")
        a("--tgt", choices=["en", "de", "fr"], default="de", help="target language")
        a("--train-size", type=positive_int, default=10000, help="first N training pairs")
        a("--all", action="store_true", help="train on all training pairs")
        a("--test-split", default="test_2016_flickr")
        a("--test-size", type=positive_int, default=None, help="first N test pairs (default all)")
        a("--max-len", type=positive_int, default=30, help="drop training pairs longer than this")
        a("--min-freq", type=positive_int, default=2, help="words seen fewer times become <unk>")
        a("--embedding", type=positive_int, default=96)
        a("--hidden", type=positive_int, default=128)
        a("--attention", choices=["additive", "dot"], default="additive")
        a("--cell", choices=["gru", "lstm"], default="gru")
        a("--beam-width", type=positive_int, default=3)
        a("--length-penalty", type=positive_float, default=0.7, help="alpha of 1/T_y^alpha")

    def check(self):
        args = self.args
        if args.src == args.tgt:
            raise UsageError("--tgt", f"is the source language too ({args.src}); pick another")
        files = [f"{split}.{lang}.gz" for split in ("train", args.test_split) for lang in (args.src, args.tgt)]
        if args.data_dir is None:
            raise UsageError("--data-dir", "required: " + MULTI30K.format(files=", ".join(files)))
        super().check()
        missing = [f for f in files if not os.path.isfile(os.path.join(args.data_dir, f))]
        if missing:
            raise UsageError("--data-dir", f"{args.data_dir} lacks {', '.join(missing)}; "
                             + MULTI30K.format(files="them"))

    def setup(self):
        import deepkern as dk
        from ...text.vocab import Vocab

        args = self.args
        src_train = read_split(args.data_dir, "train", args.src)
        tgt_train = read_split(args.data_dir, "train", args.tgt)
        self.src_test = read_split(args.data_dir, args.test_split, args.src)
        self.tgt_test = read_split(args.data_dir, args.test_split, args.tgt)
        n = len(src_train) if args.all else min(args.train_size, len(src_train))
        pairs = [(s, t) for s, t in zip(src_train[:n], tgt_train[:n])
                 if 0 < len(s) <= args.max_len and 0 < len(t) <= args.max_len]
        if not pairs:
            raise UsageError("--max-len", f"no training pair of {args.data_dir} is at most {args.max_len} words long")
        self.src_vocab = Vocab((w for s, _ in pairs for w in s), min_freq=args.min_freq, join=" ")
        self.tgt_vocab = Vocab((w for _, t in pairs for w in t), min_freq=args.min_freq, join=" ")
        print(f"{len(pairs)} training pairs {args.src}->{args.tgt}; vocabularies {len(self.src_vocab)} / "
              f"{len(self.tgt_vocab)}")
        self.src = [list(self.src_vocab.encode(s)) for s, _ in pairs]
        self.tgt = [list(self.tgt_vocab.encode(t)) for _, t in pairs]
        self.model = build_model(args, len(self.src_vocab), len(self.tgt_vocab))
        self.optimizer = dk.optim.Adam(self.model.parameters(), lr=args.lr)

    def train_epoch(self, epoch):
        from ._seq2seq import train_epoch
        return {"loss": train_epoch(self, self.src, self.tgt)}

    def state_dict(self):
        return {**super().state_dict(), "src_vocab": self.src_vocab.itos, "tgt_vocab": self.tgt_vocab.itos}

    def load_state_dict(self, state):
        if list(state["src_vocab"]) != self.src_vocab.itos or list(state["tgt_vocab"]) != self.tgt_vocab.itos:
            raise UsageError("--data-dir", "its training text gives other vocabularies than the checkpoint's "
                                           "(resume with the data the run was trained on)")
        super().load_state_dict(state)

    def finish(self):
        from ...text.bleu import corpus_bleu
        from ._seq2seq import decode

        args = self.args
        m = len(self.src_test) if args.test_size is None else min(args.test_size, len(self.src_test))
        outs = decode(self.model, [list(self.src_vocab.encode(s)) for s in self.src_test[:m]], batch_size=64,
                      beam_width=args.beam_width, max_len=args.max_len + 10, alpha=args.length_penalty,
                      progress=not self.quiet, desc=f"beam search ({args.test_split})")
        hyps = [self.tgt_vocab.decode(o).split() for o in outs]
        bleu = corpus_bleu(hyps, [[t] for t in self.tgt_test[:m]])
        print(f"corpus BLEU on {args.test_split} ({m} sentences, beam {args.beam_width}): {100 * bleu:.2f}")
        for s, h, t in list(zip(self.src_test, hyps, self.tgt_test))[:3]:
            print(f"  src: {' '.join(s)}\n  out: {' '.join(h)}\n  ref: {' '.join(t)}")
