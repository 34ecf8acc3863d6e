"""Shared by the ``dates`` and ``translate`` tasks: padding id sequences into batches, one
teacher-forced training epoch of a deepkern.models.seq2seq.Seq2Seq, and batched decoding."""
from __future__ import annotations

import numpy as np


def pad(seqs, pad_id, length=None):
    """Id lists -> (B, T) int64 padded with pad_id, and the lengths (B,)."""
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    T = int(lengths.max(initial=1)) if length is None else length
    out = np.full((len(seqs), T), pad_id, dtype=np.int64)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = s[:T]
    return out, np.minimum(lengths, T)


def batch(src_seqs, tgt_seqs, pad_id, bos_id, eos_id):
    """(src (B, Tx), src_lengths, tgt_in (B, Ty) = bos + y, tgt_out (B, Ty) = y + eos)."""
    src, lengths = pad(src_seqs, pad_id)
    tgt_in, _ = pad([[bos_id] + list(t) for t in tgt_seqs], pad_id)
    tgt_out, _ = pad([list(t) + [eos_id] for t in tgt_seqs], pad_id)
    return src, lengths, tgt_in, tgt_out


def train_epoch(task, src_seqs, tgt_seqs, clip=5.0):
    """One epoch of ``task.model`` with ``task.optimizer`` on the mean token cross-entropy:
    minibatches of ``--batch-size`` in an order drawn from ``task.rng`` (sorted by source length
    within chunks of 20 batches to waste little padding), global-norm gradient clipping.
    Returns the epoch's mean training loss."""
    import deepkern as dk

    model, opt, rng, batch_size = task.model, task.optimizer, task.rng, task.args.batch_size
    n = len(src_seqs)
    order = rng.permutation(n)
    chunk = 20 * batch_size
    order = np.concatenate([sorted(order[i:i + chunk], key=lambda j: len(src_seqs[j]))
                            for i in range(0, n, chunk)]).astype(np.int64)
    starts = rng.permutation(np.arange(0, n, batch_size))
    total, count = 0.0, 0
    model.train()
    with task.progress(starts) as bar:
        for s in bar:
            idx = order[s:s + batch_size]
            src, lengths, tgt_in, tgt_out = batch([src_seqs[i] for i in idx], [tgt_seqs[i] for i in idx],
                                                  model.pad_id, model.bos_id, model.eos_id)
            loss = model.loss(src, tgt_in, tgt_out, lengths)
            opt.zero_grad()
            loss.backward()
            dk.nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            total, count = total + loss.item() * len(idx), count + len(idx)
            bar.set_postfix(loss=f"{total / count:.4f}", refresh=False)
    model.eval()
    return total / max(count, 1)


def decode(model, src_seqs, batch_size=256, beam_width=1, max_len=50, alpha=0.7, progress=False, desc="decode"):
    """Output id lists for every source sequence, in batches."""
    from tqdm.auto import tqdm

    out = []
    for s in tqdm(range(0, len(src_seqs), batch_size), desc=desc, disable=not progress, leave=False):
        src, lengths = pad(src_seqs[s:s + batch_size], model.pad_id)
        out += model.translate(src, lengths, beam_width=beam_width, max_len=max_len, alpha=alpha)
    return out
