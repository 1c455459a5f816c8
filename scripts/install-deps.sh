#!/usr/bin/env bash
# Installs every system and Python package attnc's build and tests need on a fresh Debian bookworm
# machine. Idempotent: packages already present are skipped by apt/pip themselves.
set -euo pipefail

APT_PACKAGES=(
  cmake ninja-build g++ python3 python3-pip python3-dev python3-venv
  llvm-19-dev libmlir-19-dev mlir-19-tools llvm-19-tools clang-19 lld-19
  libgtest-dev libgmock-dev libbenchmark-dev libopenblas-dev pkg-config
  libsqlite3-dev sqlite3 # the tuning database (attnc tune, the JIT's lookup)
  libclang-rt-19-dev # sanitizer and libFuzzer runtimes: scripts/sanitize.sh, scripts/fuzz.sh
  libvulkan-dev spirv-tools # the Vulkan headers (the loader is dlopen'ed); test shader validation
  mesa-vulkan-drivers # lavapipe: a CPU Vulkan driver, so the Vulkan device test runs everywhere
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The Python bindings (nanobind, scikit-build-core for `pip install .`) and their tests (numpy,
# ml_dtypes for bfloat16, pytest), from PyPI. Debian's system Python refuses plain pip installs
# (PEP 668): retry with --break-system-packages there.
PY_PACKAGES=("nanobind>=3.0" "scikit-build-core>=0.10" "numpy>=1.22" ml_dtypes pytest
  prometheus_client) # prometheus_client: its parser checks attn.metrics() text (test_metrics.py)
if ! python3 -c "import nanobind, scikit_build_core, numpy, ml_dtypes, pytest, prometheus_client" 2>/dev/null; then
  PIP=(python3 -m pip install --quiet --disable-pip-version-check)
  "${PIP[@]}" "${PY_PACKAGES[@]}" 2>/dev/null || "${PIP[@]}" --break-system-packages "${PY_PACKAGES[@]}"
fi
