"""Reinforcement learning: tabular Q-learning and deep Q-networks on gymnasium environments.

    from deepkern import rl
    env = rl.make_env("FrozenLake-v1")                 # needs pip install 'deepkern[rl]'
    agent = rl.QLearning(env.observation_space.n, env.action_space.n, seed=0)
    agent.fit(env, episodes=20000)

gymnasium and ale-py are optional: this package imports without them, and ``make_env`` raises
``MissingDependency`` (an ImportError) saying what to install.
"""
from .dqn import DQN, DQNConfig, NatureQNetwork, evaluate, mlp_q_network, q_network_for
from .envs import INSTALL_HINT, MissingDependency, is_atari, make_env, require_discrete
from .qlearning import QLearning, evaluate_policy, value_iteration
from .render import plot_returns, record_episode, save_gif
from .replay import ReplayBuffer
from .episodes import Episodes
from .schedules import LinearSchedule

__all__ = ["QLearning", "value_iteration", "evaluate_policy", "DQN", "DQNConfig", "NatureQNetwork",
           "mlp_q_network", "q_network_for", "evaluate", "ReplayBuffer", "LinearSchedule", "make_env", "is_atari",
           "require_discrete", "MissingDependency", "INSTALL_HINT", "plot_returns", "record_episode", "save_gif",
           "Episodes"]
