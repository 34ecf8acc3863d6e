"""Neural style transfer (Gatys et al.): paint CONTENT in the style of STYLE.

An image G starts as the content image (or noise, --init random) and is optimized by L-BFGS
(or Adam) to minimize J(G) = a J_content + b J_style + c TV(G) on pretrained VGG16 features:
J_content compares conv4_2 activations with the content image's, J_style the Gram matrices of
conv1_1 ... conv5_1 with the style image's (--layer-weights), TV penalizes pixel noise. The
progress bar shows each term. Both images are scaled so their longer side is --size pixels
(the style image's size sets the scale of its strokes: --style-scale). At the end the losses
of the output are printed beside those of the content image (style) and the style image
(content), and the run's wall time.

The weights are the VGG16 convolutions written by 'deepkern weights' (once). The default loss
weights suit them (Caffe-scale inputs, 0..255); with a torchvision state_dict as --weights
(inputs ~1/58 that size) multiply --content-weight by ~3400 and --style-weight by ~1.1e7.
"""
import os
import time

from .. import UsageError, check_device, existing_file, nonnegative_float, output_path, positive_float, \
    positive_int, require

HELP = "neural style transfer: paint an image in the style of another (VGG16, L-BFGS)"
USAGE = "CONTENT STYLE -o OUT"


