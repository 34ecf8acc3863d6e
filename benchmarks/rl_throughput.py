"""DQN training throughput: environment steps per second *including learning*, deepkern beside
the same algorithm and network in PyTorch, on the same machine, threads and environment.

Both agents run deepkern.rl's loop (``DQN.fit``): the same replay buffer, ε-greedy acting (the
network runs only on greedy steps), Double DQN targets, Huber loss, Adam, gradient-norm clipping
at 10 and target syncs; the PyTorch agent swaps in torch modules for the networks, the loss
and the optimizer. Cases:

- CartPole-v1: MLP 4-128-128-2, batch 64, one gradient step per env step (the command's preset).
- Atari: ALE/Breakout-v5 with AtariPreprocessing + FrameStackObservation, the Nature network
  on (4, 84, 84) uint8 frames, batch 32, one gradient step per 4 env steps. Without ale-py, a
  synthetic env with random (4, 84, 84) frames stands in (the table says which).

Each round fills the buffer (untimed, ``--warmup`` steps, ε falling from 1 to 0.1), then times
the next steps at ε = 0.1 (90% of steps run the network, as through most of a run). Implementations
alternate round by round; the median of ``--rounds`` is reported, as wall-clock steps/s and
as steps per CPU-second of the process (steadier on a shared machine).

    python benchmarks/rl_throughput.py --threads 1 --out benchmarks/results/DATE-cpu-rl.md
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np

import deepkern as dk
from deepkern import rl


# ---- the same agent on PyTorch ---------------------------------------------------------------------
def _torch_network(torch, obs_shape, n_actions, hidden):
    nn = torch.nn
    if len(obs_shape) == 3:
        return nn.Sequential(nn.Conv2d(obs_shape[0], 32, 8, 4), nn.ReLU(), nn.Conv2d(32, 64, 4, 2), nn.ReLU(),
                             nn.Conv2d(64, 64, 3, 1), nn.ReLU(), nn.Flatten(), nn.Linear(3136, 512), nn.ReLU(),
                             nn.Linear(512, n_actions))
    layers, width = [], obs_shape[0]
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    return nn.Sequential(*layers, nn.Linear(width, n_actions))


def torch_dqn_class():
    import torch

    class TorchDQN(rl.DQN):
        """rl.DQN with its networks, loss and optimizer in PyTorch (same loop, buffer, schedule)."""

        def __init__(self, obs_shape, n_actions, config, seed=0):
            super().__init__(obs_shape, n_actions, config, seed=seed)
            torch.manual_seed(seed)
            self.online = _torch_network(torch, self.obs_shape, n_actions, config.hidden)
            self.target = _torch_network(torch, self.obs_shape, n_actions, config.hidden)
            self.sync_target()
            self.optimizer = torch.optim.Adam(self.online.parameters(), lr=config.lr, eps=0.01 / config.batch_size)

        def _tensor(self, obs):
            obs = np.asarray(obs)
            x = obs.astype(np.float32) * np.float32(1 / 255) if obs.dtype == np.uint8 else obs.astype(np.float32)
            return torch.from_numpy(x)

        def q_values(self, obs):
            with torch.no_grad():
                return self.online(self._tensor(obs)).numpy()

        def sync_target(self):
            self.target.load_state_dict(self.online.state_dict())

        def learn(self, obs, actions, rewards, next_obs, terminated):
            c = self.config
            with torch.no_grad():
                nxt = self._tensor(next_obs)
                q_next = self.target(nxt)
                best = self.online(nxt).argmax(1) if c.double else q_next.argmax(1)
                q_next = q_next.gather(1, best[:, None])[:, 0]
                r = torch.from_numpy(np.clip(rewards, -1, 1) if c.clip_rewards else rewards)
                y = r + c.gamma * (1 - torch.from_numpy(terminated.astype(np.float32))) * q_next
            q = self.online(self._tensor(obs)).gather(1, torch.from_numpy(actions)[:, None])[:, 0]
            loss = torch.nn.functional.smooth_l1_loss(q, y)
            self.optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.online.parameters(), c.max_grad_norm)
            self.optimizer.step()
            self.updates += 1
            return loss.item()

    return TorchDQN


# ---- environments ------------------------------------------------------------------------------------
class SyntheticFrames:
    """Random (4, 84, 84) uint8 observations, 4 actions, episodes of 500 steps."""

    def __init__(self, seed=0):
        import types
        self.rng = np.random.default_rng(seed)
        self.action_space = types.SimpleNamespace(n=4)
        self.observation_space = types.SimpleNamespace(shape=(4, 84, 84))

    def reset(self, seed=None, options=None):
        self.t = 0
        return self.rng.integers(0, 256, (4, 84, 84), dtype=np.uint8), {}

    def step(self, action):
        self.t += 1
        obs = self.rng.integers(0, 256, (4, 84, 84), dtype=np.uint8)
        return obs, float(self.rng.random() < 0.01), False, self.t >= 500, {}


def make_case(name):
    if name == "cartpole":
        env = rl.make_env("CartPole-v1")
        return "CartPole-v1", env, rl.DQNConfig.cartpole(), np.float32
    try:
        env = rl.make_env("ALE/Breakout-v5")
        label = "ALE/Breakout-v5"
    except rl.MissingDependency:
        env, label = SyntheticFrames(), "synthetic (4, 84, 84) frames"
    return label, env, rl.DQNConfig.atari(), np.uint8


# ---- timing ----------------------------------------------------------------------------------------------
def run_once(cls, env, config, dtype, warmup, steps, seed):
    import dataclasses
    config = dataclasses.replace(config, total_steps=warmup, learning_starts=min(config.learning_starts, warmup),
                                 buffer_size=min(config.buffer_size, warmup + steps + 10),
                                 eps_start=1.0, eps_end=0.1, eps_decay_steps=warmup, target_update=1000)
    dk.manual_seed(seed)
    agent = cls(env.observation_space.shape, env.action_space.n, config, seed=seed)
    buffer = agent.make_buffer(dtype)
    agent.fit(env, buffer)                       # fill the buffer, first gradient steps
    agent.config.total_steps = warmup + steps
    wall, cpu = time.perf_counter(), time.process_time()
    agent.fit(env, buffer)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return steps / wall, steps / cpu


def bench(case, impls, rounds, warmup, steps):
    label, env, config, dtype = make_case(case)
    results = {name: [] for name in impls}
    for r in range(rounds):
        for name, cls in impls.items():
            results[name].append(run_once(cls, env, config, dtype, warmup, steps, seed=r))
            print(f"  {case} round {r + 1} {name}: {results[name][-1][0]:.1f} steps/s wall, "
                  f"{results[name][-1][1]:.1f} steps/CPU-s", file=sys.stderr, flush=True)
    return label, config, {name: (statistics.median(v[0] for v in res), statistics.median(v[1] for v in res))
                           for name, res in results.items()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--cases", nargs="+", default=["cartpole", "atari"], choices=["cartpole", "atari"])
    p.add_argument("--cartpole-steps", type=int, default=3000)
    p.add_argument("--atari-steps", type=int, default=400)
    p.add_argument("--warmup", type=int, default=1000, help="untimed steps that fill the buffer first")
    p.add_argument("--out", help="also write the Markdown table to this file")
    args = p.parse_args(argv)

    dk.set_num_threads(args.threads)
    impls = {"deepkern": rl.DQN}
    try:
        import torch
        torch.set_num_threads(args.threads)
        impls["PyTorch"] = torch_dqn_class()
        torch_version = torch.__version__
    except ImportError:
        torch_version = "not installed"
    lines = ["| case | network, batch, updates | deepkern steps/s | PyTorch steps/s | deepkern / PyTorch |",
             "|---|---|---|---|---|"]
    for case in args.cases:
        steps = args.cartpole_steps if case == "cartpole" else args.atari_steps
        label, config, res = bench(case, impls, args.rounds, args.warmup, steps)
        net = "MLP 4-128-128-2" if case == "cartpole" else "Nature CNN on 4x84x84"
        shape = f"{net}, batch {config.batch_size}, 1 update / {config.train_freq} steps"
        d = res["deepkern"]
        t = res.get("PyTorch")
        for k, unit in ((0, "wall"), (1, "per CPU-s")):
            tt = f"{t[k]:.1f}" if t else "-"
            ratio = f"{d[k] / t[k]:.2f}x" if t else "-"
            lines.append(f"| {label} ({unit}) | {shape} | {d[k]:.1f} | {tt} | {ratio} |")
    about = (f"- deepkern {dk.__version__}, PyTorch {torch_version}, NumPy {np.__version__}, Python "
             f"{platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores; {args.threads} thread(s) "
             f"for both; load average before: {os.getloadavg()[0]:.1f}\n"
             f"- median of {args.rounds} alternating rounds; each round {args.warmup} untimed warm-up steps, then "
             f"{args.cartpole_steps} (CartPole) / {args.atari_steps} (Atari) timed steps at ε = 0.1\n"
             f"- command: python benchmarks/rl_throughput.py {' '.join(argv if argv is not None else sys.argv[1:])}")
    text = about + "\n\n" + "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "a") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
