"""``deepkern train qlearning``: tabular Q-learning on a gymnasium world with discrete states.

The Bellman update Q(s,a) ← Q(s,a) + α[r + γ max_a' Q(s',a') − Q(s,a)] after every step
(``--lr`` is α), ε-greedy behaviour with ε falling linearly from --epsilon-start to
--epsilon-end over --epsilon-decay-steps environment steps, everything seeded by --seed. At
the end the greedy policy plays --eval-episodes episodes (FrozenLake: its success rate), beside
the optimal policy that value iteration computes from the environment's model. ``--plot``
draws the return of every training episode.

Needs gymnasium: ``pip install 'deepkern[rl]'``. Watch the trained agent with
``deepkern play --checkpoint qlearning.dk --out episode.gif``.
"""
from __future__ import annotations

import numpy as np

from ...cli import nonnegative_int, positive_int
from ..task import Task, UsageError
from ._rl import check_spaces, open_env, step_bar, stretch_logs


def _unit_interval(text):
    import argparse
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}") from None
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text}")
    return v


def build_agent(args, env):
    from ...rl import LinearSchedule, QLearning
    return QLearning(env.observation_space.n, env.action_space.n, alpha=args.lr, gamma=args.gamma,
                     epsilon=LinearSchedule(args.epsilon_start, args.epsilon_end, args.epsilon_decay_steps),
                     seed=args.seed)


def load_model(ckpt, env=None):
    """The QLearning agent of a qlearning checkpoint (``deepkern.train.task.load_checkpoint``)."""
    from types import SimpleNamespace

    args = SimpleNamespace(**ckpt["args"])
    env = env if env is not None else open_env(args.env)
    agent = build_agent(args, env)
    agent.load_state_dict(ckpt["state"]["agent"])
    return agent


class Qlearning(Task):
    help = "tabular Q-learning on FrozenLake-v1 or Taxi-v4 (gymnasium); greedy success rate and return"
    unit = "step"
    defaults = {"steps": 500_000, "checkpoint_every": 100_000, "lr": 0.1}
    core_help = {"steps": "environment steps to train in all",
                 "lr": "α, the step size of the Bellman update (in (0, 1])",
                 "plot": "draw the return of every training episode into this PNG (needs matplotlib)"}
    unused = ("batch_size", "data_dir")
    resume_may_change = ("eval_episodes",)

    @classmethod
    def add_arguments(cls, p):
        a = p.add_argument
        a("--env", default="FrozenLake-v1", help="a gymnasium id with discrete states and actions "
                                                 "(FrozenLake-v1 is the 4x4 slippery lake; Taxi-v4)")
        a("--gamma", type=_unit_interval, metavar="X", default=0.99, help="discount factor γ")
        a("--epsilon-start", type=_unit_interval, metavar="X", default=1.0, help="ε of ε-greedy at step 0")
        a("--epsilon-end", type=_unit_interval, metavar="X", default=0.01, help="ε after --epsilon-decay-steps")
        a("--epsilon-decay-steps", type=nonnegative_int, metavar="N", default=250_000, help="steps over which ε falls linearly")
        a("--eval-episodes", type=positive_int, metavar="N", default=None,
          help="episodes of the final greedy evaluation (default: 1000 on FrozenLake, else 100)")

    def check(self):
        super().check()
        if self.args.device != "cpu":
            raise UsageError("--device", "tabular Q-learning runs on the CPU (a table in NumPy); use --device cpu")
        if self.args.lr > 1:
            raise UsageError("--lr", f"α must be in (0, 1], got {self.args.lr}")
        if self.args.eval_episodes is None:
            self.args.eval_episodes = 1000 if self.args.env.startswith("FrozenLake") else 100

    def setup(self):
        import time

        self.env = open_env(self.args.env)
        check_spaces("qlearning", self.args.env, self.env, observations=True)
        self.agent = build_agent(self.args, self.env)
        self.started = time.perf_counter()
        self.log(f"qlearning on {self.args.env}: {self.agent.q.shape[0]} states x {self.agent.q.shape[1]} actions, "
                 f"α {self.args.lr}, γ {self.args.gamma}, ε {self.args.epsilon_start} -> {self.args.epsilon_end} "
                 f"over {self.args.epsilon_decay_steps:,} steps")

    def train_steps(self, start, stop):
        before = len(self.agent.episode_returns)
        bar, update = step_bar(self, start, stop)
        with bar:
            self.agent.fit(self.env, stop, progress=update)
        return stretch_logs(self.agent, before)

    def state_dict(self):
        return {"agent": self.agent.state_dict()}

    def load_state_dict(self, state):
        self.agent.load_state_dict(state["agent"])

    def finish(self):
        import time

        from ...rl import evaluate_policy, value_iteration

        args, agent = self.args, self.agent
        n = args.eval_episodes
        returns = evaluate_policy(open_env(args.env), agent.greedy_action, n, seed=args.seed + 1)
        frozen = args.env.startswith("FrozenLake")
        what = f"success rate {(returns > 0).mean():.3f}" if frozen else f"mean return {returns.mean():.2f}"
        self.log(f"this run: {time.perf_counter() - self.started:.1f} s")
        print(f"greedy policy after {agent.step:,} steps ({len(agent.episode_returns):,} episodes): {what} over "
              f"{n} episodes")
        model = getattr(open_env(args.env).unwrapped, "P", None)
        if model is not None:
            policy = value_iteration(model, args.gamma).argmax(axis=1)
            best = evaluate_policy(open_env(args.env), lambda s: int(policy[s]), n, seed=args.seed + 1)
            what = f"success rate {(best > 0).mean():.3f}" if frozen else f"mean return {best.mean():.2f}"
            print(f"optimal policy (value iteration on the model, γ {args.gamma}): {what} over the same {n} episodes")

    def plot(self, path):
        from ...rl import plot_returns

        returns = np.array([r for _, r in self.agent.episode_returns])
        plot_returns(path, returns, window=max(10, len(returns) // 100),
                     title=f"Q-learning on {self.args.env}: return per episode")
        return f"returns per episode: {path}"
