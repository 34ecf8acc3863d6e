#!/usr/bin/env bash
# One prepared check of deepkern on a machine with an NVIDIA GPU, where CuPy, PyTorch,
# pybind11 and scikit-build-core are installed and nothing can be downloaded:
#   1. build from source with every core (CUDA extension required),
#   2. the whole test suite, CUDA tests included (they skip nowhere else),
#   3. compute-sanitizer memcheck and racecheck over the CUDA tests (few examples each),
#   4. the CUDA benchmarks beside PyTorch (cuBLAS, cuDNN, SDPA, torchvision NMS),
# writing a log and a results table under $OUT (./gpu-results when unset). Sized for < 8 min.
#
#   bash scripts/gpu_check.sh            # everything
#   STEPS="build test" bash scripts/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-./gpu-results}"
mkdir -p "$OUT"
exec > >(tee -a "$OUT/gpu_check.log") 2>&1
STEPS="${STEPS:-build test sanitize bench}"
PY="${PYTHON:-python3}"
results="$OUT/results.md"
t0=$(date +%s)
stamp() { echo "== [$(( $(date +%s) - t0 ))s] $*"; }
has_step() { [[ " $STEPS " == *" $1 "* ]]; }
summary() { grep -E "^(=+ )?[0-9]+ (passed|failed)|passed|failed|error" "$1" | tail -n 1; }

{
  echo "# deepkern GPU check, $(date -u +%Y-%m-%d)"
  echo
  echo '```'
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 | head -3
  nvcc --version 2>&1 | tail -n 2
  "$PY" - <<'PYEOF' 2>&1
import platform
print("python", platform.python_version())
for name in ("numpy", "cupy", "torch", "torchvision"):
    try:
        mod = __import__(name)
        print(name, mod.__version__)
    except Exception as exc:
        print(name, "not importable:", exc)
try:
    import torch
    print("torch cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version())
except Exception:
    pass
PYEOF
  echo '```'
} > "$results"
cat "$results"

if has_step build; then
  stamp "build"
  export CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" DEEPKERN_CUDA=ON
  if ! "$PY" -m pip install --no-build-isolation --no-deps --no-index -Cbuild-dir=build/gpu . > "$OUT/build.log" 2>&1; then
    tail -n 60 "$OUT/build.log"
    echo -e "\n## Build\nFAILED (see build.log)" >> "$results"
    exit 1
  fi
  "$PY" -m deepkern info | tee -a "$OUT/info.txt"
  { echo -e "\n## Build\n"; echo '```'; cat "$OUT/info.txt"; echo '```'; } >> "$results"
fi

# The package lives under python/, so pytest imports the installed build, not the source tree.
run_pytest() {  # name, timeout, extra args...
  local name="$1" limit="$2"; shift 2
  timeout "$limit" "$PY" -m pytest -q -p no:cacheprovider --junitxml="$OUT/$name.xml" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  echo "$name: rc=$rc $(summary "$OUT/$name.log")" | tee -a "$OUT/summary.txt"
  return $rc
}

if has_step test; then
  stamp "tests (whole suite, CUDA included)"
  export DEEPKERN_REQUIRE_CUDA=1   # the CUDA tests must run here, not skip
  run_pytest tests 300 tests
  grep -E "^(FAILED|ERROR)" "$OUT/tests.log" | head -n 40
  { echo -e "\n## Tests\n"; echo '```'; tail -n 3 "$OUT/tests.log"; grep -E "^(FAILED|ERROR)" "$OUT/tests.log" | head -n 40; echo '```'; } >> "$results"
fi

if has_step sanitize; then
  if command -v compute-sanitizer > /dev/null; then
    export HYPOTHESIS_PROFILE=sanitize
    for tool in memcheck racecheck; do
      stamp "compute-sanitizer $tool"
      timeout 150 compute-sanitizer --tool "$tool" --error-exitcode 99 --target-processes all \
        "$PY" -m pytest -q -p no:cacheprovider -m cuda -x tests > "$OUT/sanitize_$tool.log" 2>&1
      echo "sanitize $tool: rc=$? $(grep -E "ERROR SUMMARY|RACECHECK SUMMARY" "$OUT/sanitize_$tool.log" | tail -n 1)" \
        | tee -a "$OUT/summary.txt"
    done
    { echo -e "\n## compute-sanitizer\n"; echo '```'; grep sanitize "$OUT/summary.txt"; echo '```'; } >> "$results"
  else
    echo "compute-sanitizer not found: sanitizer step not run" | tee -a "$OUT/summary.txt" "$results"
  fi
fi

if has_step bench; then
  stamp "CUDA benchmarks beside PyTorch"
  timeout 200 "$PY" -m deepkern bench --device cuda --markdown > "$OUT/bench_cuda.md" 2> "$OUT/bench_cuda.err"
  echo "bench: rc=$?" | tee -a "$OUT/summary.txt"
  { echo -e "\n## Benchmarks (CUDA)\n"; cat "$OUT/bench_cuda.md"; } >> "$results"
fi

stamp "done"
cat "$OUT/summary.txt" 2>/dev/null
