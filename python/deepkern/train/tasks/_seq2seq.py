"""Shared by the ``dates`` and ``translate`` tasks: padding id sequences into batches, the
teacher-forced training loop of a deepkern.models.seq2seq.Seq2Seq, and batched decoding."""
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


def fit(model, src_seqs, tgt_seqs, epochs, batch_size, lr, clip=5.0, seed=0, progress=True, log=print):
    """Adam on the mean token cross-entropy, shuffled minibatches (sorted by source length
    within chunks of 20 batches to waste little padding), global-norm gradient clipping.
    Returns the mean training loss of each epoch."""
    import deepkern as dk
    from tqdm import tqdm

    rng = np.random.default_rng(seed)
    opt = dk.optim.Adam(model.parameters(), lr=lr)
    model.train()
    n, losses = len(src_seqs), []
    for epoch in range(1, epochs + 1):
        order = rng.permutation(n)
        chunk = 20 * batch_size
        order = np.concatenate([sorted(order[i:i + chunk], key=lambda j: len(src_seqs[j]))
                                for i in range(0, n, chunk)]).astype(np.int64)
        starts = rng.permutation(np.arange(0, n, batch_size))
        total, count = 0.0, 0
        bar = tqdm(starts, desc=f"epoch {epoch}/{epochs}", disable=not progress, leave=False)
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
            bar.set_postfix(loss=f"{total / count:.4f}")
        losses.append(total / max(count, 1))
        if log:
            log(f"epoch {epoch}/{epochs}: train loss {losses[-1]:.4f}")
    model.eval()
    return losses


def decode(model, src_seqs, batch_size=256, beam_width=1, max_len=50, alpha=0.7, progress=False, desc="decode"):
    """Output id lists for every source sequence, in batches."""
    from tqdm import tqdm

    out = []
    for s in tqdm(range(0, len(src_seqs), batch_size), desc=desc, disable=not progress, leave=False):
        src, lengths = pad(src_seqs[s:s + batch_size], model.pad_id)
        out += model.translate(src, lengths, beam_width=beam_width, max_len=max_len, alpha=alpha)
    return out
