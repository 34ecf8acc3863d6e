"""Decoding a sequence model: greedy search, beam search, and the course's error analysis.

The model is seen through one function, batched over N live hypotheses:

    step(tokens, state) -> (log_probs, new_state)
        tokens     (N,) int64, the last token of each hypothesis (``bos`` at the start)
        state      the model's state for those N rows (arrays / Tensors / nested tuples of them,
                   row i belonging to hypothesis i), ``init_state`` at the start
        log_probs  (N, V) log P(next token | prefix, x) as a NumPy array

Between steps the search keeps, reorders and duplicates rows with ``state[idx]`` (applied
recursively through tuples, lists and dicts), so any indexable state works.

Beam search keeps the B best prefixes per sentence by summed log-probability. Among the 2B best
one-token extensions, those ending in ``eos`` and ranked within the first B are set aside as
finished, the first B others go on. A sentence stops when B hypotheses have finished (or at
``max_len``, when its live prefixes count as finished). The answer is the finished hypothesis
with the best length-normalized score  (1 / T_y^α) Σ_t log P(y_t | ...)  where T_y counts the
output tokens including ``eos`` (α = 0 is the raw sum, α = 1 the mean; the course uses 0.7).
Width 1 is exactly greedy search.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["greedy_search", "beam_search", "sequence_log_prob", "error_analysis", "Hypothesis"]


@dataclass
class Hypothesis:
    tokens: list          # output tokens, without bos, with eos when it finished
    log_prob: float       # Σ log P
    score: float          # log_prob / len(tokens)**alpha


def _select(state, idx):
    if state is None:
        return None
    if isinstance(state, (tuple, list)):
        return type(state)(_select(s, idx) for s in state)
    if isinstance(state, dict):
        return {k: _select(v, idx) for k, v in state.items()}
    return state[idx]


def _normalized(log_prob, length, alpha):
    return log_prob / max(length, 1) ** alpha


def beam_search(step, init_state, batch_size, bos, eos, beam_width=3, max_len=50, alpha=0.7):
    """Beam search for ``batch_size`` sentences at once. Returns, per sentence, the list of its
    finished Hypothesis objects, best first (see the module docstring for the rules)."""
    if beam_width < 1 or max_len < 1:
        raise ValueError(f"beam_search: beam_width and max_len must be >= 1, got {beam_width}, {max_len}")
    B = int(beam_width)
    live = [[([], 0.0)] for _ in range(batch_size)]     # per sentence: (tokens, log_prob)
    rows = list(range(batch_size))                       # state row of each live hypothesis, in order
    finished = [[] for _ in range(batch_size)]
    state, tokens = init_state, np.full(batch_size, bos, dtype=np.int64)
    for t in range(max_len):
        if not rows:
            break
        logp, state = step(tokens, state)
        logp = np.asarray(logp, dtype=np.float64)
        new_live, new_rows, new_tokens = [], [], []
        r = 0
        for b in range(batch_size):
            hyps = live[b]
            if not hyps:
                new_live.append([])
                continue
            block = logp[r:r + len(hyps)]
            total = np.array([h[1] for h in hyps])[:, None] + block
            order = np.argsort(-total, axis=None, kind="stable")[:2 * B]
            keep = []
            for rank, flat in enumerate(order):
                k, v = divmod(int(flat), total.shape[1])
                toks, lp = hyps[k][0] + [v], float(total[k, v])
                if v == eos:
                    if rank < B:
                        finished[b].append(Hypothesis(toks, lp, _normalized(lp, len(toks), alpha)))
                elif len(keep) < B:
                    keep.append((toks, lp, r + k))
            if len(finished[b]) >= B or t == max_len - 1:
                if len(finished[b]) < B:
                    finished[b] += [Hypothesis(tk, lp, _normalized(lp, len(tk), alpha)) for tk, lp, _ in keep]
                keep = []
            new_live.append([(tk, lp) for tk, lp, _ in keep])
            new_rows += [row for _, _, row in keep]
            new_tokens += [tk[-1] for tk, _, _ in keep]
            r += len(hyps)
        live, rows = new_live, new_rows
        if rows:
            state = _select(state, np.asarray(rows, dtype=np.int64))
            tokens = np.asarray(new_tokens, dtype=np.int64)
    return [sorted(f, key=lambda h: -h.score) for f in finished]


def greedy_search(step, init_state, batch_size, bos, eos, max_len=50):
    """The most likely next token at every step, for ``batch_size`` sentences at once. Returns
    per sentence the output tokens (ending with ``eos`` unless ``max_len`` was reached)."""
    out = [[] for _ in range(batch_size)]
    alive = np.arange(batch_size)
    state, tokens = init_state, np.full(batch_size, bos, dtype=np.int64)
    for _ in range(max_len):
        logp, state = step(tokens, state)
        tokens = np.asarray(logp).argmax(axis=1).astype(np.int64)
        for row, b in enumerate(alive):
            out[b].append(int(tokens[row]))
        going = tokens != eos
        if not going.any():
            break
        idx = np.nonzero(going)[0]
        alive, tokens = alive[idx], tokens[idx]
        state = _select(state, idx)
    return out


def sequence_log_prob(step, init_state, bos, sequences):
    """log P(y | x) = Σ_t log P(y_t | y_<t, x) of given output sequences (one per row of
    ``init_state``, each a token list including its eos), by teacher forcing."""
    n = len(sequences)
    total = np.zeros(n)
    state, tokens = init_state, np.full(n, bos, dtype=np.int64)
    for t in range(max((len(s) for s in sequences), default=0)):
        logp, state = step(tokens, state)
        nxt = np.array([s[t] if t < len(s) else bos for s in sequences], dtype=np.int64)
        live = np.array([t < len(s) for s in sequences])
        total += np.where(live, np.asarray(logp)[np.arange(n), nxt], 0.0)
        tokens = nxt
    return total


def error_analysis(step, init_state, bos, y_hat, y_star, alpha=0.7):
    """The course's error analysis for one sentence x: compare the model's output ŷ (from beam
    search) with a human reference y*. If P(y*|x) > P(ŷ|x) the search missed a sequence the
    model prefers — beam search is at fault (widen the beam); otherwise the model ranks its
    wrong answer higher — the model (RNN) is at fault. The comparison uses the same
    length-normalized score as the search; raw sums are reported too.

    ``init_state`` is the state for this one sentence (a batch of 1); y_hat and y_star are token
    lists ending with eos."""
    lp = sequence_log_prob(step, _select(init_state, np.zeros(2, dtype=np.int64)), bos, [y_hat, y_star])
    norm_hat = _normalized(lp[0], len(y_hat), alpha)
    norm_star = _normalized(lp[1], len(y_star), alpha)
    fault = "beam search" if norm_star > norm_hat else "model"
    return {"log_p_hat": float(lp[0]), "log_p_star": float(lp[1]), "score_hat": float(norm_hat),
            "score_star": float(norm_star), "fault": fault}
