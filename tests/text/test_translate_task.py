import gzip

import numpy as np
import pytest

import deepkern as dk
from deepkern import cli


@pytest.fixture
def tiny_corpus(tmp_path):
    """A toy parallel corpus: the target is the source word by word through a fixed dictionary,
    with the first two words swapped (so the decoder must look at the right source word)."""
    rng = np.random.default_rng(0)
    src_words = [f"w{i}" for i in range(12)]
    lexicon = {w: f"v{i}" for i, w in enumerate(src_words)}

    def pair():
        s = list(rng.choice(src_words, rng.integers(3, 6)))
        t = [lexicon[w] for w in s]
        t[0], t[1] = t[1], t[0]
        return " ".join(s), " ".join(t)
    for split, n in (("train", 1500), ("test_2016_flickr", 60)):
        pairs = [pair() for _ in range(n)]
        for lang, col in (("en", 0), ("de", 1)):
            with gzip.open(tmp_path / f"{split}.{lang}.gz", "wt", encoding="utf-8") as f:
                f.write("\n".join(p[col] for p in pairs) + "\n")
    return tmp_path


def test_translate_task_reports_bleu(tiny_corpus, tmp_path, capsys):
    n = dk.get_num_threads()
    dk.set_num_threads(1)  # many tiny per-step kernels: no barrier costs on a shared box
    try:
        assert cli.main(["train", "translate", "--data-dir", str(tiny_corpus), "--epochs", "4", "--embedding", "16",
                         "--hidden", "32", "--batch-size", "32", "--lr", "1e-2", "--beam-width", "2", "--quiet",
                         "--checkpoint", str(tmp_path / "t.dk")]) == 0
    finally:
        dk.set_num_threads(n)
    out = capsys.readouterr().out
    bleu = float(out.split("corpus BLEU on test_2016_flickr (60 sentences, beam 2): ")[1].split()[0])
    assert bleu > 30
