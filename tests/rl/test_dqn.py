"""DQN: the Nature network, the TD targets (DQN and Double DQN, reward clipping), target-network
sync every C steps, checkpoints and resume, and a short seeded CartPole run that learns."""
import dataclasses

import numpy as np
import pytest

import deepkern as dk
from deepkern import nn, rl


class Corridor:
    """A gymnasium-style env with vector observations: position x in [-1, 1] observed as
    (x, 1); action 1 moves right by 0.25, action 0 left, but one move in five (drawn from the
    reset's seed) goes the other way. Reaching x >= 1 pays 1 and ends; every 20 steps the
    episode is truncated."""

    def __init__(self):
        import types
        self.action_space = types.SimpleNamespace(n=2)
        self.rng = np.random.default_rng()

    def _obs(self):
        return np.array([self.x, 1.0], np.float32)

    def reset(self, seed=None, options=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.x, self.t = 0.0, 0
        return self._obs(), {}

    def step(self, action):
        move = 0.25 if action == 1 else -0.25
        self.x = float(np.clip(self.x + (-move if self.rng.random() < 0.2 else move), -1, 1))
        self.t += 1
        done = self.x >= 1.0
        return self._obs(), float(done), done, self.t >= 20 and not done, {}


def _agent(config=None, seed=0, network=None):
    dk.manual_seed(seed)
    return rl.DQN((2,), 2, config or rl.DQNConfig(hidden=(8,)), seed=seed, network=network)


def test_nature_network():
    dk.manual_seed(0)
    net = rl.NatureQNetwork(n_actions=4)
    # 8224 + 32832 + 36928 (convolutions) + 1606144 + 2052 (linear): the paper's 1.69M weights.
    assert net.num_parameters() == 1_686_180
    q = net(dk.Tensor(np.random.default_rng(0).random((2, 4, 84, 84), dtype=np.float32)))
    assert q.shape == (2, 4)
    assert isinstance(rl.q_network_for((4, 84, 84), 6), rl.NatureQNetwork)
    assert isinstance(rl.q_network_for((4,), 2), nn.Sequential)
    with pytest.raises(ValueError, match=r"no Q-network for observations of shape \(3, 32, 32\)"):
        rl.q_network_for((3, 32, 32), 2)


@pytest.mark.parametrize("double", [False, True])
@pytest.mark.parametrize("clip", [False, True])
def test_td_targets(double, clip):
    """With Q(s) = W s (one linear layer), the loss of learn() is the hand-computed one."""
    config = rl.DQNConfig(loss="mse", double=double, clip_rewards=clip, gamma=0.5, lr=1e-9)
    agent = _agent(config, network=nn.Linear(2, 2, bias=False))
    w_online = np.array([[1.0, 0.0], [0.0, 2.0]], np.float32)
    w_target = np.array([[3.0, 0.0], [0.0, 1.0]], np.float32)
    agent.online.weight.data[:] = w_online
    agent.target.weight.data[:] = w_target
    obs = np.array([[1.0, 1.0], [2.0, 0.0]], np.float32)
    actions = np.array([1, 0])
    rewards = np.array([5.0, -0.5], np.float32)
    nxt = np.array([[1.0, 1.0], [1.0, 1.0]], np.float32)
    terminated = np.array([False, True])
    # Q_target(s') = (3, 1); Q_online(s') = (1, 2): DQN bootstraps max = 3, Double picks
    # argmax online = 1 and evaluates it with the target: 1.
    bootstrap = 1.0 if double else 3.0
    r = np.clip(rewards, -1, 1) if clip else rewards
    y = np.array([r[0] + 0.5 * bootstrap, r[1]])
    q_taken = np.array([2.0, 2.0])  # Q_online(s0)[1] = 2, Q_online(s1)[0] = 2
    loss = agent.learn(obs, actions, rewards, nxt, terminated)
    assert loss == pytest.approx(np.mean((q_taken - y) ** 2), rel=1e-6)


def test_gradient_step_moves_q_toward_target():
    config = rl.DQNConfig(loss="mse", lr=0.1, optimizer="rmsprop", max_grad_norm=0.0)
    agent = _agent(config, network=nn.Linear(2, 2, bias=False))
    obs = np.array([[1.0, 0.0]], np.float32)
    batch = (obs, np.array([0]), np.array([1.0], np.float32), obs, np.array([True]))
    before = agent.q_values(obs)[0]
    agent.learn(*batch)
    after = agent.q_values(obs)[0]
    assert abs(after[0] - 1.0) < abs(before[0] - 1.0)   # the taken action's value moved
    assert after[1] == pytest.approx(before[1])          # the other one did not


def test_gradient_norm_is_clipped(monkeypatch):
    seen = []
    real = nn.utils.clip_grad_norm_

    def spy(params, max_norm):
        params = list(params)
        seen.append(real(params, max_norm))
        seen.append(np.sqrt(sum(float((p.grad.data ** 2).sum()) for p in params)))
        return seen[-2]

    monkeypatch.setattr(nn.utils, "clip_grad_norm_", spy)
    agent = _agent(rl.DQNConfig(loss="mse", max_grad_norm=0.01, hidden=(8,)))
    obs = np.ones((4, 2), np.float32)
    agent.learn(obs, np.zeros(4, np.int64), np.full(4, 100.0, np.float32), obs, np.ones(4, bool))
    total_before, total_after = seen
    assert total_before > 0.01 and total_after == pytest.approx(0.01, rel=1e-3)


def test_target_network_synced_every_c_steps():
    config = rl.DQNConfig(loss="mse", total_steps=25, target_update=10, learning_starts=1, batch_size=4,
                          buffer_size=100, hidden=(8,), lr=0.05)
    agent = _agent(config)
    syncs = []
    real_sync = agent.sync_target
    agent.sync_target = lambda: (syncs.append(agent.step), real_sync())
    env, buffer = Corridor(), agent.make_buffer(np.float32)
    agent.fit(env, buffer, until=20)
    at_20 = {k: v.copy() for k, v in agent.online.state_dict().items()}
    agent.fit(env, buffer)  # continues the same episode to step 25
    assert syncs == [10, 20] and agent.step == 25 and agent.updates == 25
    target, online = agent.target.state_dict(), agent.online.state_dict()
    for k, v in at_20.items():
        np.testing.assert_array_equal(target[k], v)   # θ⁻ = θ as of step 20
    assert any(not np.array_equal(online[k], v) for k, v in at_20.items())  # θ moved since
    assert len(buffer) == 25  # one episode-continuing stream: no transition lost at the cut


def test_epsilon_is_linear_in_steps():
    agent = _agent(rl.DQNConfig(eps_start=1.0, eps_end=0.1, eps_decay_steps=100))
    assert [agent.epsilon(t) for t in (0, 50, 100, 1000)] == pytest.approx([1.0, 0.55, 0.1, 0.1])
    explored = sum(agent.act(np.zeros(2, np.float32), 1.0) for _ in range(400))
    assert 150 < explored < 250  # ε = 1: uniformly random among 2 actions


def _same_state(a, b, where="state"):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _same_state(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _same_state(x, y, f"{where}[{i}]")
    else:
        np.testing.assert_array_equal(a, b, err_msg=where)


def test_resume_takes_exactly_the_steps_of_an_uninterrupted_run(tmp_path):
    config = rl.DQNConfig(loss="mse", total_steps=70, learning_starts=5, batch_size=8, buffer_size=200,
                          target_update=7, eps_decay_steps=50, hidden=(8,), eval_every=20, eval_episodes=2)
    whole = _agent(config)
    whole_buffer = whole.make_buffer(np.float32)
    whole.fit(Corridor(), whole_buffer, eval_env=Corridor())

    first = _agent(config)
    env, buffer = Corridor(), first.make_buffer(np.float32)
    first.fit(env, buffer, until=33, eval_env=Corridor())  # mid-episode
    assert first.episodes.actions  # an episode is in progress at the cut
    dk.save({"agent": first.state_dict(), "buffer": buffer.state_dict()}, tmp_path / "dqn.ckpt")
    state = dk.load(tmp_path / "dqn.ckpt")

    second = _agent(config, seed=123)  # other seed and init: everything comes from the checkpoint
    second.load_state_dict(state["agent"])
    assert second.step == 33 and second.epsilon(second.step) == pytest.approx(first.epsilon(33))
    buffer2 = second.make_buffer(np.float32)
    buffer2.load_state_dict(state["buffer"])
    second.fit(Corridor(), buffer2, eval_env=Corridor())  # a new env: the episode is replayed
    assert second.step == 70 and second.updates == whole.updates == 66
    _same_state(second.state_dict(), whole.state_dict())
    _same_state(buffer2.state_dict(), whole_buffer.state_dict())
    assert [s for s, _, _ in whole.evaluations] == [20, 40, 60, 70] and len(whole.episode_returns) == 3

    third = _agent(config)  # resumed without the buffer: learning waits for 5 new transitions
    third.load_state_dict(state["agent"])
    third.fit(Corridor(), third.make_buffer(np.float32), until=40)
    assert third.updates == first.updates + 40 - 33 - 4
    with pytest.raises(ValueError, match="checkpoint is for observations"):
        rl.DQN((3,), 2, config).load_state_dict(state["agent"])


@pytest.mark.parametrize("field, value, match", [
    ("loss", "l1", "loss must be one of"), ("optimizer", "sgd", "optimizer must be one of"),
    ("gamma", 1.5, "gamma must be in"), ("batch_size", 0, "batch_size must be >= 1"),
    ("eval_epsilon", -0.1, "eval_epsilon must be in"), ("max_grad_norm", -1.0, r"max_grad_norm must be >= 0, got -1.0"),
])
def test_config_errors(field, value, match):
    with pytest.raises(ValueError, match=match):
        rl.DQNConfig(**{field: value}).validate()


def test_cartpole_improves():
    pytest.importorskip("gymnasium")
    dk.manual_seed(0)
    env, eval_env = rl.make_env("CartPole-v1"), rl.make_env("CartPole-v1")
    # 1,500 steps of a 64x64 network (seeds 0, 1, 2 reach 120, 366, 235): about 1.4 s of CPU.
    config = rl.DQNConfig(total_steps=1500, learning_starts=200, eps_decay_steps=1000, eval_every=1500,
                          eval_episodes=5, target_update=100, hidden=(64, 64), batch_size=32)
    agent = rl.DQN(env.observation_space.shape, env.action_space.n, config, seed=0)
    random = rl.evaluate(eval_env, agent, 5, epsilon=1.0, seed=1).mean()
    agent.fit(env, agent.make_buffer(np.float32), eval_env=eval_env)
    (step, trained, _), = agent.evaluations
    assert step == 1500 and random < 40
    assert trained > 100  # a random policy lasts ~22 steps
