"""``deepkern train translate``: word-level neural machine translation on Multi30k with attention.

Reads ``{train,test_2016_flickr}.{src,tgt}.gz`` from ``--data-dir`` (the Multi30k layout, see
../shared/data/SOURCES.md; Elliott et al. 2016), lower-cases and splits words from punctuation,
keeps words seen at least ``--min-freq`` times (others become <unk>), trains a
deepkern.models.seq2seq.Seq2Seq on the first ``--train-size`` training pairs (``--all`` for all
29,000) and reports corpus BLEU (deepkern.text.bleu, on these tokens, 0-100) of beam-search
translations of the test set against its single reference. The score is what it is: a small
model trained for minutes on 2 CPU cores, far below published Multi30k results.
"""
from __future__ import annotations

import gzip
import os
import re

HELP = "seq2seq with attention on Multi30k (en->de by default); corpus BLEU on test_2016_flickr with beam search"


def add_arguments(parser):
    parser.add_argument("--data-dir", default=os.path.join("..", "shared", "data", "multi30k"))
    parser.add_argument("--src", default="en")
    parser.add_argument("--tgt", default="de")
    parser.add_argument("--train-size", type=int, default=10000, help="first N training pairs (default 10000)")
    parser.add_argument("--all", action="store_true", help="train on all training pairs")
    parser.add_argument("--test-split", default="test_2016_flickr")
    parser.add_argument("--test-size", type=int, default=None, help="first N test pairs (default all)")
    parser.add_argument("--max-len", type=int, default=30, help="drop training pairs longer than this")
    parser.add_argument("--min-freq", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--embedding", type=int, default=96)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--attention", choices=["additive", "dot"], default="additive")
    parser.add_argument("--cell", choices=["gru", "lstm"], default="gru")
    parser.add_argument("--beam-width", type=int, default=3)
    parser.add_argument("--length-penalty", type=float, default=0.7, help="alpha of 1/T_y^alpha")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint", metavar="PATH", default=None, help="save the trained model here")
    parser.add_argument("--no-progress", action="store_true")


def tokenize(line):
    """Lower-cased words and punctuation marks."""
    return re.findall(r"\w+|[^\w\s]", line.lower())


def read_split(data_dir, split, lang):
    path = os.path.join(data_dir, f"{split}.{lang}.gz")
    if not os.path.exists(path):
        raise FileNotFoundError(f"translate: {path} not found (expected the Multi30k files "
                                f"{{train,{split}}}.{{src,tgt}}.gz in --data-dir)")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [tokenize(line) for line in f.read().splitlines()]


def run(args) -> int:
    import deepkern as dk
    from ...models.seq2seq import Seq2Seq
    from ...text.bleu import corpus_bleu
    from ...text.vocab import Vocab
    from ._seq2seq import decode, fit

    dk.manual_seed(args.seed)
    src_train = read_split(args.data_dir, "train", args.src)
    tgt_train = read_split(args.data_dir, "train", args.tgt)
    src_test = read_split(args.data_dir, args.test_split, args.src)
    tgt_test = read_split(args.data_dir, args.test_split, args.tgt)
    n = len(src_train) if args.all else min(args.train_size, len(src_train))
    pairs = [(s, t) for s, t in zip(src_train[:n], tgt_train[:n])
             if 0 < len(s) <= args.max_len and 0 < len(t) <= args.max_len]
    src_vocab = Vocab((w for s, _ in pairs for w in s), min_freq=args.min_freq, join=" ")
    tgt_vocab = Vocab((w for _, t in pairs for w in t), min_freq=args.min_freq, join=" ")
    print(f"{len(pairs)} training pairs {args.src}->{args.tgt}; vocabularies {len(src_vocab)} / {len(tgt_vocab)}")
    model = Seq2Seq(len(src_vocab), len(tgt_vocab), args.embedding, args.hidden, attention=args.attention,
                    rnn=args.cell, pad_id=Vocab.PAD, bos_id=Vocab.BOS, eos_id=Vocab.EOS)
    fit(model, [list(src_vocab.encode(s)) for s, _ in pairs], [list(tgt_vocab.encode(t)) for _, t in pairs],
        args.epochs, args.batch_size, args.lr, seed=args.seed, progress=not args.no_progress)
    m = len(src_test) if args.test_size is None else min(args.test_size, len(src_test))
    outs = decode(model, [list(src_vocab.encode(s)) for s in src_test[:m]], batch_size=64,
                  beam_width=args.beam_width, max_len=args.max_len + 10, alpha=args.length_penalty,
                  progress=not args.no_progress, desc=f"beam search ({args.test_split})")
    hyps = [tgt_vocab.decode(o).split() for o in outs]
    bleu = corpus_bleu(hyps, [[t] for t in tgt_test[:m]])
    print(f"corpus BLEU on {args.test_split} ({m} sentences, beam {args.beam_width}): {100 * bleu:.2f}")
    for s, h, t in list(zip(src_test, hyps, tgt_test))[:3]:
        print(f"  src: {' '.join(s)}\n  out: {' '.join(h)}\n  ref: {' '.join(t)}")
    if args.checkpoint:
        dk.save({"model": model.state_dict(), "src_vocab": src_vocab.itos, "tgt_vocab": tgt_vocab.itos,
                 "embedding": args.embedding, "hidden": args.hidden, "attention": args.attention,
                 "cell": args.cell}, args.checkpoint)
        print(f"saved {args.checkpoint}")
    return 0
