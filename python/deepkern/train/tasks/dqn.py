"""``deepkern train dqn``: deep Q-networks on gymnasium, Atari included.

Vector observations (CartPole-v1) get an MLP; Atari ids (``ALE/Breakout-v5``, ``ALE/Pong-v5``,
...) the Nature network on 4 stacked 84x84 grayscale frames, preprocessed by gymnasium's
AtariPreprocessing and FrameStackObservation (frame skip 4, max over the last two frames, up to
30 no-op starts). Options left unset take the preset of the observation kind (DQNConfig.cartpole
or DQNConfig.atari, shown in each option's help): uniform replay, a target network copied every
--target-update steps, ε annealed linearly, Huber or squared loss, rewards clipped to [-1, 1]
(Atari), gradient-norm clipping, Double DQN (--double).

Every --eval-every steps the agent plays --eval-episodes episodes at ε = --eval-epsilon. When
an evaluation reaches --target-return (default: the environment's own "solved" threshold, 475
for CartPole-v1; none for Atari), --final-episodes more episodes confirm it and training stops.
At the end the agent and the uniformly random policy play the same --final-episodes episodes.
Steps count agent decisions: on Atari one step is 4 frames.

Checkpoints hold the networks, the optimizer, the schedule position and the episode in
progress; --save-buffer adds the replay buffer (large on Atari: 7 KB per transition), so that
--resume continues exactly. Needs gymnasium (and ale-py for Atari): ``pip install
'deepkern[rl]'``. Watch the agent: ``deepkern play --checkpoint dqn.dk --out episode.gif``.
"""
from __future__ import annotations

import argparse
import math

import numpy as np

from ...cli import nonnegative_float, nonnegative_int, positive_int
from ..task import Task, UsageError
from ._rl import check_spaces, float_or_none, open_env, step_bar, stretch_logs

# option -> DQNConfig field, for the options whose default is the preset's
CONFIG_OPTIONS = {"steps": "total_steps", "batch_size": "batch_size", "lr": "lr", "buffer_size": "buffer_size",
                  "learning_starts": "learning_starts", "train_freq": "train_freq", "target_update": "target_update",
                  "gamma": "gamma", "epsilon_start": "eps_start", "epsilon_end": "eps_end",
                  "epsilon_decay_steps": "eps_decay_steps", "loss": "loss", "double": "double",
                  "max_grad_norm": "max_grad_norm", "clip_rewards": "clip_rewards",
                  "life_loss_terminal": "life_loss_terminal", "hidden": "hidden", "eval_every": "eval_every",
                  "eval_episodes": "eval_episodes", "eval_epsilon": "eval_epsilon"}


def _presets():
    from ...rl import DQNConfig
    return DQNConfig.cartpole(), DQNConfig.atari()


def _preset_help(text, field):
    vector, atari = _presets()
    show = lambda v: " ".join(map(str, v)) if isinstance(v, tuple) else v  # noqa: E731
    ours, theirs = show(getattr(vector, field)), show(getattr(atari, field))
    return f"{text} (default: {ours}" + (")" if ours == theirs else f"; Atari {theirs})")


def config_from_args(args):
    from ...rl import DQNConfig
    return DQNConfig(**{field: (tuple(getattr(args, opt)) if opt == "hidden" else getattr(args, opt))
                        for opt, field in CONFIG_OPTIONS.items()})


def build_agent(args, env):
    from ...rl import DQN
    return DQN(env.observation_space.shape, env.action_space.n, config_from_args(args), seed=args.seed,
               device=args.device)


def load_model(ckpt, env=None):
    """The DQN agent of a dqn checkpoint (``deepkern.train.task.load_checkpoint``), on the CPU."""
    from types import SimpleNamespace

    args = SimpleNamespace(**{**ckpt["args"], "device": "cpu"})
    env = env if env is not None else open_env(args.env)
    agent = build_agent(args, env)
    agent.load_state_dict(ckpt["state"]["agent"])
    return agent


