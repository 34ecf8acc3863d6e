"""Translate text with a seq2seq model trained by 'deepkern train translate' (Multi30k
sentences) or 'deepkern train dates' (human-written dates -> YYYY-MM-DD); each input is printed
with its translation."""
import sys

from .. import positive_int

HELP = "translate sentences or dates with a 'train translate' or 'train dates' checkpoint"
USAGE = "TEXT ... --checkpoint CKPT"


def add_arguments(p):
    p.add_argument("texts", nargs="*", metavar="TEXT", help="what to translate (default: lines of standard input)")
    p.add_argument("--checkpoint", required=True, metavar="CKPT",
                   help="a checkpoint written by 'deepkern train translate' or 'deepkern train dates'")
    p.add_argument("--beam-width", type=positive_int, default=None, help="1: greedy (default: the training run's)")


def run(args) -> int:
    from ...train.task import load_checkpoint
    from ...train.tasks import dates, translate

    ckpt = load_checkpoint(args.checkpoint, ("translate", "dates"))
    texts = args.texts or [line.rstrip("\n") for line in sys.stdin if line.strip()]
    beam = args.beam_width or int(ckpt["args"]["beam_width"])
    if ckpt["task"] == "dates":
        outs = dates.translate(dates.load_model(ckpt), texts, beam)
    else:
        model, src_vocab, tgt_vocab = translate.load_model(ckpt)
        outs = translate.translate(model, src_vocab, tgt_vocab, texts, beam, float(ckpt["args"]["length_penalty"]),
                                   int(ckpt["args"]["max_len"]) + 10)
    for text, out in zip(texts, outs):
        print(f"{text} -> {out}")
    return 0
