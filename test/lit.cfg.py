# -*- Python -*-
import os

import lit.formats
from lit.llvm import llvm_config

config.name = "ATTN"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.attn_obj_root, "test")
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "oracle", "Inputs"]

if config.attn_cuda_enabled:
    config.available_features.add("cuda")
if config.attn_vulkan_enabled:
    config.available_features.add("vulkan")
    # Tests that run kernels on a Vulkan device (lavapipe in CI): where a driver is installed,
    # or where the suite must not skip them (ATTN_REQUIRE_VULKAN=1, scripts/test.sh).
    icds = [d for d in ("/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d") if os.path.isdir(d)]
    if os.environ.get("ATTN_REQUIRE_VULKAN") == "1" or any(os.listdir(d) for d in icds):
        config.available_features.add("vulkan-device")

import shutil

# spirv-val (Debian's spirv-tools) validates the SPIR-V attnc emits.
if shutil.which("spirv-val"):
    config.available_features.add("spirv-val")

# ptxas (the CUDA toolkit's, on PATH or in /usr/local/cuda) checks the PTX attnc emits.
ptxas = shutil.which("ptxas") or (
    "/usr/local/cuda/bin/ptxas" if os.path.exists("/usr/local/cuda/bin/ptxas") else None)
if ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.add_tool_substitutions(["attn-opt", "attnc"], [config.attn_tools_dir])
