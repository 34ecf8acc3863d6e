"""Deep Q-networks (Mnih et al., Nature 2015), with Double DQN (van Hasselt et al., 2016) as an option.

The agent learns Q(s, ·; θ) from minibatches drawn uniformly from a replay buffer:

    y = clip(r) + γ (1 − terminated) Q(s', argmax_a' Q(s', a'; θ⁻); θ⁻)        DQN
    y = clip(r) + γ (1 − terminated) Q(s', argmax_a' Q(s', a'; θ);  θ⁻)        Double DQN
    loss = Huber(Q(s, a; θ) − y)  (or squared error), averaged over the batch

with θ⁻ the target network, copied from θ every ``target_update`` environment steps; gradients
are clipped to a global norm. Behaviour is ε-greedy with ε annealed linearly; evaluation runs
whole episodes with a small ε. Everything counts environment steps (agent decisions; an Atari
step is 4 frames).

Networks: ``mlp_q_network`` for vector observations (CartPole), ``NatureQNetwork`` for stacked
84×84 frames (the paper's 8×8/4, 4×4/2, 3×3/1 convolutions and 512 hidden units). uint8
observations are scaled to [0, 1] on the way in, so the replay buffer keeps raw bytes.
"""
from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass

import numpy as np

from .. import functional as F
from .. import nn, optim
from .._device import to_device
from ..autograd import Tensor, no_grad
from .episodes import Episodes
from .replay import ReplayBuffer
from .schedules import LinearSchedule

__all__ = ["DQNConfig", "DQN", "NatureQNetwork", "mlp_q_network", "evaluate"]

LOSSES = ("huber", "mse")
OPTIMIZERS = ("adam", "rmsprop")


@dataclass
class DQNConfig:
    """Hyperparameters; all periods count environment steps. ``cartpole()`` and ``atari()``
    are the presets the ``deepkern train dqn`` command starts from."""

    total_steps: int = 100_000
    buffer_size: int = 100_000
    batch_size: int = 64
    gamma: float = 0.99
    lr: float = 1e-3
    optimizer: str = "adam"          # "adam" or "rmsprop"
    learning_starts: int = 1_000     # steps of experience before the first gradient step
    train_freq: int = 1              # one gradient step every train_freq env steps
    target_update: int = 500         # C: copy θ to θ⁻ every C env steps
    eps_start: float = 1.0
    eps_end: float = 0.05
    eps_decay_steps: int = 10_000    # ε linear from eps_start to eps_end over these steps
    loss: str = "huber"              # "huber" (smooth L1, δ = 1) or "mse"
    double: bool = True              # Double DQN targets
    max_grad_norm: float = 10.0      # global gradient-norm clip (0: off)
    clip_rewards: bool = False       # train on rewards clipped to [-1, 1]
    life_loss_terminal: bool = False  # Atari: a lost life ends the bootstrap (not the episode)
    hidden: tuple = (128, 128)       # MLP widths (vector observations)
    eval_epsilon: float = 0.0
    eval_every: int = 1_000
    eval_episodes: int = 10

    @classmethod
    def cartpole(cls, **overrides):
        """Vector observations (CartPole): the defaults above. An MLP 128-128, Adam 1e-3, batch
        64, one update per step from step 1000, C = 500, ε 1 → 0.05 over 10k steps, Double DQN
        with the Huber loss, a 10-episode greedy evaluation every 1000 steps."""
        return cls(**overrides)

    @classmethod
    def atari(cls, **overrides):
        """The Nature paper's schedule in agent steps (1 step = 4 frames): 12.5M steps (50M
        frames), a 1M-transition buffer, learning from step 50k, one update per 4 steps of
        batch 32, ε 1 → 0.1 over 1M steps, C = 10k, rewards clipped, a lost life terminal for
        the bootstrap; Adam at 1e-4 (as Dopamine and CleanRL) in place of the paper's RMSprop.
        Evaluation: 10 episodes at ε = 0.05 every 250k steps."""
        base = dict(total_steps=12_500_000, buffer_size=1_000_000, batch_size=32, lr=1e-4, learning_starts=50_000,
                    train_freq=4, target_update=10_000, eps_end=0.1, eps_decay_steps=1_000_000, double=False,
                    clip_rewards=True, life_loss_terminal=True, eval_epsilon=0.05, eval_every=250_000,
                    eval_episodes=10)
        base.update(overrides)
        return cls(**base)

    def validate(self):
        """ValueError naming the first bad field."""
        for name in ("total_steps", "learning_starts"):
            if getattr(self, name) < 0:
                raise ValueError(f"DQNConfig: {name} must be >= 0, got {getattr(self, name)}")
        for name in ("buffer_size", "batch_size", "train_freq", "target_update", "eval_every", "eval_episodes"):
            if getattr(self, name) < 1:
                raise ValueError(f"DQNConfig: {name} must be >= 1, got {getattr(self, name)}")
        if self.buffer_size < 2:
            raise ValueError(f"DQNConfig: buffer_size must be >= 2, got {self.buffer_size}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"DQNConfig: gamma must be in [0, 1], got {self.gamma}")
        if not self.lr > 0:
            raise ValueError(f"DQNConfig: lr must be > 0, got {self.lr}")
        for name in ("eps_start", "eps_end", "eval_epsilon"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"DQNConfig: {name} must be in [0, 1], got {getattr(self, name)}")
        for name in ("eps_decay_steps", "max_grad_norm"):
            if getattr(self, name) < 0:
                raise ValueError(f"DQNConfig: {name} must be >= 0, got {getattr(self, name)}")
        if self.loss not in LOSSES:
            raise ValueError(f"DQNConfig: loss must be one of {LOSSES}, got {self.loss!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"DQNConfig: optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        return self

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["hidden"] = list(d["hidden"])
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "DQNConfig":
        d = dict(d)
        d["hidden"] = tuple(d["hidden"])
        return cls(**d)


# ---- networks ------------------------------------------------------------------------------
def mlp_q_network(n_inputs: int, n_actions: int, hidden=(128, 128)) -> nn.Sequential:
    """(B, n_inputs) -> (B, n_actions): Linear + ReLU per hidden width, then a linear head."""
    layers, width = [], int(n_inputs)
    for h in hidden:
        layers += [nn.Linear(width, int(h)), nn.ReLU()]
        width = int(h)
    layers.append(nn.Linear(width, int(n_actions)))
    return nn.Sequential(*layers)


class NatureQNetwork(nn.Module):
    """The Nature DQN: (B, 4, 84, 84) in [0, 1] -> (B, n_actions).

    conv 32 8×8 stride 4 -> (32, 20, 20), conv 64 4×4/2 -> (64, 9, 9), conv 64 3×3/1 ->
    (64, 7, 7), each with ReLU, then Linear(3136, 512) + ReLU and Linear(512, n_actions).
    """

    def __init__(self, n_actions: int, in_channels: int = 4):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 32, 8, stride=4), nn.ReLU(),
            nn.Conv2d(32, 64, 4, stride=2), nn.ReLU(),
            nn.Conv2d(64, 64, 3, stride=1), nn.ReLU(),
            nn.Flatten())
        self.head = nn.Sequential(nn.Linear(64 * 7 * 7, 512), nn.ReLU(), nn.Linear(512, int(n_actions)))

    def forward(self, x):
        return self.head(self.features(x))


