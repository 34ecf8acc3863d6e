"""Augmentation transforms: shapes on samples and batches, determinism from the generator,
the values they produce, and argument errors."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import deepkern as dk
from deepkern.data import transforms as T


def _images(shape, seed=0):
    return np.random.default_rng(seed).random(shape).astype(np.float32)


@given(n=st.integers(0, 5), c=st.integers(1, 3), h=st.integers(1, 9), w=st.integers(1, 9),
       pad=st.integers(0, 3), data=st.data())
def test_random_crop_windows_of_the_padded_image(n, c, h, w, pad, data):
    th = data.draw(st.integers(1, h + 2 * pad))
    tw = data.draw(st.integers(1, w + 2 * pad))
    x = _images((n, c, h, w))
    out = T.RandomCrop((th, tw), padding=pad, fill=-1.0)(x, rng=np.random.default_rng(1))
    assert out.shape == (n, c, th, tw) and out.dtype == x.dtype
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=-1.0)
    for k in range(n):
        windows = [padded[k, :, i:i + th, j:j + tw] for i in range(h + 2 * pad - th + 1)
                   for j in range(w + 2 * pad - tw + 1)]
        assert any(np.array_equal(out[k], win) for win in windows)


def test_crop_offsets_vary_per_image_and_are_seeded():
    x = np.repeat(_images((1, 1, 6, 6)), 32, axis=0)
    crop = T.RandomCrop(6, padding=2)
    a = crop(x, rng=np.random.default_rng(0))
    b = crop(x, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(a, b)
    assert len({a[k].tobytes() for k in range(32)}) > 1


@pytest.mark.parametrize("shape", [(5, 7), (2, 5, 7), (3, 2, 5, 7)])
def test_sample_and_batch_layouts(shape):
    x = _images(shape)
    rng = np.random.default_rng(0)
    for t in (T.RandomCrop((4, 6), padding=1), T.RandomHorizontalFlip(), T.GaussianNoise(0.1),
              T.Normalize(0.5, 0.25)):
        out = t(x, rng=rng)
        expect = shape[:-2] + (4, 6) if isinstance(t, T.RandomCrop) else shape
        assert out.shape == expect, type(t).__name__


def test_horizontal_flip():
    x = _images((64, 2, 3, 4))
    out = T.RandomHorizontalFlip(p=0.5)(x, rng=np.random.default_rng(3))
    flipped = np.array([np.array_equal(o, xi[..., ::-1]) for o, xi in zip(out, x)])
    kept = np.array([np.array_equal(o, xi) for o, xi in zip(out, x)])
    assert np.all(flipped | kept) and flipped.any() and kept.any()
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(x), x[..., ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0.0)(x), x)


def test_normalize_per_channel():
    x = _images((4, 3, 2, 2)).astype(np.float64)
    mean, std = [0.1, 0.2, 0.3], [0.5, 1.0, 2.0]
    out = T.Normalize(mean, std)(x)
    expect = (x - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]
    np.testing.assert_allclose(out, expect, rtol=1e-15)
    assert T.Normalize(0.5, 2.0)(x[0]).dtype == np.float64
    assert T.Normalize(0.5, 2.0)(x.astype(np.float32)).dtype == np.float32


def test_gaussian_noise_statistics_and_determinism():
    x = np.zeros((200, 1, 10, 10), np.float32)
    noise = T.GaussianNoise(std=0.5, mean=1.0)
    a = noise(x, rng=np.random.default_rng(9))
    np.testing.assert_array_equal(a, noise(x, rng=np.random.default_rng(9)))
    assert a.dtype == np.float32
    # 20,000 draws: the sample mean and std are within 5 standard errors of 1.0 and 0.5
    assert abs(a.mean() - 1.0) < 5 * 0.5 / np.sqrt(a.size)
    assert abs(a.std() - 0.5) < 5 * 0.5 / np.sqrt(2 * a.size)


def test_compose_and_manual_seed():
    t = T.Compose([T.RandomCrop(5, padding=2), T.RandomHorizontalFlip(), lambda a: a * 2,
                   T.Normalize(1.0, 2.0)])
    x = _images((3, 1, 5, 5))
    dk.manual_seed(11)
    a = t(x)
    dk.manual_seed(11)
    np.testing.assert_array_equal(a, t(x))
    np.testing.assert_array_equal(t(x, rng=np.random.default_rng(2)), t(x, rng=np.random.default_rng(2)))
    assert "RandomCrop" in repr(t)


def test_transform_errors():
    x = _images((2, 3, 4, 4))
    with pytest.raises(ValueError, match=r"RandomCrop: crop size \(9, 9\) is larger than the padded image \(6, 6\)"):
        T.RandomCrop(9, padding=1)(x)
    with pytest.raises(ValueError, match=r"RandomCrop: padding must be >= 0, got -1"):
        T.RandomCrop(3, padding=-1)
    with pytest.raises(ValueError, match=r"Normalize: mean has 2 values but x has 3 channels"):
        T.Normalize([0.1, 0.2], 1.0)(x)
    with pytest.raises(ValueError, match=r"Normalize: std must be > 0"):
        T.Normalize(0.0, [1.0, 0.0])
    with pytest.raises(TypeError, match="Normalize: expected a floating-point array, got uint8"):
        T.Normalize(0.0, 1.0)(np.zeros((1, 2, 2), np.uint8))
    with pytest.raises(ValueError, match=r"RandomHorizontalFlip: p must be in \[0.0, 1.0\], got 1.5"):
        T.RandomHorizontalFlip(1.5)
    with pytest.raises(ValueError, match=r"RandomCrop: expected an image .* got shape \(4,\)"):
        T.RandomCrop(2)(np.zeros(4, np.float32))
    with pytest.raises(TypeError, match="Compose: every transform must be callable"):
        T.Compose([1])
