"""``deepkern train dates``: the course's date normalization with attention.

Human-readable dates in 12 formats ("3 May 1979", "tuesday 10/21/2008", "the 3rd of may 1979",
...; deepkern.text.dates) are translated character by character into YYYY-MM-DD by a seq2seq
model with attention (deepkern.models.seq2seq.Seq2Seq: bidirectional GRU encoder, additive
attention by default). Data are generated from ``--seed``; the held-out set is generated from
another seed, without strings seen in training. Reports held-out exact-match accuracy;
``--plot PNG`` draws the attention map of one held-out date (needs matplotlib).

Translate your own dates with the trained model: ``deepkern translate --checkpoint dates.dk
"3 May 1979" "tuesday 10/21/2008"``.
"""
from __future__ import annotations

import string

import numpy as np

from ...cli import positive_int
from ..task import Task

# Every character the generator can write, and then some, so typed dates rarely hit <unk>.
SOURCE_CHARS = string.ascii_letters + string.digits + " ,./-"
TARGET_CHARS = string.digits + "-"


def vocabularies():
    from ...text.vocab import Vocab
    return Vocab(SOURCE_CHARS), Vocab(TARGET_CHARS)


def build_model(args):
    from ...models.seq2seq import Seq2Seq
    src_vocab, tgt_vocab = vocabularies()
    return Seq2Seq(len(src_vocab), len(tgt_vocab), args.embedding, args.hidden, attention=args.attention,
                   rnn=args.cell, pad_id=src_vocab.PAD, bos_id=tgt_vocab.BOS, eos_id=tgt_vocab.EOS)


def datasets(train_size, test_size, seed):
    """(train pairs, held-out pairs): held-out strings never occur in training."""
    from ...text.dates import generate_dates
    train = generate_dates(train_size, seed=seed)
    seen = {h for h, _ in train}
    test = [p for p in generate_dates(test_size + test_size // 10 + 10, seed=seed + 1) if p[0] not in seen]
    return train, test[:test_size]


def exact_match(model, pairs, beam_width=1, progress=False):
    from ._seq2seq import decode
    src_vocab, tgt_vocab = vocabularies()
    outs = decode(model, [list(src_vocab.encode(h)) for h, _ in pairs], beam_width=beam_width, max_len=12,
                  progress=progress, desc="held-out")
    return float(np.mean([tgt_vocab.decode(o) == m for o, (_, m) in zip(outs, pairs)])) if pairs else 0.0


def translate(model, texts, beam_width=1):
    """YYYY-MM-DD strings for human-written dates."""
    from ._seq2seq import decode
    src_vocab, tgt_vocab = vocabularies()
    outs = decode(model, [list(src_vocab.encode(t)) for t in texts], beam_width=beam_width, max_len=12)
    return [tgt_vocab.decode(o) for o in outs]


def load_model(ckpt):
    """The Seq2Seq of a dates checkpoint (``deepkern.train.task.load_checkpoint``), in eval mode."""
    from types import SimpleNamespace

    model = build_model(SimpleNamespace(**ckpt["args"]))
    model.load_state_dict(ckpt["state"]["model"])
    return model.eval()


class Dates(Task):
    help = "seq2seq with attention: human-written dates -> YYYY-MM-DD; attention map"
    defaults = {"epochs": 8, "batch_size": 64, "lr": 1e-2}
    core_help = {"plot": "draw the attention map of one held-out date into this PNG (needs matplotlib)"}
    unused = ("data_dir",)
    resume_may_change = ("beam_width",)

    @classmethod
    def add_arguments(cls, p):
        p.add_argument("--train-size", type=positive_int, default=20000, help="generated training dates")
        p.add_argument("--test-size", type=positive_int, default=2000, help="generated held-out dates")
        p.add_argument("--embedding", type=positive_int, default=32)
        p.add_argument("--hidden", type=positive_int, default=64)
        p.add_argument("--attention", choices=["additive", "dot"], default="additive")
        p.add_argument("--cell", choices=["gru", "lstm"], default="gru")
        p.add_argument("--beam-width", type=positive_int, default=1, help="1: greedy decoding")

    def setup(self):
        import deepkern as dk

        args = self.args
        src_vocab, tgt_vocab = vocabularies()
        train, self.test = datasets(args.train_size, args.test_size, args.seed)
        self.src = [list(src_vocab.encode(h)) for h, _ in train]
        self.tgt = [list(tgt_vocab.encode(m)) for _, m in train]
        self.model = build_model(args)
        self.optimizer = dk.optim.Adam(self.model.parameters(), lr=args.lr)

    def train_epoch(self, epoch):
        from ._seq2seq import train_epoch
        return {"loss": train_epoch(self, self.src, self.tgt)}

    def finish(self):
        acc = exact_match(self.model, self.test, self.args.beam_width, progress=not self.quiet)
        print(f"held-out exact match: {acc:.4f} ({len(self.test)} dates, beam width {self.args.beam_width})")
        for human, _ in self.test[:3]:
            print(f"  {human!r} -> {translate(self.model, [human], self.args.beam_width)[0]}")

    def plot(self, path):
        from ...models.seq2seq import plot_attention

        src_vocab, tgt_vocab = vocabularies()
        human = self.test[0][0]
        out = translate(self.model, [human])[0]
        weights = self.model.attention_weights(src_vocab.encode(human), list(tgt_vocab.encode(out, eos=True)))
        plot_attention(weights, list(human), list(out) + ["<eos>"], path, title=f"{human} -> {out}")
        return f"attention map of {human!r} -> {out!r}: {path}"
