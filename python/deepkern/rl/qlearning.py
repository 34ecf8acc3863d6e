"""Tabular Q-learning: the Bellman update on small worlds, and value iteration as its oracle.

    Q(s, a) ← Q(s, a) + α [r + γ max_a' Q(s', a') − Q(s, a)]

with the bracket's bootstrap term dropped on a terminal step (the episode really ended; a time
limit's truncation still bootstraps). Behaviour is ε-greedy with ε from a schedule over
environment steps; greedy ties are broken at random so an all-zero row does not always pick action 0.

    agent = QLearning(env.observation_space.n, env.action_space.n, alpha=0.1, gamma=0.99,
                      epsilon=LinearSchedule(1.0, 0.01, 300_000), seed=0)
    agent.fit(env, until=600_000)                 # environment steps
    success = evaluate_policy(env, agent.greedy_action, episodes=1000, seed=1).mean()
"""
from __future__ import annotations

import numpy as np

from .episodes import Episodes
from .schedules import LinearSchedule

__all__ = ["QLearning", "evaluate_policy", "value_iteration"]


class QLearning:
    """A Q-table (n_states, n_actions) of float64, zero-initialized, updated in place.

    ``epsilon`` is ε, a number or a schedule over environment steps (e.g. LinearSchedule);
    ``fit`` counts steps in ``self.step`` and records ``self.episode_returns`` as (step at the
    episode's end, return) pairs.
    """

    def __init__(self, n_states: int, n_actions: int, alpha: float = 0.1, gamma: float = 0.99, epsilon=0.1,
                 seed: int = 0):
        for name, v in (("n_states", n_states), ("n_actions", n_actions)):
            if int(v) != v or v < 1:
                raise ValueError(f"QLearning: {name} must be a positive int, got {v!r}")
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"QLearning: alpha must be in (0, 1], got {alpha}")
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"QLearning: gamma must be in [0, 1], got {gamma}")
        self.q = np.zeros((int(n_states), int(n_actions)))
        self.alpha, self.gamma = float(alpha), float(gamma)
        self.epsilon = epsilon if callable(epsilon) else LinearSchedule(epsilon, epsilon, 0)
        self.seed = int(seed)
        self.rng = np.random.default_rng(seed)
        self.step = 0
        self.episode_returns = []
        self.episodes = Episodes(seed)

    def update(self, state: int, action: int, reward: float, next_state: int, terminated: bool) -> float:
        """One Bellman update of Q(state, action); returns the TD error r + γ max Q(s') − Q(s, a)."""
        bootstrap = 0.0 if terminated else self.gamma * self.q[next_state].max()
        td_error = reward + bootstrap - self.q[state, action]
        self.q[state, action] += self.alpha * td_error
        return float(td_error)

    def greedy_action(self, state: int) -> int:
        """argmax_a Q(state, a), ties broken uniformly at random."""
        row = self.q[state]
        best = np.flatnonzero(row == row.max())
        return int(best[0] if len(best) == 1 else best[self.rng.integers(len(best))])

    def act(self, state: int, epsilon: float) -> int:
        """ε-greedy: a uniformly random action with probability ε, else the greedy one."""
        if self.rng.random() < epsilon:
            return int(self.rng.integers(self.q.shape[1]))
        return self.greedy_action(state)

    def fit(self, env, until: int, progress=None) -> None:
        """Act ε-greedily in a gymnasium env with Discrete spaces from ``self.step`` to
        environment step ``until``, updating after every step. A later call continues the
        episode in progress (after a resume, by a seeded replay: see ``Episodes``).
        ``progress(agent, episode_return)`` is called after each episode."""
        episodes = self.episodes
        episodes.attach(env)
        while self.step < until:
            state = episodes.obs
            action = self.act(state, self.epsilon(self.step))
            next_state, reward, terminated, truncated, _ = episodes.step(action)
            self.update(state, action, reward, next_state, terminated)
            self.step += 1
            if terminated or truncated:
                total = episodes.next_episode()
                self.episode_returns.append((self.step, total))
                if progress is not None:
                    progress(self, total)

    def state_dict(self) -> dict:
        return {"q": self.q.copy(), "alpha": self.alpha, "gamma": self.gamma, "seed": self.seed, "step": self.step,
                "rng": self.rng.bit_generator.state, "episodes": self.episodes.state_dict(),
                "episode_returns": np.asarray(self.episode_returns, dtype=np.float64).reshape(-1, 2)}

    def load_state_dict(self, state: dict) -> None:
        q = np.asarray(state["q"])
        if q.shape != self.q.shape:
            raise ValueError(f"QLearning.load_state_dict: q has shape {q.shape}, expected {self.q.shape}")
        self.q = q.astype(np.float64, copy=True)
        self.alpha, self.gamma = float(state["alpha"]), float(state["gamma"])
        self.seed, self.step = int(state["seed"]), int(state["step"])
        self.rng.bit_generator.state = state["rng"]
        self.episode_returns = [(int(s), float(r)) for s, r in np.asarray(state["episode_returns"])]
        self.episodes.load_state_dict(state["episodes"])


def evaluate_policy(env, policy, episodes: int, seed=None) -> np.ndarray:
    """Undiscounted return of each of ``episodes`` episodes following ``policy(observation)``;
    ``seed`` seeds the first reset. FrozenLake's success rate is ``(returns > 0).mean()``."""
    returns = np.zeros(int(episodes))
    if seed is not None:
        env.reset(seed=int(seed))
    for i in range(len(returns)):
        obs, _ = env.reset()
        done = False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(policy(obs))
            returns[i] += reward
            done = terminated or truncated
    return returns


def value_iteration(P, gamma: float, tol: float = 1e-12, max_iterations: int = 100_000) -> np.ndarray:
    """Q* of a finite MDP given as gymnasium's toy-text model (``env.unwrapped.P``):
    ``P[s][a] = [(probability, next_state, reward, terminated), ...]``. Iterates
    Q(s, a) = Σ p (r + γ (1 − terminated) max_a' Q(s', a')) until the largest change is
    below ``tol``. Returns Q* (n_states, n_actions)."""
    n_states = len(P)
    n_actions = len(P[0])
    rows = [(s, a, p, s2, r, float(term)) for s in range(n_states) for a in range(n_actions)
            for p, s2, r, term in P[s][a]]
    s_idx, a_idx, prob, nxt, rew, term = (np.array(c) for c in zip(*rows))
    s_idx, a_idx, nxt = s_idx.astype(np.int64), a_idx.astype(np.int64), nxt.astype(np.int64)
    q = np.zeros((n_states, n_actions))
    for _ in range(int(max_iterations)):
        backup = prob * (rew + gamma * (1.0 - term) * q.max(axis=1)[nxt])
        new = np.zeros_like(q)
        np.add.at(new, (s_idx, a_idx), backup)
        delta = np.abs(new - q).max()
        q = new
        if delta < tol:
            return q
    raise RuntimeError(f"value_iteration: no convergence to {tol} in {max_iterations} iterations "
                       f"(gamma={gamma}; gamma = 1 needs every policy to terminate)")
