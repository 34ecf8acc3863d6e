import math

import numpy as np
import pytest

from deepkern.text import corpus_bleu, sentence_bleu

WORDS = "the a cat dog sat on mat rug and big small red".split()


def _corpus(seed, n=30):
    rng = np.random.default_rng(seed)
    hyps, refs = [], []
    for _ in range(n):
        ref = list(rng.choice(WORDS, rng.integers(1, 12)))
        hyp = [w if rng.random() < 0.7 else str(rng.choice(WORDS)) for w in ref]
        hyp = hyp[: max(1, len(hyp) - int(rng.integers(0, 3)))] + list(rng.choice(WORDS, rng.integers(0, 3)))
        extra = [list(rng.choice(WORDS, rng.integers(1, 12))) for _ in range(int(rng.integers(0, 3)))]
        hyps.append(hyp)
        refs.append([ref] + extra)
    return hyps, refs


@pytest.mark.parametrize("seed", range(4))
def test_corpus_bleu_equals_nltk(seed):
    bleu = pytest.importorskip("nltk.translate.bleu_score")
    hyps, refs = _corpus(seed)
    # NLTK counts max(1, len - n + 1) n-grams for a hypothesis shorter than n (sacrebleu and
    # deepkern count 0); the definitions agree on hypotheses of >= 4 tokens.
    hyps, refs = zip(*[(h, r) for h, r in zip(hyps, refs) if len(h) >= 4])
    assert corpus_bleu(hyps, refs) == pytest.approx(bleu.corpus_bleu(refs, hyps), rel=1e-12)
    sm = bleu.SmoothingFunction()
    assert corpus_bleu(hyps, refs, smoothing="floor") == pytest.approx(
        bleu.corpus_bleu(refs, hyps, smoothing_function=sm.method1), rel=1e-12)
    for h, r in zip(hyps[:10], refs[:10]):
        assert sentence_bleu(h, r, smoothing="floor") == pytest.approx(
            bleu.sentence_bleu(r, h, smoothing_function=sm.method1), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("smoothing", ["exp", "floor"])
def test_corpus_bleu_equals_sacrebleu(seed, smoothing):
    sacrebleu = pytest.importorskip("sacrebleu")
    hyps, refs = _corpus(seed)
    hyps = [h for h in hyps]
    nref = max(len(r) for r in refs)
    # sacrebleu takes reference streams; pad missing references with the first one (same max counts)
    streams = [[" ".join(r[i] if i < len(r) else r[0]) for r in refs] for i in range(nref)]
    theirs = sacrebleu.corpus_bleu([" ".join(h) for h in hyps], streams, smooth_method=smoothing,
                                   tokenize="none", force=True).score
    assert 100 * corpus_bleu(hyps, refs, smoothing=smoothing) == pytest.approx(theirs, rel=1e-9)


def test_edge_cases():
    ref = "the cat sat on the mat".split()
    assert sentence_bleu(ref, [ref]) == pytest.approx(1.0)
    assert sentence_bleu([], [ref]) == 0.0                                   # empty hypothesis
    assert sentence_bleu("dog dog dog dog".split(), [ref]) == 0.0              # no overlap
    assert sentence_bleu("dog dog dog dog".split(), [ref], smoothing="floor") > 0
    # clipping: "the" x7 counts at most twice (its count in the reference)
    assert sentence_bleu(["the"] * 7, [ref], max_n=1) == pytest.approx(2 / 7)
    # longer than the reference: no brevity penalty, precision falls
    longer = ref + ["today"]
    assert sentence_bleu(longer, [ref], max_n=1) == pytest.approx(6 / 7)
    # shorter: brevity penalty exp(1 - r/c), closest reference length chosen
    short = ref[:3]
    assert sentence_bleu(short, [ref], max_n=1) == pytest.approx(math.exp(1 - 6 / 3))
    assert sentence_bleu(short, [ref, ref[:4]], max_n=1) == pytest.approx(math.exp(1 - 4 / 3))
    # multiple references: an n-gram matches if any reference has it
    assert sentence_bleu("the dog sat".split(), [["the", "cat", "sat"], ["a", "dog", "ran"]], max_n=1) == 1.0
    assert sentence_bleu("the cat sat".split(), ["the cat sat"]) == 0.0   # shorter than 4-grams: p4 = 0


def test_errors():
    with pytest.raises(ValueError, match="smoothing must be None, 'floor' or 'exp', got 'add1'"):
        corpus_bleu([["a"]], [[["a"]]], smoothing="add1")
    with pytest.raises(ValueError, match="corpus_bleu: 2 hypotheses but 1 reference lists"):
        corpus_bleu([["a"], ["b"]], [[["a"]]])
    with pytest.raises(ValueError, match=r"references\[0\] must be a non-empty list"):
        corpus_bleu([["a"]], [[]])