def q_network_for(obs_shape, n_actions: int, hidden=(128, 128)) -> nn.Module:
    """The Nature network for (4, 84, 84) frames, an MLP for flat vectors."""
    obs_shape = tuple(obs_shape)
    if len(obs_shape) == 3 and obs_shape[1:] == (84, 84):
        return NatureQNetwork(n_actions, in_channels=obs_shape[0])
    if len(obs_shape) == 1:
        return mlp_q_network(obs_shape[0], n_actions, hidden)
    raise ValueError(f"dqn: no Q-network for observations of shape {obs_shape} (expected a vector (n,) or "
                     f"stacked 84x84 frames (k, 84, 84))")


# ---- the agent ---------------------------------------------------------------------------------
class DQN:
    """Online and target networks, optimizer, ε schedule, step counter and the run's records.

    ``fit(env, buffer)`` trains for ``config.total_steps`` environment steps in all (a resumed
    agent continues from ``self.step``; ``fit(..., until=k)`` stops at step k); ``state_dict()``
    holds everything a resume needs except the replay buffer, which is saved separately if
    wanted. Build the agent after ``dk.manual_seed(seed)`` for reproducible initial weights.
    """

    def __init__(self, obs_shape, n_actions: int, config: DQNConfig = None, seed: int = 0, device: str = "cpu",
                 network: nn.Module = None):
        self.config = (config or DQNConfig()).validate()
        self.obs_shape, self.n_actions, self.device = tuple(obs_shape), int(n_actions), device
        self.online = network if network is not None else q_network_for(self.obs_shape, n_actions, self.config.hidden)
        self.target = copy.deepcopy(self.online)
        self.online.to(device)
        self.target.to(device)
        self.sync_target()
        c = self.config
        if c.optimizer == "adam":
            # eps = 0.01 / batch as Dopamine's Atari setting; harmless elsewhere
            self.optimizer = optim.Adam(self.online.parameters(), lr=c.lr, eps=0.01 / c.batch_size)
        else:
            self.optimizer = optim.RMSprop(self.online.parameters(), lr=c.lr, alpha=0.95, eps=0.01)
        self.epsilon = LinearSchedule(c.eps_start, c.eps_end, c.eps_decay_steps)
        self.rng = np.random.default_rng(seed)
        self.seed = int(seed)
        self.step = 0                 # environment steps taken
        self.updates = 0              # gradient steps taken
        self.episode_returns = []     # (step at episode end, undiscounted return)
        self.evaluations = []         # (step, mean return, std) of each evaluation
        self.solved = None            # (step, mean return) of the confirmed evaluation that stopped fit
        self.episodes = Episodes(seed)  # the episode stream (seeded resets, replayable)
        self.last_loss = float("nan")

    # ---- acting ----------------------------------------------------------------------------------
    def _input(self, obs):
        """A batch of observations as the network's float32 input on the agent's device."""
        obs = np.asarray(obs)
        x = obs.astype(np.float32) * np.float32(1 / 255) if obs.dtype == np.uint8 else obs.astype(np.float32, copy=False)
        return Tensor(to_device(x, self.device))

    def q_values(self, obs) -> np.ndarray:
        """Q(obs, ·) of the online network for a batch (B, *obs_shape): (B, n_actions) on the host."""
        with no_grad():
            return to_device(self.online(self._input(obs)).data, "cpu")

    def act(self, obs, epsilon: float) -> int:
        """ε-greedy action for one observation (the network runs only when not exploring)."""
        if self.rng.random() < epsilon:
            return int(self.rng.integers(self.n_actions))
        return int(self.q_values(np.asarray(obs)[None])[0].argmax())

    # ---- learning --------------------------------------------------------------------------------
    def sync_target(self) -> None:
        """θ⁻ ← θ."""
        self.target.load_state_dict(self.online.state_dict())

    def learn(self, obs, actions, rewards, next_obs, terminated) -> float:
        """One gradient step on a batch; returns the loss."""
        c = self.config
        rows = np.arange(len(actions))
        with no_grad():  # the bootstrap: Q_target(s', a*), a* chosen by the online net (Double) or the target
            next_x = self._input(next_obs)
            q_next = to_device(self.target(next_x).data, "cpu")
            chooser = to_device(self.online(next_x).data, "cpu") if c.double else q_next
            bootstrap = q_next[rows, chooser.argmax(axis=1)]
        if c.clip_rewards:
            rewards = np.clip(rewards, -1.0, 1.0)
        y = (rewards + c.gamma * (1.0 - terminated.astype(np.float32)) * bootstrap).astype(np.float32)
        q = self.online(self._input(obs))
        q_taken = q[to_device(rows, self.device), to_device(actions, self.device)]
        target = Tensor(to_device(y, self.device))
        loss = F.smooth_l1_loss(q_taken, target) if c.loss == "huber" else F.mse_loss(q_taken, target)
        self.optimizer.zero_grad()
        loss.backward()
        if c.max_grad_norm > 0:
            nn.utils.clip_grad_norm_(self.online.parameters(), c.max_grad_norm)
        self.optimizer.step()
        self.updates += 1
        return float(loss.item())

    # ---- the training loop -------------------------------------------------------------------------
    def make_buffer(self, dtype) -> ReplayBuffer:
        stack = self.obs_shape[0] if len(self.obs_shape) == 3 else 1
        return ReplayBuffer(self.config.buffer_size, self.obs_shape, dtype=dtype, frame_stack=stack)

    def fit(self, env, buffer: ReplayBuffer, until: int = None, eval_env=None, progress=None,
            stop_at_return: float = None, confirm_episodes: int = 100) -> bool:
        """Train from ``self.step`` to environment step ``until`` (default ``config.total_steps``).

        A later call continues the episode in progress, so a run can be cut into stretches
        with a checkpoint after each; after a resume the episode is rebuilt by a seeded replay
        (see ``Episodes``), and with the buffer restored too the run takes exactly the steps
        of an uninterrupted one. Without it, learning waits until the new buffer holds
        ``learning_starts`` transitions (at most half its capacity) again.

        Every ``config.eval_every`` steps and at ``config.total_steps``, ``eval_env`` (if given)
        is played for ``config.eval_episodes`` episodes with ε = ``config.eval_epsilon``. With
        ``stop_at_return``, an evaluation whose mean reaches it is confirmed over
        ``confirm_episodes`` more episodes; when that mean reaches it too, training stops and
        ``self.solved`` holds (step, mean return). ``progress(agent, info)`` is called after
        every episode and evaluation. Returns whether the run is solved.
        """
        c = self.config
        until = c.total_steps if until is None else min(int(until), c.total_steps)
        warm = max(1, min(c.learning_starts, buffer.capacity // 2))
        episodes = self.episodes
        if episodes.attach(env) and not buffer.recording:
            buffer.start(episodes.obs)
        while self.step < until and self.solved is None:
            lives = episodes.info.get("lives")
            action = self.act(episodes.obs, self.epsilon(self.step))
            next_obs, reward, terminated, truncated, info = episodes.step(action)
            self.step += 1
            done = terminated or truncated
            life_lost = c.life_loss_terminal and lives is not None and info.get("lives", lives) < lives
            buffer.add(action, reward, terminated or life_lost, next_obs, done=done)
            if done:
                total = episodes.next_episode()
                self.episode_returns.append((self.step, total))
                if progress is not None:
                    progress(self, {"episode_return": total})
                buffer.start(episodes.obs)
            if self.step >= c.learning_starts and self.step % c.train_freq == 0 and len(buffer) >= warm:
                self.last_loss = self.learn(*buffer.sample(c.batch_size, self.rng))
            if self.step % c.target_update == 0:
                self.sync_target()
            if eval_env is not None and (self.step % c.eval_every == 0 or self.step == c.total_steps):
                self._evaluate(eval_env, progress, stop_at_return, confirm_episodes)
        return self.solved is not None

    def _evaluate(self, eval_env, progress, stop_at_return, confirm_episodes) -> None:
        c = self.config
        returns = evaluate(eval_env, self, c.eval_episodes, c.eval_epsilon, seed=10_000 + self.step)
        self.evaluations.append((self.step, float(returns.mean()), float(returns.std())))
        if progress is not None:
            progress(self, {"eval_return": float(returns.mean()), "eval_std": float(returns.std())})
        if stop_at_return is None or returns.mean() < stop_at_return:
            return
        returns = evaluate(eval_env, self, confirm_episodes, c.eval_epsilon, seed=20_000 + self.step)
        if progress is not None:
            progress(self, {"confirm_return": float(returns.mean()), "confirm_std": float(returns.std()),
                            "confirm_episodes": int(confirm_episodes)})
        if returns.mean() >= stop_at_return:
            self.solved = (self.step, float(returns.mean()))

    # ---- checkpoints -------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"config": self.config.to_dict(), "obs_shape": list(self.obs_shape), "n_actions": self.n_actions,
                "online": self.online.state_dict(), "target": self.target.state_dict(),
                "optimizer": self.optimizer.state_dict(), "step": self.step, "updates": self.updates,
                "seed": self.seed, "rng": self.rng.bit_generator.state,
                "episode_returns": np.asarray(self.episode_returns, dtype=np.float64).reshape(-1, 2),
                "evaluations": np.asarray(self.evaluations, dtype=np.float64).reshape(-1, 3),
                "solved": None if self.solved is None else list(self.solved),
                "episodes": self.episodes.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        if tuple(state["obs_shape"]) != self.obs_shape or int(state["n_actions"]) != self.n_actions:
            raise ValueError(f"DQN.load_state_dict: the checkpoint is for observations {tuple(state['obs_shape'])} "
                             f"and {state['n_actions']} actions, this agent has {self.obs_shape} and {self.n_actions}")
        self.online.load_state_dict(state["online"])
        self.target.load_state_dict(state["target"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step, self.updates, self.seed = int(state["step"]), int(state["updates"]), int(state["seed"])
        self.rng.bit_generator.state = state["rng"]
        self.episode_returns = [(int(s), float(r)) for s, r in np.asarray(state["episode_returns"])]
        self.evaluations = [(int(s), float(m), float(d)) for s, m, d in np.asarray(state["evaluations"])]
        self.solved = None if state["solved"] is None else (int(state["solved"][0]), float(state["solved"][1]))
        self.episodes.load_state_dict(state["episodes"])


def evaluate(env, agent: DQN, episodes: int, epsilon: float = 0.0, seed=None) -> np.ndarray:
    """Undiscounted returns of ``episodes`` whole episodes played ε-greedily (ε = 1: the
    uniformly random policy, measured the same way). ``seed`` seeds the first reset."""
    returns = np.zeros(int(episodes))
    for i in range(len(returns)):
        obs, _ = env.reset(seed=None if seed is None or i else int(seed))
        done = False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(agent.act(obs, epsilon))
            returns[i] += float(reward)
            done = terminated or truncated
    return returns
