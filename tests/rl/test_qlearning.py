"""Tabular Q-learning: the update's arithmetic, convergence to value iteration's Q* on a tiny
deterministic MDP, the FrozenLake model, and the checks on environments."""
import numpy as np
import pytest

from deepkern import rl


class ChainMDP:
    """States 0..4 in a row; action 1 moves right, action 0 left (wall at 0). Reaching state 4
    pays 1 and ends the episode; every other step pays -0.01. A time limit of 50 steps
    truncates. ``P`` is the same model in gymnasium's toy-text format."""

    n_states, n_actions, goal = 5, 2, 4

    def __init__(self):
        self.P = {s: {a: [(1.0, *self._move(s, a))] for a in range(2)} for s in range(self.n_states)}

    def _move(self, s, a):
        if s == self.goal:
            return s, 0.0, True
        s2 = min(s + 1, self.goal) if a == 1 else max(s - 1, 0)
        return s2, (1.0 if s2 == self.goal else -0.01), s2 == self.goal

    def reset(self, seed=None, options=None):
        self.s, self.t = 0, 0
        return self.s, {}

    def step(self, a):
        self.s, r, terminated = self._move(self.s, int(a))
        self.t += 1
        return self.s, r, terminated, self.t >= 50 and not terminated, {}


def test_update_arithmetic():
    agent = rl.QLearning(3, 2, alpha=0.5, gamma=0.9, seed=0)
    agent.q[:] = [[1.0, 2.0], [3.0, -1.0], [0.0, 0.0]]
    # Q(0,1) <- 2 + 0.5 * (0.5 + 0.9 * max(3, -1) - 2) = 2 + 0.5 * 1.2 = 2.6
    td = agent.update(0, 1, 0.5, 1, terminated=False)
    assert td == pytest.approx(1.2)
    assert agent.q[0, 1] == pytest.approx(2.6)
    # terminal: no bootstrap. Q(1,0) <- 3 + 0.5 * (1 - 3) = 2
    assert agent.update(1, 0, 1.0, 0, terminated=True) == pytest.approx(-2.0)
    assert agent.q[1, 0] == pytest.approx(2.0)
    assert agent.q[2].tolist() == [0.0, 0.0]


def test_value_iteration_on_the_chain():
    # Optimal: always right. V*(s) from 3 is 1, from 2: -0.01 + 0.9 * 1, ...
    q = rl.value_iteration(ChainMDP().P, gamma=0.9)
    v = [1.0]
    for _ in range(3):
        v.insert(0, -0.01 + 0.9 * v[0])
    np.testing.assert_allclose(q[:4, 1], v, rtol=1e-12)
    np.testing.assert_allclose(q[0, 0], -0.01 + 0.9 * q[0].max(), rtol=1e-12)  # the wall: stay at 0
    assert q[4].tolist() == [0.0, 0.0]  # terminal state


def test_converges_to_value_iteration():
    env = ChainMDP()
    # Q-learning is off-policy: a uniformly random behaviour (ε = 1) visits every pair often.
    agent = rl.QLearning(env.n_states, env.n_actions, alpha=0.5, gamma=0.9, epsilon=1.0, seed=0)
    agent.fit(env, until=6000)
    np.testing.assert_allclose(agent.q, rl.value_iteration(env.P, gamma=0.9), atol=1e-6)
    assert [agent.greedy_action(s) for s in range(4)] == [1, 1, 1, 1]


def test_epsilon_schedule_and_greedy_ties():
    eps = rl.LinearSchedule(1.0, 0.1, 10)
    assert [eps(t) for t in (0, 5, 10, 50)] == pytest.approx([1.0, 0.55, 0.1, 0.1])
    agent = rl.QLearning(1, 4, seed=0)
    picks = {agent.greedy_action(0) for _ in range(200)}  # all-zero row: every action is greedy
    assert picks == {0, 1, 2, 3}
    agent.q[0, 2] = 1.0
    assert {agent.act(0, epsilon=0.0) for _ in range(50)} == {2}


