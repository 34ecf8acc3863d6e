"""Neural style transfer: the loss terms (values against the course's formulas, gradients by
finite differences on a tiny network), the input checks, and short seeded runs that must
lower the objective: with random VGG16 weights always, with the real weights where available
(the measured criteria of the README at a small size)."""
import os
from pathlib import Path

import numpy as np
import pytest

import deepkern as dk
import deepkern.functional as F
import deepkern.nn as nn
from deepkern.models import pretrained
from deepkern.models.pretrained import CAFFE_BGR, TORCHVISION
from deepkern.models.style import (MIN_SIZE, StyleTransferLoss, VGGFeatures, as_image, normalize_input,
                                   style_transfer)
from deepkern.models.vgg import VGG
from tests.helpers import gradcheck

IMAGES = Path(dk.__file__).parent / "data" / "images"


class Tiny(nn.Module):
    """Two smooth (tanh) conv layers standing in for VGG16 in gradient checks."""
    layers = ("a", "b")

    def __init__(self, fmt=TORCHVISION):
        super().__init__()
        dk.manual_seed(0)
        self.c1 = nn.Conv2d(3, 4, 3, padding=1).double()
        self.c2 = nn.Conv2d(4, 5, 3, padding=1).double()
        for p in self.parameters():
            p.requires_grad = False
        self.fmt = fmt

    def forward(self, image):
        a = F.tanh(self.c1(normalize_input(image, self.fmt)))
        b = F.tanh(self.c2(F.avg_pool2d(a, 2)))
        return {"a": a, "b": b}


def images(seed, shape=(1, 3, 8, 6)):
    rng = np.random.default_rng(seed)
    return [rng.random(shape) for _ in range(3)]


@pytest.mark.parametrize("weights", [(1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0), (2.0, 30.0, 0.5)],
                         ids=["content", "style", "tv", "all"])
def test_loss_gradients_by_finite_differences(weights):
    content, style, g = images(0)
    loss = StyleTransferLoss(Tiny(), dk.Tensor(content), dk.Tensor(style), *weights, content_layer="b",
                             style_layers={"a": 0.7, "b": 0.3})
    gradcheck(lambda x: loss(x)[0], g)


def test_normalization_gradient_caffe_bgr():
    x = np.random.default_rng(1).random((1, 3, 4, 5))
    gradcheck(lambda t: normalize_input(t, CAFFE_BGR) * normalize_input(t, CAFFE_BGR), x)
    y = normalize_input(dk.Tensor(x), CAFFE_BGR).data
    np.testing.assert_allclose(y[0, 0], x[0, 2] * 255 - 104.00699)    # BGR: blue first
    np.testing.assert_allclose(y[0, 2], x[0, 0] * 255 - 122.67892)


def test_loss_terms_are_the_course_formulas():
    content, style, g = images(2, (1, 3, 12, 10))
    net = Tiny()
    loss = StyleTransferLoss(net, dk.Tensor(content), dk.Tensor(style), 10.0, 40.0, 3.0, content_layer="b",
                             style_layers={"a": 0.2, "b": 0.8})
    total, terms = loss(dk.Tensor(g))
    with dk.no_grad():
        fg, fc, fs = (net(dk.Tensor(v)) for v in (g, content, style))
    a_g, a_c = fg["b"].data, fc["b"].data
    _, n_c, n_h, n_w = a_g.shape
    assert np.isclose(terms["content"], np.sum((a_c - a_g) ** 2) / (4 * n_c * n_h * n_w), rtol=1e-12)
    style_ref = 0.0
    for name, lam in (("a", 0.2), ("b", 0.8)):
        _, n_c, n_h, n_w = fg[name].shape
        fg_, fs_ = fg[name].data.reshape(n_c, -1), fs[name].data.reshape(n_c, -1)
        gg, gs = fg_ @ fg_.T, fs_ @ fs_.T                     # unnormalized Grams, as in the course
        style_ref += lam * np.sum((gs - gg) ** 2) / (4 * n_c ** 2 * (n_h * n_w) ** 2)
    assert np.isclose(terms["style"], style_ref, rtol=1e-12)
    tv = (np.sum(np.diff(g, axis=2) ** 2) + np.sum(np.diff(g, axis=3) ** 2)) / g.size
    assert np.isclose(terms["tv"], tv, rtol=1e-12)
    assert np.isclose(float(total.item()), 10 * terms["content"] + 40 * terms["style"] + 3 * tv, rtol=1e-12)
    assert terms["total"] == float(total.item())


def test_total_variation_loss():
    x = np.random.default_rng(3).standard_normal((2, 3, 5, 4))
    gradcheck(F.total_variation_loss, x)
    gradcheck(lambda t: F.total_variation_loss(t, reduction="sum"), x[0, 0])
    assert float(F.total_variation_loss(dk.Tensor(np.ones((1, 1, 3, 3)))).item()) == 0.0
    ramp = np.arange(12.0).reshape(3, 4)       # steps of 1 along W (9 pairs), 4 along H (8 pairs)
    assert float(F.total_variation_loss(dk.Tensor(ramp), reduction="sum").item()) == 9 * 1 + 8 * 16
    with pytest.raises(ValueError, match="reduction must be 'mean' or 'sum', got 'max'"):
        F.total_variation_loss(dk.Tensor(ramp), reduction="max")
    with pytest.raises(ValueError, match=r"x must have at least 2 dimensions \(..., H, W\), got shape \(3,\)"):
        F.total_variation_loss(dk.Tensor(np.ones(3)))


