"""Neural style transfer (Gatys, Ecker & Bethge 2016) on pretrained VGG16 features.

An image G is optimized, pixel by pixel, to minimize

    J(G) = alpha J_content(C, G) + beta J_style(S, G) + gamma TV(G)

    J_content = 1 / (4 nC nH nW) sum (a_C - a_G)^2          activations of conv4_2
    J_style   = sum_l lambda_l J_style^l,                    l in conv1_1 ... conv5_1
    J_style^l = 1/4 sum (Gram(a_S) - Gram(a_G))^2,           Gram(a) = F F^T / (nC nH nW)
    TV        = mean over pixels of squared neighbour differences (F.total_variation_loss)

where a is a layer's activation (after its ReLU, as in Gatys et al.'s Caffe model, whose ReLUs
run in place) and F its (nC, nH nW) matrix. With Grams normalized by nC nH nW, J_style^l is
exactly the course's 1 / (4 nC^2 (nH nW)^2) sum (G_S - G_G)^2 of unnormalized Grams, so the
default lambda_l = 0.2 weights the five layers as it does. The Gram matrix is a kernel
(deepkern.ops.gram_matrix), the network deepkern's conv2d/max_pool2d kernels, the gradient
wrt G deepkern's autograd (the weights are frozen: no weight gradients are computed).

Images here are RGB in [0, 1], arrays (H, W, 3) at the API and Tensors (1, 3, H, W) inside;
the network's own input convention (Caffe BGR-mean for the shipped weights, ImageNet mean/std
for torchvision's) is applied inside the graph (see deepkern.models.pretrained).
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import nn
from .._backend import array_module
from ..autograd import Tensor, no_grad
from ..optim import LBFGS, Adam
from .pretrained import TORCHVISION, InputFormat, load_vgg16_weights
from .vgg import VGG

__all__ = ["VGGFeatures", "normalize_input", "StyleTransferLoss", "style_transfer", "STYLE_LAYERS", "CONTENT_LAYER", "LAYER_INDEX",
           "MIN_SIZE", "as_image"]

CONTENT_LAYER = "conv4_2"
STYLE_LAYERS = {"conv1_1": 0.2, "conv2_1": 0.2, "conv3_1": 0.2, "conv4_1": 0.2, "conv5_1": 0.2}
# Index in VGG16's `features` of the ReLU after each conv: the activation the losses see.
LAYER_INDEX = {"conv1_1": 1, "conv1_2": 3, "conv2_1": 6, "conv2_2": 8, "conv3_1": 11, "conv3_2": 13,
               "conv3_3": 15, "conv4_1": 18, "conv4_2": 20, "conv4_3": 22, "conv5_1": 25, "conv5_2": 27,
               "conv5_3": 29}
# conv5_1 sits behind four 2x2 pools: images need at least 16 pixels a side to reach it.
MIN_SIZE = 16
# Defaults for the shipped weights (Caffe scale: inputs 0..255 minus the mean). Activations scale
# with the input, J_content with its square and J_style with its fourth power: for weights in
# torchvision's convention (inputs ~1/58 the size) multiply the content weight by ~58^2 = 3400
# and the style weight by ~58^4 = 1.1e7 for the same balance.
CONTENT_WEIGHT = 1.0
STYLE_WEIGHT = 1e-2
TV_WEIGHT = 10.0


def normalize_input(image, fmt: InputFormat):
    """RGB [0, 1] image Tensor (N, 3, H, W) -> a network's input convention ``fmt``:
    (image[:, channel order] * pixel_scale - mean) / std, differentiably."""
    perm, scale, mean, std = fmt.arrays(image.dtype.type)
    xp = array_module(image.data)
    if perm == [2, 1, 0]:
        image = image[:, ::-1]
    elif perm != [0, 1, 2]:
        image = image[:, perm]
    x = image * scale - Tensor(xp.asarray(mean))
    return x if np.all(std == 1) else x / Tensor(xp.asarray(std))


class VGGFeatures(nn.Module):
    """VGG16's conv trunk (pretrained, frozen) up to the deepest layer in ``layers``; calling it
    on an image Tensor (N, 3, H, W), RGB in [0, 1], returns {layer name: activation Tensor}.

    ``weights``: a VGG16 weights .npz path (default: deepkern.models.pretrained's default path),
    or a (state_dict, InputFormat) pair. ``pool``: 'max' (VGG's) or 'avg' (Gatys et al.'s
    suggestion for smoother gradients).
    """

    def __init__(self, weights=None, layers=(CONTENT_LAYER, *STYLE_LAYERS), pool="max"):
        super().__init__()
        unknown = [name for name in layers if name not in LAYER_INDEX]
        if unknown:
            raise ValueError(f"VGGFeatures: unknown layers {unknown} (known: {', '.join(LAYER_INDEX)})")
        if pool not in ("max", "avg"):
            raise ValueError(f"VGGFeatures: pool must be 'max' or 'avg', got {pool!r}")
        state, fmt = weights if isinstance(weights, tuple) else load_vgg16_weights(weights)
        vgg = VGG("D", classifier=False)
        vgg.load_state_dict({k: v for k, v in state.items() if k.startswith("features.")})
        last = max(LAYER_INDEX[name] for name in layers)
        modules = list(vgg.features)[:last + 1]
        if pool == "avg":
            modules = [nn.AvgPool2d(2, 2) if isinstance(m, nn.MaxPool2d) else m for m in modules]
        self.features = nn.Sequential(*modules)
        for p in self.features.parameters():
            p.requires_grad = False
        self.layers = tuple(layers)
        self.input_format = fmt if isinstance(fmt, InputFormat) else TORCHVISION
        self.eval()

    def forward(self, image):
        wanted = {LAYER_INDEX[name]: name for name in self.layers}
        out = {}
        x = normalize_input(image, self.input_format)
        for i, module in enumerate(self.features):
            x = module(x)
            if i in wanted:
                out[wanted[i]] = x
        return out


def as_image(array, name="image"):
    """An RGB image (H, W, 3), uint8 (0..255) or float (0..1), as a float32 Tensor (1, 3, H, W)
    in [0, 1]; ValueError for anything that is not such an image or is smaller than MIN_SIZE."""
    if isinstance(array, Tensor):
        array = array.data
    xp = array_module(array)
    if getattr(array, "ndim", None) != 3 or array.shape[2] != 3:
        raise ValueError(f"style_transfer: {name} must be an RGB image of shape (H, W, 3), got shape "
                         f"{tuple(getattr(array, 'shape', ()))} (convert grayscale or RGBA images to RGB first)")
    h, w = array.shape[:2]
    if min(h, w) < MIN_SIZE:
        raise ValueError(f"style_transfer: {name} is {h}x{w} pixels, too small for conv5_1 (behind four 2x2 "
                         f"pools): both sides must be at least {MIN_SIZE}")
    if array.dtype == np.uint8:
        array = array.astype(np.float32) / 255
    elif array.dtype.kind == "f":
        array = array.astype(np.float32)
    else:
        raise ValueError(f"style_transfer: {name} must be uint8 (0..255) or float (0..1), got {array.dtype}")
    return Tensor(xp.ascontiguousarray(array.transpose(2, 0, 1)[None]))


class StyleTransferLoss:
    """J(G) for fixed content and style images (the targets are computed once).

    ``features``: a VGGFeatures (or any module with a ``layers`` tuple returning
    {layer: activation}); ``content`` / ``style``: image Tensors (1, 3, H, W) in [0, 1]
    (their sizes may differ); ``style_layers``: {layer: lambda_l}. Calling it on G returns
    (J as a Tensor, {'content', 'style', 'tv', 'total'} as floats: the unweighted terms and J).
    """

    def __init__(self, features, content, style, content_weight=CONTENT_WEIGHT, style_weight=STYLE_WEIGHT,
                 tv_weight=TV_WEIGHT, content_layer=CONTENT_LAYER, style_layers=None):
        self.features = features
        self.content_layer = content_layer
        self.style_layers = dict(STYLE_LAYERS if style_layers is None else style_layers)
        missing = [name for name in (content_layer, *self.style_layers) if name not in features.layers]
        if missing:
            raise ValueError(f"StyleTransferLoss: the feature extractor does not compute {missing}")
        self.weights = (float(content_weight), float(style_weight), float(tv_weight))
        with no_grad():
            self.content_target = features(content)[content_layer].data
            style_features = features(style)
            self.style_targets = {name: F.gram_matrix(style_features[name]).data for name in self.style_layers}

    def content_loss(self, a):
        """1 / (4 nC nH nW) sum (a_C - a)^2."""
        return F.mse_loss(a, Tensor(self.content_target)) * 0.25

    def style_loss(self, activations):
        """sum_l lambda_l 1/4 sum (Gram_S^l - Gram(a^l))^2."""
        total = None
        for name, weight in self.style_layers.items():
            term = F.mse_loss(F.gram_matrix(activations[name]), Tensor(self.style_targets[name]), reduction="sum")
            term = term * (0.25 * weight)
            total = term if total is None else total + term
        return total

    def __call__(self, image):
        acts = self.features(image)
        content = self.content_loss(acts[self.content_layer])
        style = self.style_loss(acts)
        tv = F.total_variation_loss(image)
        alpha, beta, gamma = self.weights
        total = content * alpha + style * beta + tv * gamma
        return total, {"content": float(content.item()), "style": float(style.item()), "tv": float(tv.item()),
                       "total": float(total.item())}

    def terms(self, image):
        """The terms for an image, without building a graph."""
        with no_grad():
            return self(image)[1]


def style_transfer(content, style, *, steps=300, optimizer="lbfgs", lr=None, content_weight=CONTENT_WEIGHT,
                   style_weight=STYLE_WEIGHT, tv_weight=TV_WEIGHT, style_layers=None, content_layer=CONTENT_LAYER,
                   init="content", seed=0, weights=None, pool="max", history_size=100, device="cpu",
                   callback=None):
    """Paint ``content`` in the style of ``style``; returns the result, float32 (H, W, 3) in [0, 1].

    content, style: RGB images (H, W, 3), uint8 or float in [0, 1] (resize them first: the
    result has the content's size, the style's size sets the scale of its strokes).
    optimizer: 'lbfgs' (deepkern.optim.LBFGS, lr default 1, one iteration a step, no line
    search, as Gatys et al.) or 'adam' (lr default 0.02). init: 'content' (G starts as the
    content image) or 'random' (uniform noise from ``seed``, the course's "initialize G
    randomly"). weights / pool: see VGGFeatures; features can also be a VGGFeatures passed as
    ``weights``. callback(step, G Tensor, terms dict) runs after every step (1-based); the
    terms are those of the image before the step's update.
    """
    if optimizer not in ("lbfgs", "adam"):
        raise ValueError(f"style_transfer: optimizer must be 'lbfgs' or 'adam', got {optimizer!r}")
    if init not in ("content", "random"):
        raise ValueError(f"style_transfer: init must be 'content' or 'random', got {init!r}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"style_transfer: steps must be an int >= 0, got {steps!r}")
    content_img, style_img = as_image(content, "content"), as_image(style, "style")
    layers = (content_layer, *(STYLE_LAYERS if style_layers is None else style_layers))
    features = weights if isinstance(weights, VGGFeatures) else VGGFeatures(weights, layers=layers, pool=pool)
    if device != "cpu":
        features.to(device)
        content_img, style_img = content_img.to(device), style_img.to(device)
    loss = StyleTransferLoss(features, content_img, style_img, content_weight, style_weight, tv_weight,
                             content_layer, style_layers)
    xp = array_module(content_img.data)
    if init == "content":
        start = content_img.data.copy()
    else:
        rng = np.random.default_rng(seed)
        start = xp.asarray(rng.random(content_img.shape, dtype=np.float32))
    image = Tensor(start, requires_grad=True)
    if optimizer == "lbfgs":
        opt = LBFGS([image], lr=1.0 if lr is None else lr, max_iter=1, history_size=history_size)
    else:
        opt = Adam([image], lr=0.02 if lr is None else lr)
    terms = {}

    def closure():
        opt.zero_grad()
        total, values = loss(image)
        total.backward()
        terms.update(values)
        return total

    for step in range(1, steps + 1):
        if optimizer == "lbfgs":
            opt.step(closure)
        else:
            closure()
            opt.step()
        if callback is not None:
            callback(step, image, dict(terms))
    result = xp.clip(image.data[0].transpose(1, 2, 0), 0, 1)
    return result.get() if hasattr(result, "get") else np.asarray(result)
