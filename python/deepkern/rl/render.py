"""Pictures of RL runs: returns per episode as a PNG (matplotlib), an episode as a GIF (Pillow)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["plot_returns", "record_episode", "save_gif"]


def plot_returns(path, returns, steps=None, evaluations=None, window: int = 100, title: str = "") -> Path:
    """Draw each episode's return (faint), its moving average over ``window`` episodes, and
    evaluation means (``evaluations``: rows (x, mean, std)) into a PNG at ``path``. The x axis
    is the episode number, or the environment step at each episode's end when ``steps`` is
    given. Needs matplotlib (``pip install 'deepkern[plot]'``)."""
    try:
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError("plot_returns needs matplotlib: pip install 'deepkern[plot]' "
                          "(or pip install matplotlib)") from e
    returns = np.asarray(returns, dtype=np.float64)
    x = np.arange(1, len(returns) + 1) if steps is None else np.asarray(steps, dtype=np.float64)
    fig = Figure(figsize=(7.0, 3.6), layout="constrained")
    ax = fig.subplots()
    ax.plot(x, returns, color="tab:blue", alpha=0.25, linewidth=0.8, label="episode return")
    if len(returns) >= 2:
        w = max(1, min(int(window), len(returns)))
        smooth = np.convolve(returns, np.ones(w) / w, mode="valid")
        ax.plot(x[w - 1:], smooth, color="tab:blue", label=f"mean of {w} episodes")
    if evaluations is not None and len(evaluations):
        ev = np.asarray(evaluations, dtype=np.float64)
        ax.errorbar(ev[:, 0], ev[:, 1], yerr=ev[:, 2], fmt="o", color="tab:orange", markersize=3,
                    capsize=2, label="evaluation (mean ± std)")
    ax.set_xlabel("episode" if steps is None else "environment step")
    ax.set_ylabel("return")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    path = Path(path)
    fig.savefig(path, dpi=110, format="png")
    return path


def record_episode(env, policy, max_steps: int = 10_000, seed=None):
    """Play one episode of ``env`` (made with ``render_mode="rgb_array"``) following
    ``policy(observation) -> action``. Returns (frames, return): the rendered (H, W, 3) uint8
    frames, the first after the reset and one after each step."""
    obs, _ = env.reset(seed=seed)
    frames, total = [np.asarray(env.render())], 0.0
    for _ in range(int(max_steps)):
        obs, reward, terminated, truncated, _ = env.step(policy(obs))
        total += float(reward)
        frames.append(np.asarray(env.render()))
        if terminated or truncated:
            break
    return frames, total


def save_gif(frames, path, fps: float = 30.0, scale: int = 1) -> Path:
    """Write (H, W, 3) uint8 frames as an animated GIF (looping), each shown 1/fps seconds,
    enlarged ``scale`` times (nearest neighbour, so small worlds stay sharp). Needs Pillow."""
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError("save_gif needs Pillow: pip install pillow (or pip install 'deepkern[images]')") from e
    if not len(frames):
        raise ValueError("save_gif: no frames")
    images = []
    for f in frames:
        img = Image.fromarray(np.asarray(f, dtype=np.uint8))
        if scale > 1:
            img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
        images.append(img)
    path = Path(path)
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:], loop=0,
                   duration=max(20, int(round(1000 / fps))))
    return path
