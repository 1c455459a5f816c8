#!/usr/bin/env bash
# A venv with torch, numpy and ml_dtypes for benchmarks/cpu.sh's comparison with torch (a
# benchmark-only dependency, kept out of the tree): ~/.cache/attnc-bench-venv, or $1.
# PyPI's torch wheel is the CUDA build (~3 GB with its nvidia-* packages); its CPU kernels are the
# same as the CPU-only wheel's, which PyPI does not carry.
set -euo pipefail
venv=${1:-$HOME/.cache/attnc-bench-venv}
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check torch numpy ml_dtypes
"$venv/bin/python" -c "import torch; print('torch', torch.__version__, 'in', '$venv')"
