"""Float32 rounding error of Winograd F(2x2, 3x3) and F(4x4, 3x3) against a direct convolution.

    python benchmarks/winograd_error.py [--seed 0]

The question behind deepkern's choice of tile: the project's accuracy rule (tests/helpers.
assert_matches_reference) accepts a float32 result whose maximum error against a float64
reference is within twice the error of the naive float32 computation (+ 16 ulps of the
largest value). This script computes, in NumPy, a 3x3 stride-1 convolution (padding 1) the
three ways, all in float32 with the filter transform done in float64 and rounded once (as
csrc/cpu/conv.cpp does):

- direct: im2col @ weights (float32 GEMM), the "naive" computation of the rule;
- F(2x2, 3x3) on the points 0, 1, -1, inf (Lavin & Gray 2015);
- F(4x4, 3x3) on the points 0, 1, -1, 2, -2, inf (the same paper's matrices);

and prints each one's maximum error against the float64 direct convolution, and its ratio to
the direct float32 error (the rule allows 2 plus a little), at network-like sizes: standard
normal inputs, He-scaled weights (what the layers' initialisation gives).
"""
from __future__ import annotations

import argparse

import numpy as np

F2 = dict(m=2,
          BT=[[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
          G=[[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]],
          AT=[[1, 1, 1, 0], [0, 1, -1, -1]])
F4 = dict(m=4,
          BT=[[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
              [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
          G=[[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
             [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
          AT=[[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]])


def direct(x, w, dtype):
    """conv2d, 3x3, padding 1, stride 1, as one im2col GEMM in ``dtype``."""
    n, c, h, wd = x.shape
    xp = np.pad(x.astype(dtype), ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.stack([xp[:, :, r:r + h, s:s + wd] for r in range(3) for s in range(3)], 2)  # n c 9 h w
    cols = cols.reshape(n, c * 9, h * wd)
    return (w.astype(dtype).reshape(w.shape[0], -1) @ cols).reshape(n, w.shape[0], h, wd)


def winograd(x, w, f):
    """conv2d, 3x3, padding 1, by Winograd F(m x m, 3 x 3) in float32 (filter transform in float64)."""
    m = f["m"]
    a = m + 2
    BT, G, AT = (np.asarray(f[k], np.float64) for k in ("BT", "G", "AT"))
    n, c, h, wd = x.shape
    th, tw = -(-h // m), -(-wd // m)
    xp = np.zeros((n, c, th * m + 2, tw * m + 2), np.float32)
    xp[:, :, 1:1 + h, 1:1 + wd] = x
    # tiles (n, c, th, tw, a, a): the (m+2)x(m+2) patches at stride m
    s = xp.strides
    d = np.lib.stride_tricks.as_strided(xp, (n, c, th, tw, a, a), (s[0], s[1], m * s[2], m * s[3], s[2], s[3]))
    bt = BT.astype(np.float32)
    v = np.einsum("ij,nctwjk,lk->nctwil", bt, d, bt, optimize=True).astype(np.float32)
    u = np.einsum("ij,kcjl,ml->kcim", G, w.astype(np.float64), G).astype(np.float32)  # (K, C, a, a)
    # per transformed position: M (n, K, tiles) = U (K, C) @ V (C, tiles), float32
    vm = v.transpose(4, 5, 0, 1, 2, 3).reshape(a, a, n, c, th * tw)
    um = u.transpose(2, 3, 0, 1)  # a a K C
    mm = np.matmul(um[:, :, None], vm)  # a a n K tiles
    mm = mm.reshape(a, a, n, -1, th, tw)
    at = AT.astype(np.float32)
    y = np.einsum("ij,jknotw,lk->notwil", at, mm, at, optimize=True).astype(np.float32)  # n K th tw m m
    y = y.transpose(0, 1, 2, 4, 3, 5).reshape(n, -1, th * m, tw * m)
    return y[:, :, :h, :wd]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    rng = np.random.default_rng(args.seed)
    print("| x shape | K | direct f32 error | F(2x2) error | F(2x2) / direct | F(4x4) error | F(4x4) / direct |")
    print("|---|---|---|---|---|---|---|")
    for (n, c, h, wd, k) in [(2, 64, 28, 28, 64), (1, 128, 14, 14, 128), (1, 256, 8, 8, 256), (1, 64, 56, 56, 64)]:
        x = rng.standard_normal((n, c, h, wd)).astype(np.float32)
        w = (rng.standard_normal((k, c, 3, 3)) * np.sqrt(2 / (9 * c))).astype(np.float32)
        ref = direct(x, w, np.float64)
        e_direct = np.abs(direct(x, w, np.float32) - ref).max()
        e2 = np.abs(winograd(x, w, F2) - ref).max()
        e4 = np.abs(winograd(x, w, F4) - ref).max()
        print(f"| {n}x{c}x{h}x{wd} | {k} | {e_direct:.2e} | {e2:.2e} | {e2 / e_direct:.2f} | {e4:.2e} "
              f"| {e4 / e_direct:.2f} |", flush=True)


if __name__ == "__main__":
    main()
