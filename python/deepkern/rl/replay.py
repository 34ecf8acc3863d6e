"""Experience replay preallocated as arrays, with stacked observations stored one frame each.

An Atari observation is the last 4 frames (4, 84, 84); consecutive observations share 3 of
them, so storing whole observations would store every frame 4 times (twice more for next
observations). The buffer keeps a circular stream of *slots* instead, one per observation of
an episode, holding only that observation's newest frame (84, 84) uint8 plus:

    action[i], reward[i], terminated[i]   the transition from slot i to slot i + 1
    valid[i]                             slot i + 1 is the next observation of the same episode
    first[i]                             slot i is an episode's first observation

An episode of T steps takes T + 1 slots (the final observation has no transition of its own).
The observation at slot i is rebuilt by walking back from i: frames before the episode's first
slot are that first frame again, which is exactly what gymnasium's FrameStackObservation
(padding "reset") returned. With ``frame_stack=1`` (e.g. CartPole's 4 floats) a slot holds the
whole observation.

Sampling is uniform over the valid transitions currently stored (rejection of the few invalid
slots). When the buffer is full, the oldest ``frame_stack - 1`` slots are not sampled: the
frames behind them have been overwritten.

    buffer = ReplayBuffer(100_000, obs_shape=(4, 84, 84), dtype=np.uint8, frame_stack=4)
    buffer.start(obs)                           # after env.reset()
    buffer.add(action, reward, terminated, next_obs)  # after env.step(); start() again after an end
    obs, actions, rewards, next_obs, terminated = buffer.sample(32, rng)
"""
from __future__ import annotations

import numpy as np

__all__ = ["ReplayBuffer"]

_STATE_ARRAYS = ("frames", "actions", "rewards", "terminated", "valid", "first")


