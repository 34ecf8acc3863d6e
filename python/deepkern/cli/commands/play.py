"""Watch an agent trained by 'deepkern train qlearning' or 'deepkern train dqn': play one episode
of its environment (or --env, which must have the same observations and actions) and write it
as an animated GIF, one frame per step, with the return printed. Q-learning plays greedily;
DQN at --epsilon (default: the run's evaluation ε). Rendering toy-text and classic-control
worlds needs pygame (pip install 'gymnasium[classic-control,toy-text]', part of
'deepkern[rl]'); Atari frames come from ale-py."""
from .. import UsageError, nonnegative_float, nonnegative_int, output_path, positive_int, require

HELP = "render an episode of a 'train qlearning' or 'train dqn' agent to an animated GIF"
USAGE = "--checkpoint CKPT --out GIF"


def add_arguments(p):
    p.add_argument("--checkpoint", required=True, metavar="CKPT",
                   help="a checkpoint written by 'deepkern train qlearning' or 'deepkern train dqn'")
    p.add_argument("--env", default=None, help="environment id (default: the one the agent was trained on)")
    p.add_argument("--out", default="episode.gif", metavar="GIF", help="output animated GIF")
    p.add_argument("--epsilon", type=nonnegative_float, default=None, metavar="X",
                   help="(dqn) ε of the ε-greedy policy (default: the run's --eval-epsilon)")
    p.add_argument("--seed", type=nonnegative_int, default=0, metavar="N", help="seed of the episode")
    p.add_argument("--max-steps", type=positive_int, default=5000, metavar="N", help="stop the episode after N steps")
    p.add_argument("--fps", type=positive_int, default=None, metavar="N",
                   help="frames per second (default: 4 for Q-learning's toy-text worlds, else 30)")
    p.add_argument("--scale", type=positive_int, default=None, metavar="N",
                   help="enlarge the frames N times (default: 2 on Atari, else 1)")


def run(args) -> int:
    import os

    from ...rl import is_atari
    from ...rl.render import record_episode, save_gif
    from ...train.task import load_checkpoint
    from ...train.tasks import _rl, dqn, qlearning

    require("PIL.Image", "--out", package="pillow", extra="images")
    output_path(args.out, "--out")
    ckpt = load_checkpoint(args.checkpoint, ("qlearning", "dqn"))
    trained_on = ckpt["args"]["env"]
    env_id = args.env or trained_on
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # pygame draws off-screen: no display needed
    env = _rl.open_env(env_id, render_mode="rgb_array")
    trained_env = env if env_id == trained_on else _rl.open_env(trained_on)
    if env_id != trained_on and (env.observation_space != trained_env.observation_space
                                 or env.action_space != trained_env.action_space):
        show = lambda space: " ".join(repr(space).split())  # noqa: E731
        raise UsageError("--env", f"{env_id} has observations {show(env.observation_space)} and actions "
                                  f"{show(env.action_space)}; the agent was trained on {trained_on} with "
                                  f"{show(trained_env.observation_space)} and {show(trained_env.action_space)}")
    if ckpt["task"] == "qlearning":
        if args.epsilon is not None:
            raise UsageError("--epsilon", "a Q-learning agent plays its greedy policy (drop --epsilon)")
        agent = qlearning.load_model(ckpt, trained_env)
        policy, what = agent.greedy_action, "greedy"
    else:
        agent = dqn.load_model(ckpt, trained_env)
        epsilon = agent.config.eval_epsilon if args.epsilon is None else args.epsilon
        if epsilon > 1:
            raise UsageError("--epsilon", f"expected a probability in [0, 1], got {epsilon}")
        policy, what = (lambda obs: agent.act(obs, epsilon)), f"ε = {epsilon}"
    try:
        frames, total = record_episode(env, policy, args.max_steps, seed=args.seed)
    except Exception as e:  # gymnasium's DependencyNotInstalled when pygame is missing
        if type(e).__name__ == "DependencyNotInstalled":
            raise UsageError("--env", f"rendering {env_id} needs pygame: pip install 'gymnasium[classic-control,"
                                      "toy-text]' (or pip install 'deepkern[rl]')") from None
        raise
    fps = args.fps or (4 if ckpt["task"] == "qlearning" else 30)  # toy-text worlds move a square per step
    scale = args.scale or (2 if is_atari(env_id) else 1)
    save_gif(frames, args.out, fps=fps, scale=scale)
    h, w = frames[0].shape[:2]
    print(f"{env_id}: return {total:g} in {len(frames) - 1} steps ({what}); {len(frames)} frames "
          f"({w * scale}x{h * scale}, {fps} fps) written to {args.out}")
    return 0
