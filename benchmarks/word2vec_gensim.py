"""deepkern's Word2Vec beside gensim's on the Brown corpus: training speed and quality in one run.

    python benchmarks/word2vec_gensim.py --repeats 3 --data-dir ../shared/data --out table.md

Both libraries get the same sentences (the Brown corpus, lower-cased, 1,161,192 tokens) and
the same settings — vector_size 100, window 5, min_count 5, sample 1e-3, 5 epochs, 2 workers —
for skip-gram with negative sampling (negative 5), skip-gram with hierarchical softmax and
CBOW with negative sampling. The vocabulary is built first; only ``train()`` is timed. words/s
is corpus words x epochs / training seconds (gensim's "raw words"; both drop the same unknown
words); words per CPU-second divides by the process's CPU time instead (all its threads), the
figure that stays meaningful on a machine shared with other jobs. Quality: accuracy on the analogy questions (questions-words.txt, gensim's
restricted-vocabulary rule, both models scored by the same evaluator) and the Spearman
correlation on WordSim-353 when --data-dir holds word_eval/wordsim353.tsv.

On a shared machine the runs are interleaved (deepkern, gensim, gensim, deepkern, ...) with a
new seed per repeat, and the load average is printed before and after: compare the ratio
within a repeat, not absolute numbers across runs. gensim is an optional dependency
(``pip install gensim``, in the ``bench`` extra).
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

CONFIGS = {"sg-ns": dict(sg=1, hs=0, negative=5), "sg-hs": dict(sg=1, hs=1, negative=0),
           "cbow-ns": dict(sg=0, hs=0, negative=5)}
COMMON = dict(vector_size=100, window=5, min_count=5, sample=1e-3, alpha=0.025, min_alpha=1e-4, epochs=5, workers=2)


def train_once(lib, sentences, config, seed):
    if lib == "deepkern":
        from deepkern.text import Word2Vec
    else:
        from gensim.models import Word2Vec
    model = Word2Vec(**COMMON, **config, seed=seed)
    model.build_vocab(sentences)
    t0, c0 = time.perf_counter(), time.process_time()
    model.train(sentences, total_examples=model.corpus_count, epochs=model.epochs)
    return model, time.perf_counter() - t0, time.process_time() - c0


def quality(model, questions, wordsim):
    """(analogy accuracy %, WordSim-353 Spearman) scored by deepkern's KeyedVectors for both."""
    from deepkern.text import KeyedVectors
    kv = KeyedVectors(model.wv.vector_size)
    kv.add_vectors(list(model.wv.index_to_key), model.wv.vectors)
    acc = 100 * kv.evaluate_word_analogies(questions)[0]
    rho = kv.evaluate_word_pairs(wordsim)[1][0] if wordsim else float("nan")
    return acc, rho


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--configs", nargs="+", choices=sorted(CONFIGS), default=list(CONFIGS))
    parser.add_argument("--data-dir", help="folder with word_eval/wordsim353.tsv (optional)")
    parser.add_argument("--out", help="also write the markdown table here")
    args = parser.parse_args()

    import gensim
    import numpy as np

    import deepkern
    from deepkern.text import corpora

    sentences = corpora.brown()
    n_words = sum(map(len, sentences))
    questions = corpora.questions_words()
    wordsim = None
    if args.data_dir:
        wordsim = corpora.word_eval_file("wordsim353", args.data_dir)
    load_before = os.getloadavg()
    rows = []
    results = {}
    for name in args.configs:
        for r in range(args.repeats):
            order = ("deepkern", "gensim") if r % 2 == 0 else ("gensim", "deepkern")
            for lib in order:
                model, seconds, cpu = train_once(lib, sentences, CONFIGS[name], seed=r)
                acc, rho = quality(model, questions, wordsim)
                wps = n_words * COMMON["epochs"] / seconds
                results.setdefault((name, lib), []).append((wps, seconds, acc, rho, n_words * COMMON["epochs"] / cpu))
                print(f"{name} repeat {r} {lib:8s}: {seconds:6.2f} s  {wps / 1e3:7.0f} kwords/s  "
                      f"{cpu:6.2f} CPU s  analogy {acc:5.2f}%  ws353 {rho:.3f}", flush=True)
    load_after = os.getloadavg()

    def med(values):
        return statistics.median(values)

    lines = ["| model | library | words/s (median) | train s (each) | words per CPU-second (median) | analogy % (mean) |"
             " WS-353 rho (mean) | speed ratio dk/gensim: wall, CPU (per repeat) |",
             "|---|---|---|---|---|---|---|---|"]
    for name in args.configs:
        dk_runs, gs_runs = results[(name, "deepkern")], results[(name, "gensim")]
        ratios = [f"{d[0] / g[0]:.2f}, {d[4] / g[4]:.2f}" for d, g in zip(dk_runs, gs_runs)]
        for lib, runs in (("deepkern", dk_runs), ("gensim", gs_runs)):
            lines.append(f"| {name} | {lib} | {med([x[0] for x in runs]) / 1e3:,.0f} k | "
                         f"{', '.join(f'{x[1]:.1f}' for x in runs)} | {med([x[4] for x in runs]) / 1e3:,.0f} k | "
                         f"{np.mean([x[2] for x in runs]):.2f} | "
                         f"{np.mean([x[3] for x in runs]):.3f} | "
                         f"{'; '.join(ratios) if lib == 'deepkern' else ''} |")
    header = (f"Brown corpus, {len(sentences):,} sentences, {n_words:,} words; {COMMON}; "
              f"{args.repeats} repeats per library, interleaved.\n"
              f"deepkern {deepkern.__version__} ({deepkern.info()['cpu_isa']} kernels), "
              f"gensim {gensim.__version__}, numpy {np.__version__}, Python {platform.python_version()}; "
              f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}); "
              f"load average before {load_before[0]:.1f} / after {load_after[0]:.1f}.\n")
    table = header + "\n" + "\n".join(lines) + "\n"
    print("\n" + table)
    if args.out:
        Path(args.out).write_text(table)


if __name__ == "__main__":
    main()
