"""What the reinforcement-learning tasks (qlearning, dqn) share: opening environments with
one-line errors, the returns plot, and the progress bar over environment steps."""
from __future__ import annotations

import math

from ..task import UsageError


def open_env(env_id, flag="--env", **kwargs):
    """``deepkern.rl.make_env``; a missing gymnasium/ale-py or an unknown id is a UsageError."""
    from ...rl import MissingDependency, make_env

    try:
        return make_env(env_id, **kwargs)
    except (MissingDependency, ValueError) as e:
        raise UsageError(flag, str(e)) from None


def check_spaces(algorithm, env_id, env, observations=False, flag="--env"):
    from ...rl import require_discrete

    try:
        require_discrete(algorithm, env_id, env, observations=observations)
    except ValueError as e:
        raise UsageError(flag, str(e).split(": ", 1)[1]) from None


def stretch_logs(agent, episodes_before) -> dict:
    """Episodes finished in the stretch just trained and their mean return."""
    returns = [r for _, r in agent.episode_returns[episodes_before:]]
    return {"episodes": float(len(returns)), "return": sum(returns) / len(returns) if returns else math.nan,
            "epsilon": float(agent.epsilon(agent.step))}


def step_bar(task, start, stop):
    """A progress bar over steps start .. stop, moved by ``update(agent)`` after each episode."""
    bar = task.progress(total=stop - start, unit="step")
    bar.last = start

    def update(agent, *_):
        bar.update(agent.step - bar.last)
        bar.last = agent.step
    return bar, update


def float_or_none(text):
    """A number, or 'none' (infinity: never reached)."""
    import argparse

    if text.lower() == "none":
        return math.inf
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'none', got {text!r}") from None
