"""`deepkern style` and `deepkern weights`: a tiny run with random VGG16 weights (output, strip of
intermediates, the printed measurements), the conversion command, and every user mistake as
one line on stderr with exit code 2."""
from pathlib import Path

import numpy as np
import pytest

import deepkern as dk
from deepkern import cli
from deepkern.models.pretrained import CAFFE_BGR
from deepkern.models.vgg import VGG

PIL = pytest.importorskip("PIL.Image", reason="deepkern style reads images with Pillow")
IMAGES = Path(dk.__file__).parent / "data" / "images"


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    dk.manual_seed(0)
    path = tmp_path_factory.mktemp("w") / "random_vgg16.npz"
    np.savez(path, **VGG("D", classifier=False).state_dict(),
             **{"meta.channel_order": np.array("BGR"), "meta.pixel_scale": np.array(255.0),
                "meta.mean": np.array(CAFFE_BGR.mean), "meta.std": np.array(CAFFE_BGR.std)})
    return path


def test_tiny_run_writes_the_image_the_strip_and_the_measurements(weights, tmp_path, capsys):
    out, strip = tmp_path / "out" / "cat.png", tmp_path / "strip.png"
    argv = ["style", str(IMAGES / "chelsea.png"), str(IMAGES / "starry_night.png"), "-o", str(out), "--size", "26",
            "--steps", "4", "--weights", str(weights), "--intermediates", str(strip), "--every", "2", "--quiet"]
    assert cli.main(argv) == 0
    text = capsys.readouterr().out
    with PIL.open(out) as im:
        assert im.size == (26, 17) and im.mode == "RGB"     # chelsea.png is 128x85: longer side 26
    with PIL.open(strip) as im:
        assert im.size == (4 * 26 + 5 * 2, 17 + 4)   # steps 1, 2, 4 and the result, 2-pixel padding
    assert f"wrote {out} (26x17); 4 lbfgs steps in" in text
    assert "style loss " in text and "(content image: " in text and "content loss " in text
    assert "wrote 4 intermediate images" in text


def test_default_output_is_next_to_the_content_image(weights, tmp_path, capsys):
    content = tmp_path / "photo.png"
    PIL.open(IMAGES / "chelsea.png").convert("L").save(content)   # grayscale files are converted to RGB
    argv = ["style", str(content), str(IMAGES / "starry_night.png"), "--size", "26", "--steps", "1",
            "--weights", str(weights), "--optimizer", "adam", "--init", "random", "--quiet"]
    assert cli.main(argv) == 0
    assert (tmp_path / "photo.starry_night.png").is_file()


@pytest.mark.parametrize("extra, message", [
    (["--size", "30", "--style-scale", "0.5"], "STYLE: scaled to 15x9 pixels, too small for conv5_1"),
    (["--size", "8"], "CONTENT: scaled to 8x5 pixels, too small for conv5_1"),
    (["--every", "2"], "--every: only applies with --intermediates PNG"),
    (["--steps", "0"], "--steps: expected an integer >= 1, got 0"),
    (["--style-weight", "-1"], "--style-weight: expected a number >= 0, got -1"),
    (["--layer-weights", "1", "2"], "--layer-weights: expected 5 arguments"),
    (["--device", "cuda"], "--device: cuda requested but"),
    (["--optimizer", "sgd"], "--optimizer: invalid choice: 'sgd'"),
])
def test_mistakes_are_one_line(weights, tmp_path, capsys, extra, message):
    if extra[:2] == ["--device", "cuda"] and dk.cuda.is_available():
        pytest.skip("a GPU is available here")
    argv = ["style", str(IMAGES / "chelsea.png"), str(IMAGES / "starry_night.png"), "-o", str(tmp_path / "o.png"),
            "--weights", str(weights), "--quiet", *extra]
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert err.startswith(f"deepkern style: {message}") and err.count("\n") == 1 and out == "", err


def test_missing_weights_and_unreadable_images(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("not an image")
    base = ["style", str(IMAGES / "chelsea.png"), str(IMAGES / "starry_night.png"), "-o", str(tmp_path / "o.png")]
    assert cli.main([*base, "--weights", str(tmp_path / "none.npz")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deepkern style: --weights: no VGG16 weights at ") and "'deepkern weights'" in err
    assert err.count("\n") == 1
    assert cli.main(["style", str(tmp_path / "notes.txt"), str(IMAGES / "starry_night.png")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deepkern style: CONTENT: cannot read ") and err.count("\n") == 1
    assert cli.main(["style", str(tmp_path / "nope.png"), str(IMAGES / "starry_night.png")]) == 2
    assert "CONTENT: " in capsys.readouterr().err


def test_weights_command(tmp_path, capsys):
    pytest.importorskip("h5py")
    from tests.models.test_pretrained import random_hwio, write_hed_h5
    write_hed_h5(tmp_path / "hed.h5", random_hwio(2))
    out = tmp_path / "cache" / "vgg16.npz"
    assert cli.main(["weights", str(tmp_path / "hed.h5"), "-o", str(out)]) == 0
    assert capsys.readouterr().out == f"wrote the 13 VGG16 convolutions to {out}\n"
    assert cli.main(["weights", str(tmp_path / "hed.h5"), "-o", str(out)]) == 0
    assert "already at" in capsys.readouterr().out
    (tmp_path / "other.h5").write_bytes(b"no")
    assert cli.main(["weights", str(tmp_path / "other.h5"), "-o", str(tmp_path / "x.npz")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deepkern weights: SOURCE: ") and "is not an HDF5 file" in err and err.count("\n") == 1
    out.write_bytes(b"damaged")
    assert cli.main(["weights", str(tmp_path / "hed.h5"), "-o", str(out)]) == 2
    assert "--out: " in capsys.readouterr().err
    assert cli.main(["weights", str(tmp_path / "hed.h5"), "-o", str(out), "--force"]) == 0
