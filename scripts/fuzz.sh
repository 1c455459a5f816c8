#!/usr/bin/env bash
# Long fuzzing runs: scripts/fuzz.sh [TARGET|all] [SECONDS per target, default 300]
# TARGET: attn-fuzz-bundle, attn-fuzz-disk-cache, attn-fuzz-dialect, attn-fuzz-validation.
# Builds build-fuzz (ATTNC_FUZZ_BUILD_DIR) if needed, keeps each target's working corpus and
# findings in ~/.cache/attnc-fuzz/TARGET (ATTN_FUZZ_WORK_DIR), out of the tree, so that runs build
# on each other; prints every finding with the command that reproduces it.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-all}
seconds=${2:-300}
dir=${ATTNC_FUZZ_BUILD_DIR:-build-fuzz}
work=${ATTN_FUZZ_WORK_DIR:-$HOME/.cache/attnc-fuzz}
targets=(attn-fuzz-bundle attn-fuzz-disk-cache attn-fuzz-dialect attn-fuzz-validation)
[ "$target" = all ] || targets=("$target")

./scripts/install-deps.sh
source scripts/sanitizer-env.sh
[ -f "$dir/build.ninja" ] || cmake -S . -B "$dir" -G Ninja -DATTN_ENABLE_FUZZERS=ON
cmake --build "$dir" --target "${targets[@]}" attnc

status=0
for t in "${targets[@]}"; do
  mkdir -p "$work/$t/corpus" "$work/$t/findings"
  options=()
  case "$t" in
  attn-fuzz-bundle) # the seed bundle comes from this build's attnc (a ctest fixture)
    ctest --test-dir "$dir" -R '^attn-fuzz-bundle-seed$' >/dev/null
    export ATTN_FUZZ_SEED_BUNDLE=$PWD/$dir/test/fuzz/corpus/$t/seed.attnb
    options+=("$dir/test/fuzz/corpus/$t")
    ;;
  attn-fuzz-dialect) options+=(-dict=test/fuzz/attn.dict -max_len=4096) ;;
  esac
  echo "== $t for ${seconds}s (corpus $work/$t/corpus)"
  "$dir/bin/$t" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$work/$t/findings/" "$work/$t/corpus" "test/fuzz/corpus/$t" "${options[@]}" ||
    status=1
done

findings=$(find "${targets[@]/#/$work/}" -path '*/findings/*' -type f 2>/dev/null | sort)
if [ -n "$findings" ]; then
  echo "== findings (crash-, leak-, timeout-, oom-; each reproduces with the command shown):"
  for f in $findings; do
    t=$(basename "$(dirname "$(dirname "$f")")")
    echo "$dir/bin/$t $f"
  done
fi
exit $status
