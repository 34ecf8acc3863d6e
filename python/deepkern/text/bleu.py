"""BLEU (Papineni et al. 2002): sentence and corpus scores, NLTK's and sacrebleu's definition.

    corpus_bleu(hypotheses, references)      # hypotheses: [tokens]; references: [[tokens, ...]]
    sentence_bleu(hypothesis, references)

BLEU = BP · exp(Σ_n w_n log p_n), n = 1..max_n, uniform weights w_n = 1/max_n, where p_n is the
*clipped* (modified) n-gram precision: each hypothesis n-gram counts at most as often as it
appears in any single reference. For a corpus the clipped counts and totals are summed over all
sentences before dividing (not an average of sentence scores). The brevity penalty
BP = exp(1 − r/c) when the hypothesis length c is shorter than r, else 1, where r is the
reference length closest to the hypothesis (the shorter one on a tie), summed over the corpus.

Scores are in [0, 1] (NLTK's scale; sacrebleu reports 100×). Without smoothing any p_n = 0
gives BLEU 0. ``smoothing``:
  - ``"floor"``: a zero count becomes ``floor`` (default 0.1) / total — NLTK's
    ``SmoothingFunction().method1`` and sacrebleu's ``smooth_method='floor'``;
  - ``"exp"``: the k-th zero count (k = 1, 2, ...) becomes 1 / 2^k — NLTK's ``method3``
    and sacrebleu's default ``'exp'``.

A hypothesis shorter than n has no n-grams (total 0), as in sacrebleu; NLTK counts one, so its
corpus score differs when such hypotheses are present.

Tokenization matters as much as the formula: pass lists of tokens (strings are split on
whitespace). Scores are comparable only under one tokenization; sacrebleu's "13a" tokenizer
splits punctuation off, so a raw-text sacrebleu score differs from one on whitespace tokens.
"""
from __future__ import annotations

import math
from collections import Counter

__all__ = ["corpus_bleu", "sentence_bleu", "ngram_counts"]


def _tokens(x):
    return x.split() if isinstance(x, str) else list(x)


def ngram_counts(tokens, n):
    """Counter of the n-grams (tuples) of a token list."""
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def _closest_length(refs, c):
    return min((abs(len(r) - c), len(r)) for r in refs)[1]


def _stats(hyp, refs, max_n):
    """(clipped matches per n, totals per n, hypothesis length, closest reference length)."""
    matches, totals = [], []
    for n in range(1, max_n + 1):
        counts = ngram_counts(hyp, n)
        most = Counter()
        for r in refs:
            for g, k in ngram_counts(r, n).items():
                most[g] = max(most[g], k)
        matches.append(sum(min(k, most[g]) for g, k in counts.items()))
        totals.append(max(len(hyp) - n + 1, 0))
    return matches, totals, len(hyp), _closest_length(refs, len(hyp))


def _score(matches, totals, c, r, max_n, smoothing, floor):
    if c == 0:
        return 0.0
    logs, zeros = [], 0
    for m, t in zip(matches, totals):
        if m > 0:
            logs.append(math.log(m / t))
        elif smoothing is None or t == 0:
            return 0.0
        elif smoothing == "floor":
            logs.append(math.log(floor / t))
        else:  # "exp"
            zeros += 1
            logs.append(math.log(1.0 / 2 ** zeros))
    bp = 1.0 if c > r else math.exp(1 - r / c)
    return bp * math.exp(sum(logs) / max_n)


def _check(smoothing, max_n):
    if smoothing not in (None, "floor", "exp"):
        raise ValueError(f"bleu: smoothing must be None, 'floor' or 'exp', got {smoothing!r}")
    if not isinstance(max_n, int) or max_n < 1:
        raise ValueError(f"bleu: max_n must be an int >= 1, got {max_n!r}")


def corpus_bleu(hypotheses, references, max_n=4, smoothing=None, floor=0.1):
    """Corpus BLEU in [0, 1]. ``hypotheses``: a list of token lists (or strings);
    ``references``: per hypothesis, a list of one or more reference token lists (or strings)."""
    _check(smoothing, max_n)
    if len(hypotheses) != len(references):
        raise ValueError(f"corpus_bleu: {len(hypotheses)} hypotheses but {len(references)} reference lists")
    matches, totals, c, r = [0] * max_n, [0] * max_n, 0, 0
    for i, (hyp, refs) in enumerate(zip(hypotheses, references)):
        if isinstance(refs, str) or not refs:
            raise ValueError(f"corpus_bleu: references[{i}] must be a non-empty list of references, got {refs!r}")
        m, t, hc, rc = _stats(_tokens(hyp), [_tokens(x) for x in refs], max_n)
        matches = [a + b for a, b in zip(matches, m)]
        totals = [a + b for a, b in zip(totals, t)]
        c, r = c + hc, r + rc
    return _score(matches, totals, c, r, max_n, smoothing, floor)


def sentence_bleu(hypothesis, references, max_n=4, smoothing=None, floor=0.1):
    """BLEU of one hypothesis against one or more references (a one-sentence corpus)."""
    return corpus_bleu([hypothesis], [references], max_n, smoothing, floor)
