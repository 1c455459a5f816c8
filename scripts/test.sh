#!/usr/bin/env bash
# Installs dependencies, builds attnc and runs every test (lit, gtest, and the Python package's
# pytest suite, registered in ctest as 'python-bindings').
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
BUILD_DIR=${ATTNC_BUILD_DIR:-build}
# install-deps.sh installs nanobind, so the Python bindings and their tests must be in the build.
if ! grep -q "python-bindings" <<<"$(ctest --test-dir "$BUILD_DIR" -N)"; then
  echo "error: the Python tests are not registered in $BUILD_DIR (reconfigure with" \
       "-DATTN_ENABLE_PYTHON=ON; see the CMake output for why they are off)" >&2
  exit 1
fi
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)"