def test_bad_images_are_refused():
    rgb = np.zeros((20, 24, 3), np.uint8)
    with pytest.raises(ValueError, match=r"content must be an RGB image of shape \(H, W, 3\), got shape \(20, 24\)"):
        as_image(rgb[..., 0], "content")
    with pytest.raises(ValueError, match=r"style must be an RGB image .*got shape \(20, 24, 4\)"):
        as_image(np.zeros((20, 24, 4), np.uint8), "style")
    with pytest.raises(ValueError, match=f"content is 15x24 pixels, too small for conv5_1.*at least {MIN_SIZE}"):
        as_image(rgb[:15], "content")
    with pytest.raises(ValueError, match="must be uint8 .* or float .*, got int32"):
        as_image(rgb.astype(np.int32))
    t = as_image(rgb[:16, :16])
    assert t.shape == (1, 3, 16, 16) and t.dtype == np.float32


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory):
    """A VGG16 trunk .npz with torchvision's init (random), in the Caffe input convention."""
    dk.manual_seed(0)
    path = tmp_path_factory.mktemp("w") / "random_vgg16.npz"
    state = VGG("D", classifier=False).state_dict()
    np.savez(path, **state, **{"meta.channel_order": np.array("BGR"), "meta.pixel_scale": np.array(255.0),
                               "meta.mean": np.array(CAFFE_BGR.mean), "meta.std": np.array(CAFFE_BGR.std)})
    return path


def test_errors_of_style_transfer(random_weights):
    img = np.zeros((16, 16, 3), np.uint8)
    with pytest.raises(ValueError, match="optimizer must be 'lbfgs' or 'adam', got 'sgd'"):
        style_transfer(img, img, optimizer="sgd", weights=random_weights)
    with pytest.raises(ValueError, match="init must be 'content' or 'random', got 'style'"):
        style_transfer(img, img, init="style", weights=random_weights)
    with pytest.raises(ValueError, match=r"unknown layers \['conv6_1'\]"):
        style_transfer(img, img, style_layers={"conv6_1": 1.0}, weights=random_weights)
    with pytest.raises(ValueError, match="pool must be 'max' or 'avg'"):
        VGGFeatures(random_weights, pool="min")


@pytest.mark.parametrize("optimizer,init", [("lbfgs", "random"), ("adam", "content")])
def test_short_run_lowers_the_objective(random_weights, optimizer, init):
    rng = np.random.default_rng(5)
    content = rng.integers(0, 256, (24, 20, 3), dtype=np.uint8)
    style = rng.integers(0, 256, (20, 28, 3), dtype=np.uint8)
    seen = []
    # Random VGG16 weights give small activations: a style weight that makes J_style count.
    out = style_transfer(content, style, steps=8, optimizer=optimizer, init=init, weights=random_weights,
                         style_weight=1e3, callback=lambda step, image, terms: seen.append(terms["total"]))
    assert out.shape == (24, 20, 3) and out.dtype == np.float32 and out.min() >= 0 and out.max() <= 1
    assert len(seen) == 8
    assert seen[-1] < 0.6 * seen[0], seen   # J falls by 40% in 8 steps (random weights: a hard objective)


def real_weights():
    """A converted weights .npz, where one is at hand: DEEPKERN_VGG16_WEIGHTS or the default path."""
    path = os.environ.get("DEEPKERN_VGG16_WEIGHTS") or pretrained.default_weights_path()
    if not Path(path).is_file():
        pytest.skip(f"no converted VGG16 weights ({path}); run 'deepkern weights' or set DEEPKERN_VGG16_WEIGHTS")
    return path


def test_real_weights_transfer_style_at_64px():
    """The README's criteria at a small size: the output's style loss at least 10x below the
    content image's, its content loss below the style image's."""
    weights = real_weights()
    from PIL import Image

    def load(name, size):
        with Image.open(IMAGES / name) as im:
            return np.asarray(im.convert("RGB").resize(size, Image.LANCZOS))

    content, style = load("chelsea.png", (64, 44)), load("starry_night.png", (64, 40))
    features = VGGFeatures(weights)
    out = style_transfer(content, style, steps=30, weights=features)
    c, s = as_image(content), as_image(style)
    loss = StyleTransferLoss(features, c, s)
    ours = loss.terms(as_image(out))
    assert ours["style"] * 10 <= loss.terms(c)["style"]
    resized_style = as_image(np.asarray(Image.fromarray(style).resize((64, 44), Image.LANCZOS)))
    assert ours["content"] < loss.terms(resized_style)["content"]