class ReplayBuffer:
    """``capacity`` slots (≈ transitions) of observations of shape ``obs_shape``; with
    ``frame_stack`` k > 1, obs_shape is (k, *frame_shape) and each slot stores one frame."""

    def __init__(self, capacity: int, obs_shape, dtype=np.float32, frame_stack: int = 1):
        obs_shape = tuple(int(d) for d in obs_shape)
        if int(capacity) < 2:
            raise ValueError(f"ReplayBuffer: capacity must be >= 2, got {capacity}")
        if int(frame_stack) < 1:
            raise ValueError(f"ReplayBuffer: frame_stack must be >= 1, got {frame_stack}")
        if frame_stack > 1 and (not obs_shape or obs_shape[0] != frame_stack):
            raise ValueError(f"ReplayBuffer: with frame_stack={frame_stack} obs_shape must start with "
                             f"{frame_stack}, got {obs_shape}")
        self.capacity, self.frame_stack, self.obs_shape = int(capacity), int(frame_stack), obs_shape
        frame_shape = obs_shape[1:] if frame_stack > 1 else obs_shape
        self.frames = np.zeros((self.capacity, *frame_shape), dtype=dtype)
        self.actions = np.zeros(self.capacity, dtype=np.int64)
        self.rewards = np.zeros(self.capacity, dtype=np.float32)
        self.terminated = np.zeros(self.capacity, dtype=bool)
        self.valid = np.zeros(self.capacity, dtype=bool)
        self.first = np.zeros(self.capacity, dtype=bool)
        self.pos = 0      # the next slot to write
        self.size = 0     # slots written, at most capacity
        self.transitions = 0  # valid transitions stored
        self._open = False    # an episode is being recorded (add() allowed)

    def __len__(self):
        return self.transitions

    @property
    def recording(self) -> bool:
        """An episode is open: ``add`` continues it."""
        return self._open

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, name).nbytes for name in _STATE_ARRAYS)

    def _newest_frame(self, obs):
        obs = np.asarray(obs)
        if obs.shape != self.obs_shape:
            raise ValueError(f"ReplayBuffer: observation has shape {obs.shape}, expected {self.obs_shape}")
        return obs[-1] if self.frame_stack > 1 else obs

    def _write(self, obs, first: bool) -> None:
        i = self.pos
        if self.valid[i]:
            self.transitions -= 1
        self.frames[i] = self._newest_frame(obs)
        self.first[i], self.valid[i], self.terminated[i] = first, False, False
        self.pos = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def start(self, obs) -> None:
        """Begin an episode at its first observation (after ``env.reset()``)."""
        self._write(obs, first=True)
        self._open = True

    def add(self, action: int, reward: float, terminated: bool, next_obs, done: bool = None) -> None:
        """Record the step from the latest observation: its action, reward and whether the
        episode terminated (no bootstrap from next_obs), then next_obs. ``done`` (default:
        ``terminated``) closes the episode, e.g. on a time limit's truncation; the next episode
        begins with ``start``."""
        if not self._open:
            raise RuntimeError("ReplayBuffer.add: no open episode (call start(obs) after each reset)")
        i = (self.pos - 1) % self.capacity
        self.actions[i], self.rewards[i], self.terminated[i] = int(action), float(reward), bool(terminated)
        self._write(next_obs, first=False)
        self.valid[i] = True
        self.transitions += 1
        self._open = not (terminated if done is None else done)

    # ---- reading -------------------------------------------------------------------------
    def _stack_slots(self, idx: np.ndarray) -> np.ndarray:
        """(B, frame_stack) slot indices of the observations at slots idx, oldest first."""
        k = self.frame_stack
        slots = np.empty((len(idx), k), dtype=np.int64)
        slots[:, k - 1] = idx
        for j in range(k - 2, -1, -1):
            later = slots[:, j + 1]
            slots[:, j] = np.where(self.first[later], later, (later - 1) % self.capacity)
        return slots

    def observations(self, idx) -> np.ndarray:
        """The (stacked) observations at slots idx: (B, *obs_shape)."""
        idx = np.asarray(idx, dtype=np.int64)
        if self.frame_stack == 1:
            return self.frames[idx]
        return self.frames[self._stack_slots(idx)]

    def _sampleable(self, idx: np.ndarray) -> np.ndarray:
        ok = self.valid[idx]
        if self.size == self.capacity and self.frame_stack > 1:
            # Slots pos .. pos + k - 2 are the oldest: their stacks reach back into overwritten slots.
            age = (idx - self.pos) % self.capacity
            ok &= (age >= self.frame_stack - 1) | self.first[idx]
        return ok

    def sample(self, batch_size: int, rng: np.random.Generator):
        """``batch_size`` transitions drawn uniformly (with replacement) from those stored:
        (obs (B, *obs_shape), actions (B,) int64, rewards (B,) float32, next_obs, terminated (B,) bool)."""
        if self.transitions == 0:
            raise ValueError("ReplayBuffer.sample: the buffer holds no transitions yet")
        idx = rng.integers(self.size, size=int(batch_size))
        bad = ~self._sampleable(idx)
        while bad.any():
            idx[bad] = rng.integers(self.size, size=int(bad.sum()))
            bad = ~self._sampleable(idx)
        nxt = (idx + 1) % self.capacity
        return (self.observations(idx), self.actions[idx], self.rewards[idx], self.observations(nxt),
                self.terminated[idx])

    # ---- checkpoints -----------------------------------------------------------------------
    def state_dict(self) -> dict:
        """The stored data (a copy of the used part) and the write position, for dk.save."""
        n = self.size
        state = {name: getattr(self, name)[:n].copy() for name in _STATE_ARRAYS}
        state.update(pos=self.pos, size=n, transitions=self.transitions, open=self._open,
                     capacity=self.capacity, frame_stack=self.frame_stack)
        return state

    def load_state_dict(self, state: dict) -> None:
        if int(state["capacity"]) != self.capacity or int(state["frame_stack"]) != self.frame_stack:
            raise ValueError(f"ReplayBuffer.load_state_dict: saved capacity {state['capacity']} and "
                             f"frame_stack {state['frame_stack']}, this buffer has {self.capacity} and "
                             f"{self.frame_stack}")
        n = int(state["size"])
        frames = np.asarray(state["frames"])
        if frames.shape[1:] != self.frames.shape[1:] or len(frames) != n:
            raise ValueError(f"ReplayBuffer.load_state_dict: saved frames of shape {frames.shape}, "
                             f"expected ({n}, {', '.join(map(str, self.frames.shape[1:]))})")
        for name in _STATE_ARRAYS:
            getattr(self, name)[:n] = state[name]
            getattr(self, name)[n:] = 0
        self.pos, self.size, self.transitions = int(state["pos"]), n, int(state["transitions"])
        self._open = bool(state["open"])