def test_fit_counts_steps_and_continues_episodes():
    env = ChainMDP()
    agent = rl.QLearning(5, 2, epsilon=rl.LinearSchedule(1.0, 0.0, 100), seed=0)
    agent.fit(env, until=37)
    agent.fit(env, until=300)  # the episode in progress at step 37 goes on
    assert agent.step == 300
    steps = [s for s, _ in agent.episode_returns]
    lengths = np.diff([0] + steps)
    assert all(4 <= n <= 50 for n in lengths)  # no episode was cut at step 37
    assert agent.episode_returns[-1][1] == pytest.approx(1.0 - 3 * 0.01)  # greedy at the end: 4 steps right


def test_resume_takes_exactly_the_steps_of_an_uninterrupted_run(tmp_path):
    import deepkern as dk
    pytest.importorskip("gymnasium")
    whole = rl.QLearning(16, 4, epsilon=0.3, seed=3)
    whole.fit(rl.make_env("FrozenLake-v1"), until=500)
    agent = rl.QLearning(16, 4, epsilon=0.3, seed=3)
    agent.fit(rl.make_env("FrozenLake-v1"), until=203)
    assert agent.episodes.actions  # cut mid-episode
    dk.save(agent.state_dict(), tmp_path / "q.ckpt")
    other = rl.QLearning(16, 4, epsilon=0.3, seed=99)
    other.load_state_dict(dk.load(tmp_path / "q.ckpt"))
    np.testing.assert_array_equal(other.q, agent.q)
    other.fit(rl.make_env("FrozenLake-v1"), until=500)  # a new env: the slippery episode is replayed
    np.testing.assert_array_equal(other.q, whole.q)
    assert other.episode_returns == whole.episode_returns and other.step == 500
    assert [other.act(0, 0.5) for _ in range(20)] == [whole.act(0, 0.5) for _ in range(20)]
    with pytest.raises(ValueError, match="q has shape"):
        rl.QLearning(4, 2).load_state_dict(agent.state_dict())


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_states=0, n_actions=2), "n_states must be a positive int"),
    (dict(n_states=3, n_actions=2, alpha=0.0), "alpha must be in"),
    (dict(n_states=3, n_actions=2, gamma=1.5), "gamma must be in"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        rl.QLearning(**kwargs)


# ---- on gymnasium ------------------------------------------------------------------------------
def test_deterministic_frozenlake_is_solved():
    pytest.importorskip("gymnasium")
    env = rl.make_env("FrozenLake-v1", is_slippery=False)
    agent = rl.QLearning(16, 4, alpha=0.5, gamma=0.95, epsilon=rl.LinearSchedule(1.0, 0.05, 3000), seed=0)
    agent.fit(env, until=6000)
    returns = np.array([r for _, r in agent.episode_returns])
    assert returns[:50].mean() < 0.2  # random play rarely reaches the goal
    success = rl.evaluate_policy(env, agent.greedy_action, episodes=10, seed=1)
    assert success.tolist() == [1.0] * 10


def test_frozenlake_optimum_from_value_iteration():
    pytest.importorskip("gymnasium")
    env = rl.make_env("FrozenLake-v1")
    q = rl.value_iteration(env.unwrapped.P, gamma=0.99)
    policy = q.argmax(axis=1)
    # The optimal slippery policy succeeds about 74% of the time (100-step limit included).
    success = rl.evaluate_policy(env, lambda s: int(policy[s]), episodes=1000, seed=0).mean()
    assert 0.68 <= success <= 0.80


def test_environment_errors():
    pytest.importorskip("gymnasium")
    with pytest.raises(ValueError, match="unknown environment 'NoSuchEnv-v0'"):
        rl.make_env("NoSuchEnv-v0")
    cartpole = rl.make_env("CartPole-v1")
    with pytest.raises(ValueError, match="qlearning: needs a discrete \\(tabular\\) observation space, "
                                         "but CartPole-v1 has observations Box"):
        rl.require_discrete("qlearning", "CartPole-v1", cartpole, observations=True)
    pendulum = rl.make_env("Pendulum-v1")
    with pytest.raises(ValueError, match="dqn: needs a discrete action space, but Pendulum-v1 has actions Box"):
        rl.require_discrete("dqn", "Pendulum-v1", pendulum)


def test_missing_gymnasium_says_what_to_install(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "gymnasium", None)  # import gymnasium -> ImportError
    with pytest.raises(rl.MissingDependency, match=r"needs gymnasium: pip install 'deepkern\[rl\]'"):
        rl.make_env("CartPole-v1")
