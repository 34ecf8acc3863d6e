"""Time one L-BFGS iteration of neural style transfer in deepkern and in PyTorch: the same VGG16
weights, images, losses and optimizer settings, on the same machine, interleaved.

    python benchmarks/style_transfer.py --size 384 --iterations 3 --rounds 3 --threads 2

Both sides run what 'deepkern style' runs per step: VGG16 up to relu5_1 forward on the image,
the content (conv4_2) and style (Gram matrices of conv1_1 ... conv5_1) losses and TV, the
backward pass to the image (no weight gradients), and one LBFGS step (max_iter=1, lr=1, no line
search, history 100). PyTorch builds the network from the same .npz with torch.nn.Conv2d /
MaxPool2d, the Gram as torch.bmm(F, F^T) / (C H W), and uses torch.optim.LBFGS. The rounds
alternate deepkern and PyTorch, `--iterations` steps each, so a load change on a shared machine
hits both; the median per-iteration wall time and process CPU time (all threads; less disturbed
on a shared machine) of each are reported with their ratios, and the losses of the first
iterations are compared (they must agree: the same objective and algorithm).
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np


def load_images(size):
    from PIL import Image

    import deepkern as dk
    images = os.path.join(os.path.dirname(dk.__file__), "data", "images")

    def fit(name):
        with Image.open(os.path.join(images, name)) as im:
            im = im.convert("RGB")
            scale = size / max(im.size)
            return np.asarray(im.resize((round(im.size[0] * scale), round(im.size[1] * scale)), Image.LANCZOS))

    try:
        import skimage.data
        content = np.asarray(Image.fromarray(skimage.data.chelsea()).resize(
            (size, round(size * 300 / 451)), Image.LANCZOS))
    except ImportError:
        content = fit("chelsea.png")
    return content, fit("starry_night.png")


def deepkern_runner(content, style, weights, steps_weights):
    import deepkern as dk
    from deepkern.models.style import StyleTransferLoss, VGGFeatures, as_image

    features = VGGFeatures(weights)
    c, s = as_image(content), as_image(style)
    loss = StyleTransferLoss(features, c, s, *steps_weights)
    image = dk.Tensor(c.data.copy(), requires_grad=True)
    opt = dk.optim.LBFGS([image], lr=1, max_iter=1, history_size=100)
    values = []

    def closure():
        opt.zero_grad()
        total, _ = loss(image)
        total.backward()
        values.append(float(total.item()))
        return total

    return (lambda: opt.step(closure)), values


def torch_runner(content, style, weights, steps_weights):
    import torch
    from torch import nn

    from deepkern.models.pretrained import load_vgg16_weights
    from deepkern.models.style import CONTENT_LAYER, LAYER_INDEX, STYLE_LAYERS

    state, fmt = load_vgg16_weights(weights)
    layers, channels, index = [], 3, 0
    for v in [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512]:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            conv = nn.Conv2d(channels, v, 3, padding=1)
            conv.weight.data = torch.from_numpy(state[f"features.{index}.weight"])
            conv.bias.data = torch.from_numpy(state[f"features.{index}.bias"])
            layers += [conv, nn.ReLU()]
            channels = v
        index = len(layers)
    net = nn.Sequential(*layers).eval().requires_grad_(False)
    wanted = {LAYER_INDEX[n]: n for n in (CONTENT_LAYER, *STYLE_LAYERS)}
    perm, scale, mean, std = fmt.arrays()
    mean, std = torch.from_numpy(mean), torch.from_numpy(std)

    def features(img):
        x = (img[:, perm] * float(scale) - mean) / std
        out = {}
        for i, m in enumerate(net):
            x = m(x)
            if i in wanted:
                out[wanted[i]] = x
        return out

    def gram(a):
        n, c, h, w = a.shape
        f = a.reshape(n, c, h * w)
        return torch.bmm(f, f.transpose(1, 2)) / (c * h * w)

    as_tensor = lambda a: torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)[None], np.float32) / 255)  # noqa
    with torch.no_grad():
        target_content = features(as_tensor(content))[CONTENT_LAYER]
        style_features = features(as_tensor(style))
        target_grams = {n: gram(style_features[n]) for n in STYLE_LAYERS}
    alpha, beta, gamma = steps_weights
    image = as_tensor(content).clone().requires_grad_(True)
    opt = torch.optim.LBFGS([image], lr=1, max_iter=1, history_size=100)
    values = []

    def closure():
        opt.zero_grad()
        acts = features(image)
        content_loss = ((acts[CONTENT_LAYER] - target_content) ** 2).mean() * 0.25
        style_loss = sum(w * 0.25 * ((gram(acts[n]) - target_grams[n]) ** 2).sum() for n, w in STYLE_LAYERS.items())
        tv = (((image[..., 1:, :] - image[..., :-1, :]) ** 2).sum()
              + ((image[..., :, 1:] - image[..., :, :-1]) ** 2).sum()) / image.numel()
        total = alpha * content_loss + beta * style_loss + gamma * tv
        total.backward()
        values.append(total.item())
        return total

    return (lambda: opt.step(closure)), values


def main():
    from deepkern.models.style import CONTENT_WEIGHT, STYLE_WEIGHT, TV_WEIGHT

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", default=None, help="VGG16 .npz (default: where 'deepkern weights' writes it)")
    p.add_argument("--size", type=int, default=384, help="longer side of the images")
    p.add_argument("--iterations", type=int, default=3, help="L-BFGS iterations per round and library")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="threads of both libraries")
    args = p.parse_args()

    import torch

    import deepkern as dk
    dk.set_num_threads(args.threads)
    torch.set_num_threads(args.threads)
    content, style = load_images(args.size)
    weights = (CONTENT_WEIGHT, STYLE_WEIGHT, TV_WEIGHT)
    runners = {"deepkern": deepkern_runner(content, style, args.weights, weights),
               "torch": torch_runner(content, style, args.weights, weights)}
    times = {name: [] for name in runners}
    cpu = {name: [] for name in runners}
    for name, (step, _) in runners.items():   # warm-up: first-call costs, thread pools
        step()
    for _ in range(args.rounds):
        for name, (step, _) in runners.items():
            for _ in range(args.iterations):
                start, start_cpu = time.perf_counter(), time.process_time()
                step()
                times[name].append(time.perf_counter() - start)
                cpu[name].append(time.process_time() - start_cpu)
    med = {name: statistics.median(t) for name, t in times.items()}
    med_cpu = {name: statistics.median(t) for name, t in cpu.items()}
    (_, ours), (_, theirs) = runners["deepkern"], runners["torch"]
    first = min(len(ours), len(theirs), 4)
    agree = max(abs(a - b) / abs(b) for a, b in zip(ours[:first], theirs[:first]))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"- content {content.shape[1]}x{content.shape[0]}, style {style.shape[1]}x{style.shape[0]}; "
          f"{args.rounds} rounds x {args.iterations} iterations per library, interleaved, after one warm-up step")
    print(f"- {args.threads} threads each; deepkern {dk.__version__}, PyTorch {torch.__version__}; "
          f"{platform.processor() or platform.machine()}; load average at the end {load:.1f} "
          f"on {os.cpu_count()} cores")
    print(f"- J of the first {first} iterations agree to {agree:.1e} (relative)")
    print()
    print("| library | wall s / L-BFGS iteration (median) | min | max | dk / torch | CPU s (median) | dk / torch |")
    print("|---|---|---|---|---|---|---|")
    for name in runners:
        t = times[name]
        print(f"| {name} | {med[name]:.3f} | {min(t):.3f} | {max(t):.3f} | {med[name] / med['torch']:.2f} | "
              f"{med_cpu[name]:.3f} | {med_cpu[name] / med_cpu['torch']:.2f} |")


if __name__ == "__main__":
    main()
