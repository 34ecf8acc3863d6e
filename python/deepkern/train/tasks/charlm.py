"""``deepkern train charlm``: a character-level LSTM/GRU language model (char-rnn).

By default it trains on the 150 KB slice of Shakespeare shipped inside deepkern
(deepkern/data/text, public domain), so it runs on a fresh machine with no downloads;
``--text FILE`` takes any UTF-8 text (e.g. ../shared/data/tiny_shakespeare/input.txt, 1.1 MB).
The last 10% of the text is held out. Training is truncated BPTT over ``--seq-len`` windows of
``--batch-size`` parallel streams (the state carries from one window to the next, detached),
with Adam and gradient clipping (clip_grad_norm_). Each epoch reports the validation
perplexity (against the unigram baseline: the perplexity of predicting character frequencies)
and prints a sample at ``--temperature``.
"""
from __future__ import annotations

import math

import numpy as np

HELP = "character-level LSTM/GRU language model on Shakespeare (embedded text or --text FILE); samples text"


def add_arguments(parser):
    parser.add_argument("--text", metavar="FILE", default=None,
                        help="UTF-8 training text (default: the Shakespeare slice shipped with deepkern)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seq-len", type=int, default=100, help="BPTT window length (characters)")
    parser.add_argument("--batch-size", type=int, default=32, help="parallel text streams")
    parser.add_argument("--hidden", type=int, default=256, help="hidden units per layer")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--embedding", type=int, default=64, help="character embedding size")
    parser.add_argument("--cell", choices=["lstm", "gru"], default="lstm")
    parser.add_argument("--dropout", type=float, default=0.0, help="dropout between layers")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--clip", type=float, default=5.0, help="max global gradient norm (clip_grad_norm_)")
    parser.add_argument("--val-fraction", type=float, default=0.1)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--sample-length", type=int, default=300)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--seed-text", default=None, help="text the samples start from (default: the text's "
                        "first character)")
    parser.add_argument("--checkpoint", metavar="PATH", default=None, help="save the trained model here")
    parser.add_argument("--seed", type=int, default=0)


def streams(ids, batch_size):
    """Cut a 1-D id array into ``batch_size`` contiguous streams: (batch_size, N // batch_size)."""
    n = len(ids) // batch_size
    if n < 2:
        raise ValueError(f"charlm: {len(ids)} characters are too few for {batch_size} streams")
    return ids[:n * batch_size].reshape(batch_size, n)


def windows(data, seq_len):
    """(inputs, targets) windows of ``seq_len`` steps over streams (B, N); targets are shifted by 1."""
    for start in range(0, data.shape[1] - 1, seq_len):
        stop = min(start + seq_len, data.shape[1] - 1)
        yield data[:, start:stop], data[:, start + 1:stop + 1]


def unigram_perplexity(train_ids, val_ids, vocab_size):
    """Perplexity on val of predicting each character by its (add-one smoothed) train frequency."""
    counts = np.bincount(train_ids, minlength=vocab_size) + 1.0
    logp = np.log(counts / counts.sum())
    return float(np.exp(-logp[val_ids].mean()))


def evaluate(model, data, seq_len, device):
    """Validation perplexity: exp(mean next-character cross-entropy) over streams (B, N)."""
    import deepkern.functional as F
    from deepkern import no_grad
    from deepkern._device import to_device

    total, count, state = 0.0, 0, None
    model.eval()
    with no_grad():
        for x, y in windows(data, seq_len):
            logits, state = model(to_device(x, device), state)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), to_device(y.reshape(-1), device))
            total += float(loss.item()) * y.size
            count += y.size
    model.train()
    return math.exp(total / max(count, 1))


def train_charlm(text, *, epochs=5, seq_len=100, batch_size=32, hidden=256, layers=2, embedding=64, cell="lstm",
                 dropout=0.0, lr=2e-3, clip=5.0, val_fraction=0.1, device="cpu", sample_length=0,
                 temperature=0.8, seed_text=None, seed=0, progress=True, log=print):
    """Train a CharRNN on ``text``; returns (model, history) with history a list of per-epoch
    dicts (train_loss, val_perplexity, unigram_perplexity)."""
    from tqdm import tqdm

    import deepkern as dk
    import deepkern.functional as F
    from deepkern._device import to_device
    from deepkern.models import CharRNN

    dk.manual_seed(seed)
    chars = "".join(sorted(set(text)))
    index = {c: i for i, c in enumerate(chars)}
    ids = np.fromiter((index[c] for c in text), dtype=np.int64, count=len(text))
    n_val = max(int(len(ids) * val_fraction), seq_len + 1)
    train_ids, val_ids = ids[:-n_val], ids[-n_val:]
    train = streams(train_ids, batch_size)
    val = streams(val_ids, max(1, min(batch_size, len(val_ids) // (seq_len + 1))))
    model = CharRNN(len(chars), hidden, layers, cell=cell, embedding_dim=embedding, dropout=dropout, chars=chars)
    model.to(device)
    opt = dk.optim.Adam(model.parameters(), lr=lr)
    baseline = unigram_perplexity(train_ids, val_ids, len(chars))
    log(f"charlm: {len(text):,} characters, vocabulary {len(chars)}, {model.num_parameters():,} parameters, "
        f"{cell} {layers}x{hidden}; unigram baseline perplexity {baseline:.2f}")
    history = []
    n_windows = math.ceil((train.shape[1] - 1) / seq_len)
    for epoch in range(1, epochs + 1):
        state, total, count = None, 0.0, 0
        bar = tqdm(windows(train, seq_len), total=n_windows, desc=f"epoch {epoch}/{epochs}", disable=not progress,
                   leave=False)
        for x, y in bar:
            logits, state = model(to_device(x, device), state)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), to_device(y.reshape(-1), device))
            opt.zero_grad()
            loss.backward()
            dk.nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            state = model.detach_state(state)
            total += float(loss.item()) * y.size
            count += y.size
            bar.set_postfix(loss=f"{total / count:.3f}")
        val_ppl = evaluate(model, val, seq_len, device)
        history.append({"epoch": epoch, "train_loss": total / count, "val_perplexity": val_ppl,
                        "unigram_perplexity": baseline})
        log(f"epoch {epoch}: train loss {total / count:.3f}, validation perplexity {val_ppl:.2f} "
            f"(unigram {baseline:.2f})")
        if sample_length:
            log(f"--- sample (temperature {temperature}) ---\n"
                f"{model.sample(seed_text or text[0], sample_length, temperature)}\n---")
    return model, history


def run(args) -> int:
    import deepkern as dk
    from deepkern.data import text as embedded

    if args.text is None:
        text = embedded.load("tiny_shakespeare")
    else:
        with open(args.text, encoding="utf-8") as f:
            text = f.read()
    model, _ = train_charlm(text, epochs=args.epochs, seq_len=args.seq_len, batch_size=args.batch_size,
                            hidden=args.hidden, layers=args.layers, embedding=args.embedding, cell=args.cell,
                            dropout=args.dropout, lr=args.lr, clip=args.clip, val_fraction=args.val_fraction,
                            device=args.device, sample_length=args.sample_length, temperature=args.temperature,
                            seed_text=args.seed_text, seed=args.seed)
    if args.checkpoint:
        dk.save({"model": model.state_dict(), "chars": model.chars, "cell": args.cell, "hidden": args.hidden,
                 "layers": args.layers, "embedding": args.embedding}, args.checkpoint)
        print(f"saved {args.checkpoint}")
    return 0
