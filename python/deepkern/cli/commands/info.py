"""Print what this installation of deepkern is: version, build type and compiler, CPU features
and the GEMM micro-kernel picked at run time, threads, and the CUDA build and devices."""
HELP = "version, build, CPU features and the GEMM micro-kernel picked, threads, CUDA"


def add_arguments(parser):
    pass


def run(args) -> int:
    from ... import info
    for key, value in info().items():
        print(f"{key:22s} {value}")
    return 0
