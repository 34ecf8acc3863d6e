"""Generate text with a character-level language model trained by 'deepkern train charlm':
the seed text, then characters drawn one at a time at the given temperature."""
from .. import UsageError, nonnegative_float, nonnegative_int

HELP = "generate text with a 'train charlm' checkpoint"
USAGE = "--checkpoint CKPT"


def add_arguments(p):
    p.add_argument("--checkpoint", required=True, metavar="CKPT", help="a checkpoint written by 'deepkern train charlm'")
    p.add_argument("--seed-text", default=None, help="text to start from (default: a newline, or the vocabulary's "
                                                     "first character)")
    p.add_argument("--length", type=nonnegative_int, default=500, help="characters to generate")
    p.add_argument("--temperature", type=nonnegative_float, default=0.8, help="below 1: more conservative; 0: greedy")
    p.add_argument("--seed", type=nonnegative_int, default=None, help="seed of the draws (default: fresh each run)")


def run(args) -> int:
    import numpy as np

    from ...train.task import load_checkpoint
    from ...train.tasks import charlm

    model = charlm.load_model(load_checkpoint(args.checkpoint, ("charlm",)))
    seed_text = args.seed_text if args.seed_text is not None else ("\n" if "\n" in model.chars else model.chars[0])
    missing = sorted(set(seed_text) - set(model.chars))
    if not seed_text or missing:
        what = f"has characters the model never saw: {''.join(missing)!r}" if missing else "is empty"
        raise UsageError("--seed-text", f"{what} (its vocabulary: {model.chars!r})")
    print(model.sample(seed_text, args.length, args.temperature, rng=np.random.default_rng(args.seed)))
    return 0
