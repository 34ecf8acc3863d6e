"""Accuracy of Euclidean cdist through the GEMM, deepkern beside torch.cdist, in float32.

Both compute ||a||^2 + ||b||^2 - 2 a.b by a matrix product (PyTorch takes this "mm" path when
either set has more than 25 rows). Measured against the direct float64 sum of squared
differences, on the cases where the GEMM form is weakest: a set against itself (coincident
points on the diagonal), near points at large norm, and the gradient of sum(cdist(x, x)).

    python benchmarks/cdist_accuracy.py
"""
import numpy as np

import deepkern as dk
import deepkern.functional as F


def direct(x1, x2):
    return np.sqrt(((x1[:, None, :] - x2[None, :, :]) ** 2).sum(-1))


def direct_grad(x):
    """d sum(cdist(x, x)) / dx in float64, 0 for the coincident pairs."""
    diff = x[:, None, :] - x[None, :, :]
    d = np.sqrt((diff ** 2).sum(-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = np.where(d[..., None] > 0, diff / d[..., None], 0)
    return 2 * unit.sum(1)


def main():
    import torch

    rng = np.random.default_rng(0)
    rows = ["| case | quantity | deepkern | torch.cdist (mm path) |", "|---|---|---|---|"]
    for n, m, scale in [(256, 128, 3.0), (256, 64, 30.0)]:
        x = (rng.standard_normal((n, m)) * scale).astype(np.float32)
        x64 = x.astype(np.float64)
        ref = direct(x64, x64)
        ours = dk.ops.cdist(x, x)
        theirs = torch.cdist(torch.from_numpy(x), torch.from_numpy(x)).numpy()
        case = f"cdist(x, x), x {n}x{m}, norms ~{scale * np.sqrt(m):.0f}"
        rows.append(f"| {case} | max diagonal (exact: 0) | {np.abs(np.diag(ours)).max():.3g} | "
                    f"{np.abs(np.diag(theirs)).max():.3g} |")
        rows.append(f"| {case} | max error off the diagonal | {np.abs(ours - ref)[~np.eye(n, dtype=bool)].max():.3g} | "
                    f"{np.abs(theirs - ref)[~np.eye(n, dtype=bool)].max():.3g} |")
        t = dk.Tensor(x, requires_grad=True)
        F.cdist(t, t).sum().backward()
        tt = torch.from_numpy(x).requires_grad_()
        torch.cdist(tt, tt).sum().backward()
        g = direct_grad(x64)
        scale_g = np.abs(g).max()
        rows.append(f"| {case} | gradient of sum: max error / max abs gradient | "
                    f"{np.abs(t.grad.numpy() - g).max() / scale_g:.3g} | {np.abs(tt.grad.numpy() - g).max() / scale_g:.3g} |")
    base = rng.standard_normal(64) * 30
    x1 = (base + rng.standard_normal((40, 64)) * 1e-2).astype(np.float32)
    x2 = (base + rng.standard_normal((40, 64)) * 1e-2).astype(np.float32)
    ref = direct(x1.astype(np.float64), x2.astype(np.float64))
    ours = dk.ops.cdist(x1, x2)
    theirs = torch.cdist(torch.from_numpy(x1), torch.from_numpy(x2)).numpy()
    rows.append(f"| near points: 40x40 pairs ~0.14 apart at norm ~240 | max relative error | "
                f"{(np.abs(ours - ref) / ref).max():.3g} | {(np.abs(theirs - ref) / ref).max():.3g} |")
    print(f"deepkern {dk.__version__}, torch {torch.__version__}, float32\n")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
