#!/usr/bin/env bash
# The engine path end to end: install the package into a temporary prefix, build a bundle with the
# installed attnc, build examples/engine against the installed package (find_package(attn)), run it.
# Also checks the installed pkg-config file and that libattn_runtime needs no LLVM/MLIR.
set -euo pipefail
build_dir=$1
source_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build_dir" --prefix "$work/prefix" > /dev/null
"$work/prefix/bin/attnc" --heads-q=8 --heads-kv=2 --head-dim=64 --causal --emit=bundle \
  -o "$work/gqa.attnb"
"$work/prefix/bin/attnc" inspect "$work/gqa.attnb"
"$work/prefix/bin/attnc" --heads-q=8 --heads-kv=2 --head-dim=64 --causal --page-size=16 \
  --emit=bundle -o "$work/paged.attnb"
# The same paged cache served by a Vulkan kernel (lavapipe's; on a machine without a Vulkan
# device the engine skips it, unless ATTN_REQUIRE_VULKAN=1).
vulkan_bundle=()
if "$work/prefix/bin/attnc" --heads-q=8 --heads-kv=2 --head-dim=64 --causal --page-size=16 \
  --target=vulkan --vulkan-device=lavapipe --emit=bundle -o "$work/paged-vulkan.attnb"; then
  vulkan_bundle=("$work/paged-vulkan.attnb")
elif [[ ${ATTN_REQUIRE_VULKAN:-} == 1 ]]; then
  echo "ATTN_REQUIRE_VULKAN=1, but attnc could not build a Vulkan bundle" >&2
  exit 1
fi

# Library names, not paths: a sanitizer build links clang's runtime from /usr/lib/llvm-19/...
if ldd "$work/prefix/lib/libattn_runtime.so" | grep -E '^[[:space:]]*lib(LLVM|MLIR)'; then
  echo "libattn_runtime depends on LLVM/MLIR" >&2
  exit 1
fi
PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" pkg-config --exists --print-errors attn

cmake -S "$source_dir/examples/engine" -B "$work/engine" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix" > /dev/null
cmake --build "$work/engine" > /dev/null
# The engine finds the runtime through its RUNPATH and needs no compiler: hide the plugin.
ATTN_JIT_PLUGIN=/nonexistent "$work/engine/attn-engine-example" "$work/gqa.attnb" \
  "$work/paged.attnb" "${vulkan_bundle[@]}"

# A kernel linked into the program: attnc --emit=obj with a generated header and typed launcher.
"$work/prefix/bin/attnc" --heads-q=8 --heads-kv=2 --head-dim=64 --causal --lse --emit=obj \
  --name=gqa --header="$work/gqa.h" -o "$work/gqa.o"
cc -std=c99 -Wall -Wextra -Werror -I"$work" -I"$work/prefix/include" \
  -I"$source_dir/examples/engine" "$source_dir/test/install/linked_kernel.c" "$work/gqa.o" \
  -L"$work/prefix/lib" -Wl,-rpath,"$work/prefix/lib" -lattn_runtime -lpthread -lm \
  -o "$work/linked_kernel"
ATTN_JIT_PLUGIN=/nonexistent "$work/linked_kernel"
