"""``deepkern train charlm``: a character-level LSTM/GRU language model (char-rnn).

By default it trains on the 150 KB slice of Shakespeare shipped inside deepkern
(deepkern/data/text, public domain), so it runs on a fresh machine with no downloads;
``--text FILE`` takes any UTF-8 text (e.g. ../shared/data/tiny_shakespeare/input.txt, 1.1 MB).
The last ``--val-fraction`` of the text is held out. Training is truncated BPTT over
``--seq-len`` windows of ``--batch-size`` parallel streams (the state carries from one window
to the next, detached), with Adam and gradient clipping (clip_grad_norm_). Each epoch reports
the validation perplexity (against the unigram baseline: the perplexity of predicting
character frequencies) and prints a sample at ``--temperature``.

Sample from a trained model with ``deepkern sample --checkpoint charlm.dk``.
"""
from __future__ import annotations

import math

import numpy as np

from ...cli import existing_file, fraction, nonnegative_float, nonnegative_int, positive_float, positive_int
from ..task import Task, UsageError


def streams(ids, batch_size):
    """Cut a 1-D id array into ``batch_size`` contiguous streams: (batch_size, len(ids) // batch_size)."""
    n = len(ids) // batch_size
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


def perplexity(model, data, seq_len, device):
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


def read_text(path):
    """The training text: ``path`` (UTF-8) or, for None, the Shakespeare slice shipped with deepkern."""
    from deepkern.data import text as embedded

    if path is None:
        return embedded.load("tiny_shakespeare")
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except UnicodeDecodeError as e:
        raise UsageError("--text", f"{path} is not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise UsageError("--text", f"cannot read {path}: {e.strerror}") from None


def build_model(args, chars):
    from deepkern.models import CharRNN
    return CharRNN(len(chars), args.hidden, args.layers, cell=args.cell, embedding_dim=args.embedding,
                   dropout=args.dropout, chars=chars)


def load_model(ckpt):
    """The CharRNN of a charlm checkpoint (``deepkern.train.task.load_checkpoint``), in eval mode."""
    from types import SimpleNamespace

    model = build_model(SimpleNamespace(**ckpt["args"]), ckpt["state"]["chars"])
    model.load_state_dict(ckpt["state"]["model"])
    return model.eval()


class Charlm(Task):
    help = "character-level LSTM/GRU language model on Shakespeare or --text FILE; samples text"
    defaults = {"epochs": 5, "batch_size": 32, "lr": 2e-3}
    core_help = {"batch_size": "parallel text streams"}
    unused = ("data_dir",)
    resume_may_change = ("sample_length", "temperature", "seed_text")

    @classmethod
    def add_arguments(cls, p):
        a = p.add_argument
        a("--text", metavar="FILE", type=existing_file, default=None,
          help="UTF-8 training text (default: the Shakespeare slice shipped with deepkern)")
        a("--seq-len", type=positive_int, default=100, help="BPTT window length (characters)")
        a("--hidden", type=positive_int, default=256, help="hidden units per layer")
        a("--layers", type=positive_int, default=2)
        a("--embedding", type=positive_int, default=64, help="character embedding size")
        a("--cell", choices=["lstm", "gru"], default="lstm")
        a("--dropout", type=fraction, default=0.0, help="dropout between layers")
        a("--clip", type=positive_float, default=5.0, help="max global gradient norm (clip_grad_norm_)")
        a("--val-fraction", type=fraction, default=0.1, help="fraction of the text held out (its end)")
        a("--sample-length", type=nonnegative_int, default=300, help="characters sampled after each epoch (0: none)")
        a("--temperature", type=nonnegative_float, default=0.8, help="sampling temperature (0: greedy)")
        a("--seed-text", default=None, help="text the samples start from (default: the text's first character)")

    def setup(self):
        import deepkern as dk

        args = self.args
        text = read_text(args.text)
        if not text:
            raise UsageError("--text", f"{args.text} is empty")
        self.chars = "".join(sorted(set(text)))
        if args.seed_text is not None:
            missing = sorted(set(args.seed_text) - set(self.chars))
            if not args.seed_text or missing:
                what = f"has characters the text never uses: {''.join(missing)!r}" if missing else "is empty"
                raise UsageError("--seed-text", f"{what} (use characters of the training text)")
        self.seed_text = args.seed_text or text[0]
        index = {c: i for i, c in enumerate(self.chars)}
        ids = np.fromiter((index[c] for c in text), dtype=np.int64, count=len(text))
        n_val = max(int(len(ids) * args.val_fraction), args.seq_len + 1)
        train_ids, val_ids = ids[:-n_val], ids[-n_val:]
        if len(train_ids) // args.batch_size < 2:
            raise UsageError("--batch-size", f"{args.batch_size} streams need at least {2 * args.batch_size} "
                                             f"training characters; the text leaves {len(train_ids)} after holding "
                                             f"out {n_val} (use a longer --text or a smaller --batch-size)")
        self.train_data = streams(train_ids, args.batch_size)
        self.val_data = streams(val_ids, max(1, min(args.batch_size, len(val_ids) // (args.seq_len + 1))))
        self.baseline = unigram_perplexity(train_ids, val_ids, len(self.chars))
        self.model = build_model(args, self.chars).to(self.device)
        self.optimizer = dk.optim.Adam(self.model.parameters(), lr=args.lr)
        print(f"charlm: {len(text):,} characters, vocabulary {len(self.chars)}, "
              f"{self.model.num_parameters():,} parameters, {args.cell} {args.layers}x{args.hidden}; "
              f"unigram baseline perplexity {self.baseline:.2f}")

    def train_epoch(self, epoch):
        import deepkern as dk
        import deepkern.functional as F
        from deepkern._device import to_device

        args, model = self.args, self.model
        state, total, count = None, 0.0, 0
        n_windows = math.ceil((self.train_data.shape[1] - 1) / args.seq_len)
        with self.progress(windows(self.train_data, args.seq_len), total=n_windows) as bar:
            for x, y in bar:
                logits, state = model(to_device(x, self.device), state)
                loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), to_device(y.reshape(-1), self.device))
                self.optimizer.zero_grad()
                loss.backward()
                dk.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
                self.optimizer.step()
                state = model.detach_state(state)
                total += float(loss.item()) * y.size
                count += y.size
                bar.set_postfix(loss=f"{total / count:.3f}", refresh=False)
        return {"loss": total / count, "val_perplexity": perplexity(model, self.val_data, args.seq_len, self.device)}

    def on_epoch_end(self, logs):
        if self.args.sample_length:
            self.log(f"--- sample (temperature {self.args.temperature}) ---\n{self.sample()}\n---")

    def sample(self):
        # its own generator: printing samples (or not, with --quiet) leaves training's draws alone
        rng = np.random.default_rng([self.args.seed, len(self.history)])
        return self.model.sample(self.seed_text, self.args.sample_length, self.args.temperature, rng=rng)

    def state_dict(self):
        return {**super().state_dict(), "chars": self.chars}

    def load_state_dict(self, state):
        if state["chars"] != self.chars:
            raise UsageError("--text", "its characters differ from the checkpoint's vocabulary (resume with the "
                                       "text the run was trained on)")
        super().load_state_dict(state)

    def finish(self):
        ppl = self.history["val_perplexity"][-1] if len(self.history) else float("nan")
        print(f"validation perplexity {ppl:.2f} after {len(self.history)} epochs (unigram baseline "
              f"{self.baseline:.2f})")
        if self.args.sample_length:
            print(f"--- sample (temperature {self.args.temperature}) ---\n{self.sample()}\n---")
