#!/usr/bin/env bash
# deepkern's CUDA kernels executed on the CPU (the emulated backend, docs/cuda_emu.md), from a
# clean checkout: builds what the mode needs under build/cuda-emu-<mode>/, then runs it.
#
#   bash scripts/cuda_emu.sh plain     every `cuda` test of the suite on the emulated kernels
#   bash scripts/cuda_emu.sh asan      the same under AddressSanitizer + UBSan (the CPU extension too)
#   bash scripts/cuda_emu.sh tsan      the kernel-level float32 `cuda` tests (tests/ops, tests/optim)
#                                      under ThreadSanitizer (one OS thread per CUDA thread)
#   bash scripts/cuda_emu.sh mutants   planted kernel bugs, each of which must be caught
#
# Extra arguments go to pytest (plain/asan/tsan; test files or folders given there replace
# `tests`, e.g. `plain tests/ops/test_loss.py`) or name mutants. Needs a C++20 compiler, CMake,
# and a Python with the test dependencies (pip install ".[test]"); no GPU, no CUDA toolkit.
# Environment: PYTHON (default python3), JOBS (parallel compiles, default 2),
# DK_CUDA_EMU_EXEC / DK_CUDA_EMU_BLOCKS / DK_CUDA_EMU_WATCHDOG (the emulator, see docs).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-}
case "$mode" in
  plain | asan | tsan | mutants) shift ;;
  *) echo "usage: bash scripts/cuda_emu.sh plain|asan|tsan|mutants [args...]" >&2; exit 2 ;;
esac
python=${PYTHON:-python3}
root=$PWD

# build DIR SANITIZER [TARGET...]: configures DIR, builds _cpu and the emulated _cuda (or TARGETs).
build() {
  local dir=$1 sanitize=$2 generator=()
  shift 2
  local targets=(_cpu _cuda_emu)
  [ $# -eq 0 ] || targets=("$@")
  command -v ninja >/dev/null && generator=(-G Ninja)
  if [ ! -f "$dir/CMakeCache.txt" ]; then
    cmake -S . -B "$dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DDEEPKERN_CUDA=OFF -DDEEPKERN_CUDA_EMU=ON \
      -DDEEPKERN_CUDA_EMU_SANITIZE="$sanitize" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
      -Dpybind11_DIR="$("$python" -m pybind11 --cmakedir)" -DPython_EXECUTABLE="$(command -v "$python")" >/dev/null
  fi
  nice cmake --build "$dir" --target "${targets[@]}" -j "${JOBS:-2}" >"$dir.log" 2>&1 ||
    { tail -40 "$dir.log"; echo "cuda_emu: build failed (log: $dir.log)" >&2; exit 1; }
}

# The sanitizer runtime must be loaded before Python: LD_PRELOAD it (with libstdc++, so that its
# interceptors see C++ allocations from the start).
preload() {
  echo "$(g++ -print-file-name="$1") $(g++ -print-file-name=libstdc++.so.6)"
}

# run_tests DIR DEFAULT [pytest args]: pytest over the emulated backend in build dir DIR; the
# deepkern package comes from the source tree unless one is installed.
# Only `-m cuda` tests: the rest of the suite never reaches the emulated kernels (it ran in the
# normal suite). The caller's test paths, if any, replace DEFAULT (space-separated arguments).
run_tests() {
  local dir=$1 a where
  read -a where <<<"$2"  # a backslash keeps a space inside one argument
  shift 2
  for a in "$@"; do [ -e "${a%%::*}" ] && where=(); done
  set -- -m cuda "${where[@]}" "$@"
  export DEEPKERN_CUDA_EMU_BUILD="$root/$dir" PYTHONPATH="$root/python${PYTHONPATH:+:$PYTHONPATH}"
  nice "$python" -m pytest -q -p no:cacheprovider "$@"
}

case "$mode" in
  plain)
    build build/cuda-emu-plain ""
    run_tests build/cuda-emu-plain tests "$@"
    ;;
  asan)
    build build/cuda-emu-asan address
    # Small hypothesis profile: sanitized code runs several times slower.
    HYPOTHESIS_PROFILE=sanitize LD_PRELOAD="$(preload libasan.so)" \
      ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=1:detect_stack_use_after_return=0 \
      UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      run_tests build/cuda-emu-asan tests "$@"
    ;;
  tsan)
    # Only the emulated module is TSan-instrumented: the plain build's CPU extension serves.
    build build/cuda-emu-plain "" _cpu
    build build/cuda-emu-tsan thread _cuda_emu
    ln -sf "$root"/build/cuda-emu-plain/_cpu*.so build/cuda-emu-tsan/
    # OpenBLAS's own threads are not instrumented: keep NumPy single-threaded. By default the
    # kernel-level tests of every family in float32 (float64 instantiates the same templates):
    # with one OS thread per CUDA thread, layers and training steps, which launch the same
    # kernels thousands of times, cost TSan over an hour; so does the word2vec subsampling
    # statistic (one 20,000-word sentence: a barrier per word).
    HYPOTHESIS_PROFILE=sanitize LD_PRELOAD="$(preload libtsan.so)" OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
      TSAN_OPTIONS=halt_on_error=1:abort_on_error=1:second_deadlock_stack=1:report_signal_unsafe=0 \
      run_tests build/cuda-emu-tsan "tests/ops tests/optim --ignore=tests/ops/test_nonfinite.py -k not\ float64\ and\ not\ subsampling" "$@"
    ;;
  mutants)
    build build/cuda-emu-plain ""
    build build/cuda-emu-asan address
    build build/cuda-emu-tsan thread _cuda_emu
    ln -sf "$root"/build/cuda-emu-plain/_cpu*.so build/cuda-emu-tsan/
    nice "$python" scripts/cuda_emu_mutants.py --root "$root" "$@"
    ;;
esac
