"""The 1-D GAN demo (deepkern.models.gan.train_gan_1d): a generator fed u ~ U(0, 1) learns to
sample a known distribution — the inverse-CDF sampling the course motivates GANs with, learned
from samples alone. Prints the Kolmogorov-Smirnov distance of 5,000 generated samples from the
target's CDF before and after training, and with --plot draws the empirical CDFs beside the
targets' (needs matplotlib).

    python benchmarks/gan_1d_demo.py --steps 3000 --plot docs/images/gan_1d_cdf.png
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", default=None, metavar="PNG")
    args = p.parse_args(argv)

    import deepkern as dk
    from deepkern.models.gan import TARGETS_1D, train_gan_1d

    results = {}
    for target in sorted(TARGETS_1D):
        dk.manual_seed(args.seed)
        start = time.perf_counter()
        r = train_gan_1d(target, steps=args.steps, seed=args.seed)
        results[target] = r
        print(f"{target:8s} KS distance {r['ks_before']:.3f} before training, {r['ks']:.3f} after {args.steps} "
              f"steps ({time.perf_counter() - start:.1f} s)")
    if args.plot:
        from matplotlib.figure import Figure
        fig = Figure(figsize=(9, 3.4), layout="constrained")
        for ax, (target, r) in zip(fig.subplots(1, len(results)), results.items()):
            x = np.linspace(min(r["target"].min(), r["samples"].min()), max(r["target"].max(), r["samples"].max()),
                            400)
            ax.plot(x, TARGETS_1D[target][1](x), label="target CDF")
            s = np.sort(r["samples"])
            ax.step(s, np.arange(1, len(s) + 1) / len(s), where="post", label="generated samples")
            ax.set_title(f"{target}: KS {r['ks']:.3f}")
            ax.legend(loc="upper left")
            ax.grid(alpha=0.3)
        fig.savefig(args.plot, dpi=100)
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
