#!/usr/bin/env bash
# Installs dependencies, configures and builds attnc into ${ATTNC_BUILD_DIR:-build}.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
BUILD_DIR=${ATTNC_BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja
cmake --build "$BUILD_DIR"
