"""gymnasium environments for the RL algorithms: creation, Atari preprocessing, checks.

gymnasium and ale-py are optional (``pip install 'deepkern[rl]'``); this module imports without
them and raises ``MissingDependency`` (an ImportError whose message says what to install) when
an environment is asked for.

Atari ids (``ALE/<Game>-v5``) are built as the DQN paper preprocesses them, with gymnasium's own
wrappers: the ALE env with ``frameskip=1`` (v5 keeps its sticky actions, repeat probability
0.25), then ``AtariPreprocessing`` (up to 30 no-op starts, action repeat 4 with the max over the
last two frames, grayscale, 84×84) and ``FrameStackObservation`` (the last 4 frames): an
observation is a (4, 84, 84) uint8 array.
"""
from __future__ import annotations

__all__ = ["MissingDependency", "make_env", "is_atari", "require_discrete", "INSTALL_HINT", "gymnasium"]

INSTALL_HINT = "pip install 'deepkern[rl]' (gymnasium, ale-py, OpenCV, pygame)"


class MissingDependency(ImportError):
    """An optional package the RL code needs is not installed (the message says what to install)."""


def gymnasium():
    """The gymnasium module, or MissingDependency naming the extra to install."""
    try:
        import gymnasium as gym
    except ImportError:
        raise MissingDependency(f"reinforcement learning needs gymnasium: {INSTALL_HINT}") from None
    return gym


def is_atari(env_id: str) -> bool:
    return str(env_id).startswith("ALE/")


def _register_ale(gym):
    try:
        import ale_py
    except ImportError:
        raise MissingDependency(f"Atari environments need ale-py: {INSTALL_HINT}") from None
    gym.register_envs(ale_py)


def _show(space) -> str:
    return " ".join(repr(space).split())  # Box reprs pad their bounds with runs of spaces


def require_discrete(algorithm: str, env_id: str, env, observations: bool = False):
    """ValueError unless ``env`` has a Discrete action space (and, with ``observations``, a
    Discrete observation space: tabular methods index a table by state)."""
    gym = gymnasium()
    if not isinstance(env.action_space, gym.spaces.Discrete):
        raise ValueError(f"{algorithm}: needs a discrete action space, but {env_id} has actions "
                         f"{_show(env.action_space)}")
    if observations and not isinstance(env.observation_space, gym.spaces.Discrete):
        raise ValueError(f"{algorithm}: needs a discrete (tabular) observation space, but {env_id} has "
                         f"observations {_show(env.observation_space)}")


def make_env(env_id: str, *, render_mode=None, frame_stack: int = 4, noop_max: int = 30, **kwargs):
    """``gymnasium.make(env_id)``, with the DQN preprocessing for Atari ids (see the module
    docstring). Unknown ids raise ValueError (gymnasium's reason included); a missing
    gymnasium or ale-py raises MissingDependency."""
    gym = gymnasium()
    atari = is_atari(env_id)
    if atari:
        _register_ale(gym)
    try:
        if atari:
            env = gym.make(env_id, frameskip=1, render_mode=render_mode, **kwargs)
        else:
            env = gym.make(env_id, render_mode=render_mode, **kwargs)
    except gym.error.Error as e:  # NameNotFound, VersionNotFound, DeprecatedEnv, ...
        raise ValueError(f"unknown environment {env_id!r}: {e}") from None
    if atari:
        try:
            env = gym.wrappers.AtariPreprocessing(env, noop_max=noop_max, frame_skip=4, screen_size=84,
                                                  grayscale_obs=True)
        except gym.error.DependencyNotInstalled:  # it resizes with OpenCV
            raise MissingDependency(f"Atari preprocessing needs OpenCV: {INSTALL_HINT}") from None
        env = gym.wrappers.FrameStackObservation(env, frame_stack)
    return env
