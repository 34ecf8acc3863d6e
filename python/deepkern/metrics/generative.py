"""Sample-quality metrics of generative models, from a classifier's outputs on the samples.

- ``classifier_score``: the Inception-score formula (Salimans et al. 2016) with any classifier:
  exp(E_x KL(p(y|x) ‖ p(y))), p(y) the mean of p(y|x) over the samples. It is high (up to the
  number of classes) when each sample is classified confidently (low-entropy p(y|x)) and the
  classes are evenly covered (high-entropy p(y)). With a LeNet trained on MNIST, MNIST's own test
  images score about 9.9 of 10.
- ``frechet_distance``: the Fréchet distance between two Gaussians fitted to features (the FID
  formula of Heusel et al. 2017, here on the classifier's penultimate layer rather than
  Inception's pool features): ‖μ₁ - μ₂‖² + Tr(Σ₁ + Σ₂ - 2 (Σ₁Σ₂)^½).

Both take NumPy arrays; (Σ₁Σ₂)^½'s trace is computed without scipy as Σ √λ over the eigenvalues λ of
the symmetric PSD matrix Σ₁^½ Σ₂ Σ₁^½ (similar to Σ₁Σ₂, so its square root has the same trace).
"""
from __future__ import annotations

import numpy as np

__all__ = ["classifier_score", "frechet_distance", "feature_statistics"]


def classifier_score(probs, splits=1, eps=1e-12):
    """(mean, std) over ``splits`` equal parts of exp(mean_x KL(p(y|x) ‖ p(y))).

    probs: (N, C) class probabilities per sample (rows sum to 1). With splits=1 the std is 0.
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] < 1:
        raise ValueError(f"classifier_score: probs must be (N, C) with N >= 1, got shape {p.shape}")
    if np.any(p < 0) or not np.allclose(p.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError("classifier_score: each row of probs must be a probability distribution (>= 0, sum 1)")
    if not 1 <= int(splits) <= len(p):
        raise ValueError(f"classifier_score: splits must be in [1, N={len(p)}], got {splits}")
    scores = []
    for part in np.array_split(p, int(splits)):
        marginal = part.mean(axis=0, keepdims=True)
        kl = (part * (np.log(part + eps) - np.log(marginal + eps))).sum(axis=1)
        scores.append(float(np.exp(kl.mean())))
    return float(np.mean(scores)), float(np.std(scores))


def feature_statistics(features):
    """(mean (D,), covariance (D, D)) of features (N, D), N >= 2, in float64."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"feature_statistics: features must be (N, D) with N >= 2, got shape {f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def _sqrt_psd(a):
    w, v = np.linalg.eigh((a + a.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1, cov1, mu2, cov2):
    """‖μ₁ - μ₂‖² + Tr(Σ₁) + Tr(Σ₂) - 2 Tr((Σ₁Σ₂)^½) of two Gaussians (means (D,), covariances
    (D, D))."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    cov1, cov2 = np.atleast_2d(np.asarray(cov1, np.float64)), np.atleast_2d(np.asarray(cov2, np.float64))
    d = mu1.shape[0]
    if mu1.shape != (d,) or mu2.shape != (d,) or cov1.shape != (d, d) or cov2.shape != (d, d):
        raise ValueError(f"frechet_distance: expected means (D,) and covariances (D, D) of one D, got "
                         f"{mu1.shape}, {cov1.shape}, {mu2.shape}, {cov2.shape}")
    root = _sqrt_psd(cov1)
    middle = np.linalg.eigvalsh((root @ cov2 @ root + (root @ cov2 @ root).T) / 2)
    trace_sqrt = float(np.sqrt(np.clip(middle, 0, None)).sum())
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2 * trace_sqrt)
