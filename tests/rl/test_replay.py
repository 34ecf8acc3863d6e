"""Replay buffer: observations rebuilt from one stored frame per step equal gymnasium's
FrameStackObservation output (across episode starts and wrap-around), uniform sampling over
valid transitions only, checkpoints, errors."""
from collections import Counter

import numpy as np
import pytest

from deepkern import rl


class CountingFrames:
    """A gymnasium-style env whose frame after step t of episode e is filled with a unique
    counter value; episodes end (terminated or truncated) at random lengths 1..9."""

    def __init__(self, seed, shape=(3, 2)):
        import gymnasium as gym
        self.observation_space = gym.spaces.Box(0, 255, shape, np.uint8)
        self.action_space = gym.spaces.Discrete(3)
        self.metadata, self.render_mode, self.spec = {}, None, None
        self.np_random = np.random.default_rng(seed)
        self.counter = 0

    def _frame(self):
        self.counter += 1
        return np.full(self.observation_space.shape, self.counter % 251, np.uint8)

    def reset(self, seed=None, options=None):
        self.left = int(self.np_random.integers(1, 10))
        return self._frame(), {}

    def step(self, action):
        self.left -= 1
        end = self.left == 0
        terminated = end and self.counter % 2 == 0
        return self._frame(), float(action) - 1.0, terminated, end and not terminated, {}

    def close(self):
        pass


def _stacked_env(seed, k=4):
    gym = pytest.importorskip("gymnasium")

    class Env(CountingFrames, gym.Env):
        pass

    return gym.wrappers.FrameStackObservation(Env(seed), k)


def _fill(buffer, env, steps, rng):
    """Drive env with random actions into buffer; return every transition as recorded."""
    transitions = []
    obs, _ = env.reset(seed=0)
    buffer.start(obs)
    for _ in range(steps):
        a = int(rng.integers(3))
        nxt, r, term, trunc, _ = env.step(a)
        buffer.add(a, r, term, nxt, done=term or trunc)
        transitions.append((np.asarray(obs).copy(), a, r, np.asarray(nxt).copy(), term))
        obs = nxt
        if term or trunc:
            obs, _ = env.reset()
            buffer.start(obs)
    return transitions


def test_stacks_rebuilt_from_single_frames_equal_framestack():
    env = _stacked_env(seed=1)
    buffer = rl.ReplayBuffer(1000, (4, 3, 2), dtype=np.uint8, frame_stack=4)
    transitions = _fill(buffer, env, 300, np.random.default_rng(0))
    assert buffer.frames.shape == (1000, 3, 2)  # one frame per slot, not four
    valid = np.flatnonzero(buffer.valid)
    assert len(valid) == len(buffer) == 300
    for i, (obs, a, r, nxt, term) in zip(valid, transitions):
        np.testing.assert_array_equal(buffer.observations([i])[0], obs)
        np.testing.assert_array_equal(buffer.observations([(i + 1) % 1000])[0], nxt)
        assert (buffer.actions[i], buffer.rewards[i], buffer.terminated[i]) == (a, r, term)


def test_wrapped_buffer_samples_only_intact_transitions():
    env = _stacked_env(seed=2)
    buffer = rl.ReplayBuffer(37, (4, 3, 2), dtype=np.uint8, frame_stack=4)  # wraps many times
    transitions = _fill(buffer, env, 500, np.random.default_rng(1))
    assert buffer.size == 37 and len(buffer) < 37
    recorded = {(o.tobytes(), a, r, n.tobytes(), t) for o, a, r, n, t in transitions[-40:]}
    obs, actions, rewards, nxt, term = buffer.sample(2000, np.random.default_rng(0))
    assert obs.shape == nxt.shape == (2000, 4, 3, 2) and obs.dtype == np.uint8
    for row in zip(obs, actions, rewards, nxt, term):
        key = (row[0].tobytes(), int(row[1]), float(row[2]), row[3].tobytes(), bool(row[4]))
        assert key in recorded


def test_sampling_is_uniform_over_valid_transitions():
    buffer = rl.ReplayBuffer(16, (2,), dtype=np.float32)
    # Two episodes: 6 and 4 steps -> 10 transitions, 12 slots (each final observation has none).
    for episode, length in enumerate((6, 4)):
        buffer.start(np.zeros(2, np.float32))
        for t in range(length):
            buffer.add(t % 2, 10.0 * episode + t, t == length - 1, np.full(2, t + 1, np.float32))
    assert len(buffer) == 10 and buffer.size == 12
    n = 100_000
    _, _, rewards, _, term = buffer.sample(n, np.random.default_rng(0))
    counts = Counter(rewards.tolist())  # the reward names the transition
    assert len(counts) == 10
    expected = n / 10
    chi2 = sum((c - expected) ** 2 / expected for c in counts.values())
    assert chi2 < 27.9  # chi-square, 9 degrees of freedom, p = 0.001
    assert term.sum() == pytest.approx(n / 5, rel=0.05)  # 2 terminal transitions of 10


def test_state_dict_round_trip(tmp_path):
    import deepkern as dk
    buffer = rl.ReplayBuffer(50, (3,), dtype=np.float32)
    rng = np.random.default_rng(0)
    buffer.start(rng.standard_normal(3).astype(np.float32))
    for t in range(70):
        buffer.add(t % 2, 1.0, t % 9 == 8, rng.standard_normal(3).astype(np.float32), done=t % 9 == 8)
        if t % 9 == 8:
            buffer.start(rng.standard_normal(3).astype(np.float32))
    dk.save(buffer.state_dict(), tmp_path / "buffer.ckpt")
    other = rl.ReplayBuffer(50, (3,), dtype=np.float32)
    other.load_state_dict(dk.load(tmp_path / "buffer.ckpt"))
    for a, b in zip(buffer.sample(64, np.random.default_rng(5)), other.sample(64, np.random.default_rng(5))):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="saved capacity 50"):
        rl.ReplayBuffer(60, (3,)).load_state_dict(buffer.state_dict())


def test_errors():
    with pytest.raises(ValueError, match="obs_shape must start with 4"):
        rl.ReplayBuffer(10, (84, 84), np.uint8, frame_stack=4)
    with pytest.raises(ValueError, match="capacity must be >= 2"):
        rl.ReplayBuffer(1, (2,))
    buffer = rl.ReplayBuffer(10, (2,))
    with pytest.raises(ValueError, match="holds no transitions"):
        buffer.sample(4, np.random.default_rng(0))
    with pytest.raises(RuntimeError, match="no open episode"):
        buffer.add(0, 0.0, False, np.zeros(2))
    with pytest.raises(ValueError, match=r"observation has shape \(3,\), expected \(2,\)"):
        buffer.start(np.zeros(3))