def add_arguments(p):
    from ...models import style

    p.add_argument("content", type=existing_file, metavar="CONTENT", help="the content image (any format Pillow reads)")
    p.add_argument("style", type=existing_file, metavar="STYLE", help="the style image")
    p.add_argument("-o", "--out", default=None, metavar="PNG",
                   help="the output PNG (default: CONTENT_STEM.STYLE_STEM.png next to CONTENT)")
    p.add_argument("--size", type=positive_int, default=384, help="longer side of the output, in pixels")
    p.add_argument("--style-scale", type=positive_float, default=1.0,
                   help="the style image's longer side as a multiple of --size")
    p.add_argument("--steps", type=positive_int, default=300, help="optimizer iterations")
    p.add_argument("--content-weight", type=nonnegative_float, default=style.CONTENT_WEIGHT, help="a in J")
    p.add_argument("--style-weight", type=nonnegative_float, default=style.STYLE_WEIGHT, help="b in J")
    p.add_argument("--tv-weight", type=nonnegative_float, default=style.TV_WEIGHT,
                   help="c in J: total-variation smoothing")
    p.add_argument("--layer-weights", type=nonnegative_float, nargs=5, default=list(style.STYLE_LAYERS.values()),
                   metavar="W", help="weights of conv1_1 conv2_1 conv3_1 conv4_1 conv5_1 in J_style")
    p.add_argument("--optimizer", choices=("lbfgs", "adam"), default="lbfgs", help="lbfgs or adam")
    p.add_argument("--lr", type=positive_float, default=None,
                   help="step size (default: 1 for L-BFGS, 0.02 for Adam)")
    p.add_argument("--init", choices=("content", "random"), default="content",
                   help="start from the content image or from uniform noise")
    p.add_argument("--pool", choices=("max", "avg"), default="max",
                   help="VGG's max pooling, or average pooling (Gatys et al.'s smoother variant)")
    p.add_argument("--seed", type=int, default=0, help="seed of --init random")
    p.add_argument("--weights", default=None, metavar="NPZ",
                   help="VGG16 weights (default: where 'deepkern weights' writes them)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--intermediates", default=None, metavar="PNG",
                   help="also write a strip of intermediate images (every --every steps) to this PNG")
    p.add_argument("--every", type=positive_int, default=None,
                   help="steps between intermediate images (default: --steps / 6)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _read(Image, path, flag):
    import numpy as np

    try:
        with Image.open(path) as picture:
            return np.asarray(picture.convert("RGB"))
    except (OSError, Image.DecompressionBombError) as e:
        raise UsageError(flag, f"cannot read {path} as an image ({e})") from None


def _fit(Image, image, side, flag):
    """image scaled (Lanczos) so that its longer side is ``side`` pixels."""
    import numpy as np

    from ...models.style import MIN_SIZE

    h, w = image.shape[:2]
    scale = side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if min(size) < MIN_SIZE:
        raise UsageError(flag, f"scaled to {size[0]}x{size[1]} pixels, too small for conv5_1 (behind four 2x2 "
                               f"pools): both sides must be at least {MIN_SIZE} (raise --size)")
    return np.asarray(Image.fromarray(image).resize(size, Image.LANCZOS))


def run(args) -> int:
    import numpy as np

    Image = require("PIL.Image", "CONTENT", package="pillow", extra="images")
    check_device(args.device)
    if args.every is not None and args.intermediates is None:
        raise UsageError("--every", "only applies with --intermediates PNG")
    stem = lambda p: os.path.splitext(os.path.basename(p))[0]  # noqa: E731
    out = args.out or os.path.join(os.path.dirname(args.content), f"{stem(args.content)}.{stem(args.style)}.png")
    output_path(out, "--out")
    if args.intermediates:
        output_path(args.intermediates, "--intermediates")
    content = _fit(Image, _read(Image, args.content, "CONTENT"), args.size, "CONTENT")
    style = _fit(Image, _read(Image, args.style, "STYLE"), round(args.size * args.style_scale), "STYLE")

    from tqdm.auto import tqdm

    from ...autograd import no_grad
    from ...models.pretrained import load_vgg16_weights
    from ...models.style import STYLE_LAYERS, StyleTransferLoss, VGGFeatures, as_image, style_transfer
    from ...viz import save_image

    try:
        weights = load_vgg16_weights(args.weights)
    except FileNotFoundError as e:
        raise UsageError("--weights", str(e)) from None
    except ValueError as e:
        raise UsageError("--weights", str(e)) from None
    layers = dict(zip(STYLE_LAYERS, args.layer_weights))
    features = VGGFeatures(weights, pool=args.pool)
    if args.device != "cpu":
        features.to(args.device)

    every = args.every or max(1, args.steps // 6)
    frames, latest = [], {}
    bar = tqdm(total=args.steps, desc="style", unit="step", disable=args.quiet, dynamic_ncols=True)

    def progress(step, image, terms):
        latest["image"] = image
        bar.set_postfix_str(f"content {terms['content']:.3g}  style {terms['style']:.3g}  tv {terms['tv']:.3g}  "
                            f"J {terms['total']:.4g}", refresh=False)
        bar.update(1)
        if args.intermediates and (step % every == 0 or step == 1):
            frames.append(np.clip(_host(image.data[0]), 0, 1))

    start = time.perf_counter()
    try:
        result = style_transfer(content, style, steps=args.steps, optimizer=args.optimizer, lr=args.lr,
                                content_weight=args.content_weight, style_weight=args.style_weight,
                                tv_weight=args.tv_weight, style_layers=layers, init=args.init, seed=args.seed,
                                weights=features, device=args.device, callback=progress)
    except KeyboardInterrupt:
        bar.close()
        if "image" in latest:
            _save(Image, np.clip(_host(latest["image"].data[0]).transpose(1, 2, 0), 0, 1), out)
            print(f"interrupted: wrote the image of step {bar.n} to {out}")
        raise
    seconds = time.perf_counter() - start
    bar.close()
    _save(Image, result, out)
    if args.intermediates:
        frames.append(result.transpose(2, 0, 1))
        save_image(np.stack(frames), args.intermediates, nrow=len(frames), value_range=(0, 1))

    # The output's losses beside the reference points the README states: the content image's
    # style loss and the style image's (at the content's size) content loss.
    to_device = (lambda t: t.to(args.device)) if args.device != "cpu" else (lambda t: t)
    c, s = to_device(as_image(content)), to_device(as_image(style))
    loss = StyleTransferLoss(features, c, s, args.content_weight, args.style_weight, args.tv_weight,
                             style_layers=layers)
    with no_grad():
        ours = loss.terms(to_device(as_image(result)))
        style_of_content = loss.terms(c)["style"]
        h, w = content.shape[:2]
        content_of_style = loss.terms(to_device(as_image(np.asarray(
            Image.fromarray(style).resize((w, h), Image.LANCZOS)))))["content"]
    print(f"wrote {out} ({w}x{h}); {args.steps} {args.optimizer} steps in {seconds:.1f} s "
          f"({seconds / args.steps:.3g} s per step)")
    print(f"style loss   {ours['style']:.4g}  (content image: {style_of_content:.4g}, "
          f"{style_of_content / max(ours['style'], 1e-30):.3g}x higher)")
    print(f"content loss {ours['content']:.4g}  (style image: {content_of_style:.4g})")
    if args.intermediates:
        print(f"wrote {len(frames)} intermediate images to {args.intermediates}")
    return 0


def _host(a):
    return a.get() if hasattr(a, "get") and not hasattr(a, "__array_interface__") else a


def _save(Image, image, path):
    import numpy as np

    Image.fromarray(np.round(np.asarray(image) * 255).astype(np.uint8)).save(path, format="PNG")
