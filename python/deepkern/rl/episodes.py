"""The episode stream of a training run: seeded resets and an exact resume.

Episode i of a run starts with ``env.reset(seed=s_i)``, s_i drawn from (run seed, i), and the
actions of the episode in progress are kept. A checkpoint saves (seed, episodes finished,
actions so far); after a resume, ``attach`` rebuilds the very same environment state by the
seeded reset and a replay of those actions (gymnasium's environments, the ALE included, are
deterministic given the reset seed and the actions), so a resumed run takes exactly the steps
an uninterrupted one takes.
"""
from __future__ import annotations

import numpy as np

__all__ = ["Episodes"]


class Episodes:
    """Plays one environment a step at a time: ``obs``/``info`` are the latest observation
    and info, ``total`` the return so far of the episode in progress, ``count`` the episodes
    finished."""

    def __init__(self, seed: int):
        self.seed, self.count = int(seed), 0
        self.actions = []
        self.total = 0.0
        self.env = self.obs = None
        self.info = {}

    def episode_seed(self, i: int) -> int:
        return int(np.random.SeedSequence([self.seed, int(i)]).generate_state(1)[0])

    def attach(self, env) -> bool:
        """Play ``env`` from now on, continuing the episode in progress (replayed on a new env).
        Returns True when ``env`` was (re)started, i.e. ``obs`` is new to the caller."""
        if env is self.env:
            return False
        self.env = env
        self.obs, self.info = env.reset(seed=self.episode_seed(self.count))
        self.total = 0.0
        for i, action in enumerate(self.actions):
            self.obs, reward, terminated, truncated, self.info = env.step(action)
            self.total += float(reward)
            if (terminated or truncated) and i + 1 < len(self.actions):
                raise RuntimeError("Episodes.attach: the replayed episode ended early: the environment is not "
                                   "deterministic given its reset seed and actions")
        return True

    def step(self, action: int):
        """``env.step(action)``; returns (obs, reward, terminated, truncated, info)."""
        self.obs, reward, terminated, truncated, self.info = self.env.step(action)
        self.actions.append(int(action))
        self.total += float(reward)
        return self.obs, reward, terminated, truncated, self.info

    def next_episode(self) -> float:
        """Close the episode that just ended (returns its return) and reset for the next."""
        finished = self.total
        self.count += 1
        self.actions, self.total = [], 0.0
        self.obs, self.info = self.env.reset(seed=self.episode_seed(self.count))
        return finished

    def state_dict(self) -> dict:
        return {"seed": self.seed, "count": self.count, "actions": np.asarray(self.actions, dtype=np.int64)}

    def load_state_dict(self, state: dict) -> None:
        self.seed, self.count = int(state["seed"]), int(state["count"])
        self.actions = [int(a) for a in np.asarray(state["actions"]).reshape(-1)]
        self.env = self.obs = None  # the next attach replays the episode
        self.info, self.total = {}, 0.0
