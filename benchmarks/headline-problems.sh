# Sourced by benchmarks/tune.sh and tune-vulkan.sh: the problems of attnc tune --preset=headline
# (compiler/tools/attnc/Tune.cpp, presetProblems), as attnc flags.
# shellcheck disable=SC2034
headline_problems=(
  "--heads-q=8 --head-dim=128"
  "--heads-q=8 --head-dim=128 --causal"
  "--heads-q=8 --head-dim=128 --causal --dtype=bf16"
  "--heads-q=32 --heads-kv=8 --head-dim=128 --causal"
  "--heads-q=32 --heads-kv=8 --head-dim=128 --causal --dtype=bf16"
  "--heads-q=8 --head-dim=128 --causal --window=512,0"
  "--heads-q=8 --head-dim=128 --causal --variant=linear"
)
