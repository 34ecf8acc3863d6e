"""``deepkern train dates``: the course's date normalization with attention.

Human-readable dates in 12 formats ("3 May 1979", "tuesday 10/21/2008", "the 3rd of may 1979",
...; deepkern.text.dates) are translated character by character into YYYY-MM-DD by a seq2seq
model with attention (deepkern.models.seq2seq.Seq2Seq: bidirectional GRU encoder, additive
attention by default). Data are generated from ``--seed``; the held-out set is generated from
another seed, without strings seen in training. Reports held-out exact-match accuracy, saves an
attention-map PNG (``--plot``, needs matplotlib) and the model (``--checkpoint``), and
translates the dates given with ``--translate`` (from ``--load`` instead of training, if given).
"""
from __future__ import annotations

import string

import numpy as np

HELP = "seq2seq with attention: human-readable dates -> YYYY-MM-DD; attention map; --translate TEXT"

# Every character the generator can write, and then some, so typed dates rarely hit <unk>.
SOURCE_CHARS = string.ascii_letters + string.digits + " ,./-"
TARGET_CHARS = string.digits + "-"


def add_arguments(parser):
    parser.add_argument("--train-size", type=int, default=20000)
    parser.add_argument("--test-size", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--embedding", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--attention", choices=["additive", "dot"], default="additive")
    parser.add_argument("--cell", choices=["gru", "lstm"], default="gru")
    parser.add_argument("--beam-width", type=int, default=1, help="1: greedy decoding")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", metavar="PNG", default="dates_attention.png",
                        help="attention heat map of one held-out date ('' to skip)")
    parser.add_argument("--checkpoint", metavar="PATH", default=None, help="save the trained model here")
    parser.add_argument("--load", metavar="PATH", default=None, help="load a saved model instead of training")
    parser.add_argument("--translate", nargs="+", metavar="TEXT", default=None, help="dates to translate")


def vocabularies():
    from ...text.vocab import Vocab
    return Vocab(SOURCE_CHARS), Vocab(TARGET_CHARS)


def make_model(args, src_vocab, tgt_vocab):
    from ...models.seq2seq import Seq2Seq
    return Seq2Seq(len(src_vocab), len(tgt_vocab), args.embedding, args.hidden, attention=args.attention,
                   rnn=args.cell, pad_id=src_vocab.PAD, bos_id=tgt_vocab.BOS, eos_id=tgt_vocab.EOS)


def datasets(train_size, test_size, seed):
    """(train pairs, held-out pairs): held-out strings never occur in training."""
    from ...text.dates import generate_dates
    train = generate_dates(train_size, seed=seed)
    seen = {h for h, _ in train}
    test = [p for p in generate_dates(test_size + test_size // 10 + 10, seed=seed + 1) if p[0] not in seen]
    return train, test[:test_size]


def train_and_evaluate(args, progress=True, log=print):
    """Train on generated dates and return (model, held-out exact-match accuracy, test pairs)."""
    import deepkern as dk
    from ._seq2seq import fit

    dk.manual_seed(args.seed)
    src_vocab, tgt_vocab = vocabularies()
    train, test = datasets(args.train_size, args.test_size, args.seed)
    model = make_model(args, src_vocab, tgt_vocab)
    fit(model, [list(src_vocab.encode(h)) for h, _ in train], [list(tgt_vocab.encode(m)) for _, m in train],
        args.epochs, args.batch_size, args.lr, seed=args.seed, progress=progress, log=log)
    return model, exact_match(model, test, args.beam_width, progress), test


def exact_match(model, pairs, beam_width=1, progress=False):
    from ._seq2seq import decode
    src_vocab, tgt_vocab = vocabularies()
    outs = decode(model, [list(src_vocab.encode(h)) for h, _ in pairs], beam_width=beam_width, max_len=12,
                  progress=progress, desc="held-out")
    return float(np.mean([tgt_vocab.decode(o) == m for o, (_, m) in zip(outs, pairs)])) if pairs else 0.0


def translate(model, texts, beam_width=1):
    from ._seq2seq import decode
    src_vocab, tgt_vocab = vocabularies()
    outs = decode(model, [list(src_vocab.encode(t)) for t in texts], beam_width=beam_width, max_len=12)
    return [tgt_vocab.decode(o) for o in outs]


def run(args) -> int:
    import deepkern as dk

    src_vocab, tgt_vocab = vocabularies()
    if args.load:
        state = dk.load(args.load)
        for key in ("embedding", "hidden", "attention", "cell"):
            setattr(args, key, state[key])
        model = make_model(args, src_vocab, tgt_vocab)
        model.load_state_dict(state["model"])
        model.eval()
        test = datasets(0, args.test_size, args.seed)[1]
    else:
        model, acc, test = train_and_evaluate(args)
        print(f"held-out exact match: {acc:.4f} ({len(test)} dates, beam width {args.beam_width})")
        if args.checkpoint:
            dk.save({"model": model.state_dict(), "embedding": args.embedding, "hidden": args.hidden,
                     "attention": args.attention, "cell": args.cell}, args.checkpoint)
            print(f"saved {args.checkpoint}")
    if args.plot and test:
        human = test[0][0]
        out = translate(model, [human])[0]
        weights = model.attention_weights(src_vocab.encode(human), list(tgt_vocab.encode(out, eos=True)))
        try:
            from ...models.seq2seq import plot_attention
            plot_attention(weights, list(human), list(out) + ["<eos>"], args.plot, title=f"{human} -> {out}")
            print(f"attention map of {human!r} -> {out!r} saved to {args.plot}")
        except RuntimeError as e:
            print(f"no attention map: {e}")
    if args.translate:
        for text, out in zip(args.translate, translate(model, args.translate, args.beam_width)):
            print(f"{text!r} -> {out}")
    return 0
