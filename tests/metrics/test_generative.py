import numpy as np
import pytest

from deepkern.metrics import classifier_score, feature_statistics, frechet_distance


def test_classifier_score_bounds():
    confident_even = np.eye(10)[np.arange(1000) % 10]
    assert classifier_score(confident_even)[0] == pytest.approx(10.0, rel=1e-6)
    one_class = np.tile(np.eye(10)[3], (100, 1))
    assert classifier_score(one_class)[0] == pytest.approx(1.0, rel=1e-6)
    unsure = np.full((50, 10), 0.1)
    assert classifier_score(unsure)[0] == pytest.approx(1.0, rel=1e-6)
    # two equally likely classes, each sample certain: exp(log 2) = 2
    mean, std = classifier_score(np.eye(2)[np.arange(100) % 2], splits=5)
    assert mean == pytest.approx(2.0) and std == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="each row of probs must be a probability distribution"):
        classifier_score(np.full((3, 4), 0.5))
    with pytest.raises(ValueError, match=r"splits must be in \[1, N=3\], got 4"):
        classifier_score(np.eye(3), splits=4)


def test_frechet_distance_against_closed_forms():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((6, 6))
    cov = a @ a.T + np.eye(6)
    mu = rng.standard_normal(6)
    assert frechet_distance(mu, cov, mu, cov) == pytest.approx(0.0, abs=1e-8)
    # 1-D: (m1 - m2)^2 + (s1 - s2)^2
    assert frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx(4 + 1)
    # commuting (diagonal) covariances: sum of (sqrt(a) - sqrt(b))^2
    d1, d2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 4.0, 1.0])
    assert frechet_distance(np.zeros(3), np.diag(d1), np.ones(3), np.diag(d2)) == pytest.approx(3 + 1 + 0 + 4)
    scipy_linalg = pytest.importorskip("scipy.linalg")
    b = rng.standard_normal((6, 6))
    cov2 = b @ b.T + 0.5 * np.eye(6)
    mu2 = rng.standard_normal(6)
    ref = (mu - mu2) @ (mu - mu2) + np.trace(cov + cov2 - 2 * scipy_linalg.sqrtm(cov @ cov2).real)
    assert frechet_distance(mu, cov, mu2, cov2) == pytest.approx(ref, rel=1e-8)


def test_feature_statistics():
    f = np.random.default_rng(1).standard_normal((500, 3))
    mu, cov = feature_statistics(f)
    np.testing.assert_allclose(mu, f.mean(0))
    np.testing.assert_allclose(cov, np.cov(f.T))
    with pytest.raises(ValueError, match=r"features must be \(N, D\) with N >= 2"):
        feature_statistics(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="expected means"):
        frechet_distance(np.zeros(2), np.eye(3), np.zeros(2), np.eye(2))