class Dqn(Task):
    help = "DQN on gymnasium: CartPole-v1 (MLP) or Atari ALE/<Game>-v5 (Nature CNN on 4 stacked frames)"
    unit = "step"
    defaults = {}
    core_help = {"threads": "CPU threads for the kernels (default: 1 for vector observations, else all cores)",
                 "steps": _preset_help("environment steps in all (agent decisions: 4 frames each on Atari)",
                                       "total_steps"),
                 "checkpoint_every": "steps between checkpoints (default: 10000; Atari 250000)",
                 "batch_size": _preset_help("transitions per gradient step", "batch_size"),
                 "lr": _preset_help("Adam's learning rate", "lr"),
                 "plot": "draw the training episodes' returns and the evaluations into this PNG (needs matplotlib)"}
    unused = ("data_dir",)
    resume_may_change = ("final_episodes", "save_buffer")

    @classmethod
    def add_arguments(cls, p):
        a = p.add_argument
        a("--env", default="CartPole-v1", help="a gymnasium id with discrete actions: vector observations or "
                                               "an Atari game ALE/<Game>-v5")
        a("--buffer-size", type=positive_int, metavar="N", help=_preset_help("replay buffer capacity (transitions)", "buffer_size"))
        a("--learning-starts", type=nonnegative_int, metavar="N", help=_preset_help("steps before the first update",
                                                                        "learning_starts"))
        a("--train-freq", type=positive_int, metavar="N", help=_preset_help("one gradient step every N env steps", "train_freq"))
        a("--target-update", type=positive_int, metavar="N", help=_preset_help("C: copy the network to the target every C steps",
                                                                   "target_update"))
        a("--gamma", type=nonnegative_float, metavar="X", help=_preset_help("discount factor γ", "gamma"))
        a("--epsilon-start", type=nonnegative_float, metavar="X", help=_preset_help("ε at step 0", "eps_start"))
        a("--epsilon-end", type=nonnegative_float, metavar="X", help=_preset_help("ε after the decay", "eps_end"))
        a("--epsilon-decay-steps", type=nonnegative_int, metavar="N", help=_preset_help("steps over which ε falls linearly",
                                                                            "eps_decay_steps"))
        a("--loss", choices=["huber", "mse"], help=_preset_help("TD loss (huber: smooth L1, δ = 1)", "loss"))
        a("--double", action=argparse.BooleanOptionalAction, help=_preset_help("Double DQN targets (--no-double: the Nature targets)",
                                                      "double"))
        a("--max-grad-norm", type=nonnegative_float, metavar="X", help=_preset_help("clip the gradients' global norm (0: off)",
                                                                        "max_grad_norm"))
        a("--clip-rewards", action=argparse.BooleanOptionalAction, help=_preset_help("train on rewards clipped to [-1, 1]", "clip_rewards"))
        a("--life-loss-terminal", action=argparse.BooleanOptionalAction, help=_preset_help("a lost life ends the bootstrap (not the episode)",
                                                                  "life_loss_terminal"))
        a("--hidden", type=positive_int, nargs="+", metavar="N", help=_preset_help("MLP widths (vector observations)", "hidden"))
        a("--eval-every", type=positive_int, metavar="N", help=_preset_help("steps between evaluations", "eval_every"))
        a("--eval-episodes", type=positive_int, metavar="N", help=_preset_help("episodes per evaluation", "eval_episodes"))
        a("--eval-epsilon", type=nonnegative_float, metavar="X", help=_preset_help("ε while evaluating", "eval_epsilon"))
        a("--target-return", type=float_or_none, metavar="X",
          help="stop once an evaluation, confirmed over --final-episodes, reaches this mean return; 'none': "
               "never (default: the environment's reward threshold: 475 on CartPole-v1, none on Atari)")
        a("--final-episodes", type=positive_int, metavar="N", help="episodes of the confirmation and of the final comparison "
                                                      "with the random policy (default: 100; Atari 10)")
        a("--save-buffer", action="store_true", help="keep the replay buffer in checkpoints (exact --resume)")

    def check(self):
        from ...rl import is_atari

        super().check()
        args = self.args
        preset = _presets()[1 if is_atari(args.env) else 0]
        for opt, field in CONFIG_OPTIONS.items():
            if getattr(args, opt, None) is None:
                value = getattr(preset, field)
                setattr(args, opt, list(value) if isinstance(value, tuple) else value)
        self.epochs = args.steps  # the framework's total, now that the preset filled it
        if args.checkpoint_every is None:
            args.checkpoint_every = 250_000 if is_atari(args.env) else 10_000
        if args.final_episodes is None:
            args.final_episodes = 10 if is_atari(args.env) else 100
        try:
            config_from_args(args).validate()
        except ValueError as e:  # "DQNConfig: eps_end must be in [0, 1], got 2.0"
            field, message = str(e).split(": ", 1)[1].split(" ", 1)
            opt = next((o for o, f in CONFIG_OPTIONS.items() if f == field), field)
            raise UsageError("--" + opt.replace("_", "-"), message) from None

    def setup(self):
        import time

        import deepkern as dk

        args = self.args
        self.env, self.eval_env = open_env(args.env), open_env(args.env)
        check_spaces("dqn", args.env, self.env)
        shape = getattr(self.env.observation_space, "shape", None)
        if not shape or len(shape) not in (1, 3):
            raise UsageError("--env", f"dqn needs vector or stacked-frame observations, but {args.env} has "
                                      f"{self.env.observation_space!r}"
                             + (" (a table of states: use 'deepkern train qlearning')" if not shape else ""))
        if args.target_return is None:
            spec = self.env.spec
            args.target_return = math.inf if spec is None or spec.reward_threshold is None else spec.reward_threshold
        if args.threads is None and len(shape) == 1:
            # An MLP's GEMMs are a few microseconds: a second thread only adds barrier waits
            # (26x slower on a loaded 2-core machine, measured).
            dk.set_num_threads(1)
        self.agent = build_agent(args, self.env)
        dtype = np.uint8 if self.env.observation_space.dtype == np.uint8 else np.float32
        self.buffer = self.agent.make_buffer(dtype)
        self.started, self.started_step = time.perf_counter(), None
        full = args.buffer_size * self.buffer.frames[0].nbytes
        self.log(f"dqn on {args.env}: observations {shape}, {self.env.action_space.n} actions, "
                 f"{type(self.agent.online).__name__ if len(shape) == 3 else 'MLP'} with "
                 f"{self.agent.online.num_parameters():,} parameters; replay buffer {args.buffer_size:,} "
                 f"transitions ({full / 2**20:,.0f} MiB when full); {dk.get_num_threads()} threads, "
                 f"device {self.device}")

    def train_steps(self, start, stop):
        agent = self.agent
        before, evals = len(agent.episode_returns), len(agent.evaluations)
        bar, update = step_bar(self, start, stop)
        with bar:
            if self.started_step is None:
                self.started_step = agent.step
            solved = agent.fit(self.env, self.buffer, until=stop, eval_env=self.eval_env, progress=update,
                               stop_at_return=self.args.target_return, confirm_episodes=self.args.final_episodes)
        logs = stretch_logs(agent, before)
        logs["loss"] = agent.last_loss
        if len(agent.evaluations) > evals:
            logs["eval_return"] = agent.evaluations[-1][1]
        if solved:
            self.stop_training = True
        return logs

    def state_dict(self):
        state = {"agent": self.agent.state_dict()}
        if self.args.save_buffer:
            state["buffer"] = self.buffer.state_dict()
        return state

    def load_state_dict(self, state):
        self.agent.load_state_dict(state["agent"])
        if "buffer" in state:
            self.buffer.load_state_dict(state["buffer"])
        elif self.agent.step:
            self.log("the checkpoint holds no replay buffer (--save-buffer): it refills before learning resumes")

    def finish(self):
        import time

        from ...rl import evaluate, is_atari

        args, agent = self.args, self.agent
        frames = " (x4 frames)" if is_atari(args.env) else ""
        seconds = time.perf_counter() - self.started
        done = agent.step - (agent.step if self.started_step is None else self.started_step)
        print(f"trained {agent.step:,} environment steps{frames}, {agent.updates:,} updates, "
              f"{len(agent.episode_returns):,} episodes")
        self.log(f"this run: {done:,} steps in {seconds:.1f} s ({done / max(seconds, 1e-9):.1f} steps/s with "
                 "evaluations)")
        if agent.solved is not None:
            step, mean = agent.solved
            print(f"solved at step {step:,}: mean return {mean:.1f} over {args.final_episodes} evaluation episodes "
                  f"(target {args.target_return:g}, ε = {args.eval_epsilon})")
        n, seed = args.final_episodes, 30_000 + args.seed
        trained = evaluate(self.eval_env, agent, n, args.eval_epsilon, seed=seed)
        random = evaluate(self.eval_env, agent, n, 1.0, seed=seed)
        print(f"evaluation over {n} episodes: agent (ε = {args.eval_epsilon}) {trained.mean():.2f} ± "
              f"{trained.std():.2f}, random policy {random.mean():.2f} ± {random.std():.2f}")

    def plot(self, path):
        from ...rl import plot_returns

        steps, returns = (np.array(v) for v in zip(*self.agent.episode_returns)) if self.agent.episode_returns \
            else (np.zeros(0), np.zeros(0))
        plot_returns(path, returns, steps=steps, evaluations=self.agent.evaluations,
                     window=max(10, len(returns) // 100), title=f"DQN on {self.args.env}")
        return f"returns and evaluations: {path}"
