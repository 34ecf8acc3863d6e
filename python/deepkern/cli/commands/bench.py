"""Time each registered benchmark case (deepkern, the NumPy reference, PyTorch where installed)
on the same inputs and print a table: median time, deepkern/PyTorch ratio, GFLOP/s or GB/s,
% of peak."""
from .. import UsageError, positive_float, positive_int, nonnegative_int

HELP = "time deepkern against NumPy and PyTorch on the same inputs"
USAGE = "[FAMILY ...]"


def add_arguments(p):
    from ... import bench

    p.add_argument("families", nargs="*", metavar="FAMILY",
                   help=f"op families to run (default: all of {', '.join(bench.FAMILIES)})")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="CPU threads for deepkern, NumPy and PyTorch (default: all cores)")
    p.add_argument("--repeat", type=positive_int, default=5, help="timed calls per implementation (median reported)")
    p.add_argument("--warmup", type=nonnegative_int, default=1, help="untimed calls first")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    p.add_argument("--peak", type=positive_float, default=None,
                   help="machine peak in GFLOP/s for the %% peak column (default: estimated from the CPU)")
    p.add_argument("--cpu-time", action="store_true",
                   help="time by the calling thread's CPU time (needs --threads 1): robust on a busy machine")
    p.add_argument("--list", action="store_true", help="list the cases and exit")


def run(args) -> int:
    import os

    from ... import bench
    from .. import check_device

    unknown = [f for f in args.families if f not in bench.FAMILIES]
    if unknown:
        raise UsageError("FAMILY", f"unknown {', '.join(unknown)}; choose from {', '.join(bench.FAMILIES)}")
    check_device(args.device)
    cases = bench.load_cases(args.families)
    if args.list:
        for case in cases:
            print(case.id)
        return 0
    threads = args.threads or os.cpu_count() or 1
    if args.cpu_time and (threads != 1 or args.device != "cpu"):
        raise UsageError("--cpu-time", "needs --threads 1 on the CPU (other threads' work would not be counted)")
    with bench.threads(threads):
        results = bench.run(cases, repeat=args.repeat, warmup=args.warmup, device=args.device,
                            cpu_time=args.cpu_time)
    about = bench.describe(threads, args.device, args.peak, args.cpu_time)
    if args.markdown:
        print("\n".join(f"- {line}" for line in about.splitlines()))
        print()
    else:
        print(about)
        print()
    print(bench.format_table(results, markdown=args.markdown, peak=args.peak, threads=threads, device=args.device))
    return 0
