"""The face-verification experiment of docs/faces.md: every number there comes from this script.

Runs ``deepkern train faces`` (the command users run) for
  - fold 0 (the seeded split: 25 people train, 5 validation people choose the threshold, 10
    test): triplet loss with hard, semi-hard and random mining, the contrastive loss and the
    binary classifier head, with the eigenfaces baseline beside;
  - folds 1..3: the triplet loss with hard mining and the eigenfaces baseline, so every one of
    the 40 people is an unseen test person once (4 folds of 10);
then writes, into --out:
  - mining.png: training loss, fraction of active triplets and one-shot accuracy on the unseen
    people per epoch, random vs hard vs semi-hard mining, in one figure;
  - roc.png and projection.png (fold 0, hard mining, from the run itself);
  - summary.md: the table of every number, per fold and the mean over folds.

    python benchmarks/faces_experiment.py --out benchmarks/results/faces --jobs 2

Finished runs (results.json present) are not run again; extra arguments after ``--`` go to
every run (e.g. ``-- --epochs 2`` for a smoke test).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

RUNS = {
    "hard-fold0": ["--loss", "triplet", "--mining", "hard", "--fold", "0", "--baseline"],
    "semihard-fold0": ["--loss", "triplet", "--mining", "semihard", "--fold", "0"],
    "random-fold0": ["--loss", "triplet", "--mining", "random", "--fold", "0"],
    "contrastive-fold0": ["--loss", "contrastive", "--fold", "0"],
    "binary-fold0": ["--loss", "binary", "--fold", "0"],
    "hard-fold1": ["--loss", "triplet", "--mining", "hard", "--fold", "1", "--baseline"],
    "hard-fold2": ["--loss", "triplet", "--mining", "hard", "--fold", "2", "--baseline"],
    "hard-fold3": ["--loss", "triplet", "--mining", "hard", "--fold", "3", "--baseline"],
}


def run(name, out, extra):
    folder = out / name
    if (folder / "results.json").is_file():
        return name, 0.0
    folder.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "deepkern", "train", "faces", *RUNS[name], "--quiet", "--checkpoint",
           str(folder / "faces.dk"), "--out", str(folder), *extra]
    if (folder / "faces.dk").is_file():
        cmd.append("--resume")
    start = time.perf_counter()
    with open(folder / "log.txt", "a") as log:
        log.write(" ".join(cmd) + "\n")
        log.flush()
        subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=True)
    return name, time.perf_counter() - start


def mining_figure(out):
    from deepkern.train.callbacks import History
    from deepkern.train.faces import plot_mining_curves

    histories = {}
    for mining in ("random", "hard", "semihard"):
        saved = json.loads((out / f"{mining}-fold0" / "results.json").read_text())["history"]
        h = History()
        for e in range(len(saved["loss"])):
            h.append(e, {k: v[e] for k, v in saved.items()})
        histories[f"{mining} mining"] = h
    plot_mining_curves(histories, out / "mining.png", title="triplet loss on the ORL faces: which triplets train")


def summary(out, seconds):
    rows, folds = [], {"model": [], "eigenfaces": []}
    for name in RUNS:
        if not (out / name / "results.json").is_file():
            continue
        r = json.loads((out / name / "results.json").read_text())
        s = r["settings"]
        label = s["loss"] + (f" ({s['mining']} mining)" if s["loss"] == "triplet" else "")
        rows.append((name, label, r["model"], seconds.get(name)))
        if "eigenfaces" in r:
            rows.append((name, f"eigenfaces ({s['components']} components)", r["eigenfaces"], None))
            folds["eigenfaces"].append(r["eigenfaces"])
            folds["model"].append(r["model"])
    lines = ["| run | method | ROC AUC | accuracy (balanced, validation threshold) | one-shot 10-way |", "|---|---|---|---|---|"]
    for name, label, r, _ in rows:
        lines.append(f"| {name} | {label} | {r['auc']:.4f} | {r['accuracy']:.4f} | {r['one_shot']:.4f} |")
    n = len(folds["model"])
    which = "each person unseen once" if n == 4 else f"{n} of the 4 folds measured"
    lines += ["", f"Mean (min-max) over the identity folds ({which}):", "",
              "| method | ROC AUC | accuracy | one-shot 10-way |", "|---|---|---|---|"]
    for key, label in (("model", "triplet, hard mining"), ("eigenfaces", "eigenfaces")):
        cells = []
        for metric in ("auc", "accuracy", "one_shot"):
            v = [r[metric] for r in folds[key]]
            cells.append(f"{sum(v) / len(v):.4f} ({min(v):.3f}-{max(v):.3f})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/faces"))
    p.add_argument("--jobs", type=int, default=1, help="runs at once")
    p.add_argument("--only", nargs="*", default=None, help="run only these (names of RUNS)")
    p.add_argument("extra", nargs="*", help="arguments for every run (after --)")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    names = args.only or list(RUNS)
    seconds = {}
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for name, s in pool.map(lambda n: run(n, args.out, args.extra), names):
            seconds[name] = s
            print(f"{name}: done" + (f" in {s / 60:.1f} min" if s else " (already)"), flush=True)
    if args.only is None:
        mining_figure(args.out)
        summary(args.out, seconds)
        hard = args.out / "hard-fold0"
        for png in ("roc.png", "projection.png"):
            (args.out / png).write_bytes((hard / png).read_bytes())


if __name__ == "__main__":
    main()
