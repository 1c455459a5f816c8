#ifndef ATTN_ATTRS_TD
#define ATTN_ATTRS_TD

include "attn/Dialect/Attn/IR/AttnDialect.td"

def Attn_CPUConfigAttr : AttrDef<Attn_Dialect, "CPUConfig"> {
  let mnemonic = "cpu_config";
  let summary = "Tile configuration of a CPU attention kernel";
  let description = [{
    Every tunable of the CPU kernel generators, attached to an attn op as `attn.cpu_config` by
    `attn-configure-cpu` (heuristics), by hand, or by a tuner; the generators read nothing else.
    - `block_q`: query rows per work item and query head (a work item holds `block_q` rows of each
      of the G = Hq / Hkv heads of a GQA group; linear attention and merges use 1);
    - `block_k`: keys per K/V tile, a multiple of `vector_width` (the decode kernel reads K tiles
      in whole vectors);
    - `vector_width`: f32 lanes per vector register: 16 (AVX-512), 8 (AVX2) or 4;
    - `decode_rows` (default 64): query rows (Sq x Hq) of one batch entry the split-KV decode
      kernel takes at once; launches with more rows run the prefill kernel;
    - `split_keys` (default 256): keys per KV split of a decode launch at least, a multiple of
      `block_k` (fewer, longer splits cost less merging; more, shorter ones more parallelism);
    - `amx` (default 0): 1 computes both products of the bf16 prefill kernel on AMX tiles
      (16x16x32 bf16 -> f32, TDPBF16PS); it needs vector_width 16, block_k a multiple of 32, and
      on the op bf16 operands with D a multiple of 32 and Dv a multiple of 16;
    - `dpbf16` (default 0): 1 computes bf16 products with AVX512-BF16 (VDPBF16PS: pairs of bf16
      -> f32) instead of converting K and V to f32: the decode kernel's Q·K, and both products of
      the prefill kernel (unless `amx` = 1, whose tiles take them); it needs vector_width 16, and
      on the op bf16 operands with D a multiple of 32.
    The attribute verifies its own values; on an op it is also checked against the op's group:
    `block_q` x G <= 256 rows, and `amx` and `dpbf16` against its dtype and head dims.

    Example: `#attn.cpu_config<block_q = 64, block_k = 64, vector_width = 16>`,
    `#attn.cpu_config<block_q = 8, block_k = 32, vector_width = 8, decode_rows = 32,
    split_keys = 512>`
  }];
  let parameters = (ins "int64_t":$blockQ, "int64_t":$blockK, "int64_t":$vectorWidth,
                        DefaultValuedParameter<"int64_t", "64">:$decodeRows,
                        DefaultValuedParameter<"int64_t", "256">:$splitKeys,
                        DefaultValuedParameter<"int64_t", "0">:$amx,
                        DefaultValuedParameter<"int64_t", "0">:$dpbf16);
  // `<` key = value, ... `>`: block_q, block_k, vector_width required, the rest optional and
  // printed only when not their default (AttnDialect.cpp).
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

def Attn_VulkanConfigAttr : AttrDef<Attn_Dialect, "VulkanConfig"> {
  let mnemonic = "vulkan_config";
  let summary = "Tile configuration of a Vulkan (SPIR-V) attention kernel";
  let description = [{
    Every tunable of the Vulkan kernel generators, attached to an attn op as `attn.vulkan_config`
    by `attn-configure-vulkan` (heuristics), by hand, or by a tuner; the generators read nothing
    else. A workgroup is `teams` subgroups of `subgroup_size` lanes; each subgroup (a team) owns
    one query row of one head, its lanes splitting the head dims (lane l holds elements l,
    l + subgroup_size, ...). A workgroup holds `teams` rows: min(G, teams) heads of a GQA group
    times teams / min(G, teams) consecutive query rows, so each K/V tile it stages in shared
    memory serves every head of the group it holds.
    - `subgroup_size`: the device's subgroup size (a power of two in [4, 128]; the code is built
      for one, and the runtime requires full subgroups of it);
    - `teams`: subgroups per workgroup, in [1, 32], teams x subgroup_size <= 1024;
    - `block_k`: keys per K/V tile staged in shared memory, a multiple of subgroup_size, at most
      256 (the scores of a subtile of subgroup_size keys are one per lane);
    - `split_keys` (default 512): keys per KV split of a decode launch at least, a multiple of
      block_k;
    - `chunk` (default 16): linear attention's query rows and keys per chunk of its scan, in
      [1, 64] (a workgroup owns teams x subgroup_size value columns of one head);
    - `coopmat` (default 0): 1 = the prefill kernel computes S = QKᵀ and PV on cooperative
      matrices (VK_KHR_cooperative_matrix, 16 x 16 x 16 f16 tiles with f32 accumulators): each
      team owns 16 query rows of one head; f16 problems with head dims that are multiples of 16,
      block_k a multiple of 16, on a device that exposes the extension.
    The attribute verifies its own values; attn-configure-vulkan also checks one against the
    device (subgroup size, shared memory: softmax 4 x (block_k x (D + 1 + Dv) + teams x D) bytes,
    linear 4 x (chunk x (2 D + chunk + 1) + D)).

    Example: `#attn.vulkan_config<subgroup_size = 32, teams = 8, block_k = 32>`
  }];
  let parameters = (ins "int64_t":$subgroupSize, "int64_t":$teams, "int64_t":$blockK,
                        DefaultValuedParameter<"int64_t", "512">:$splitKeys,
                        DefaultValuedParameter<"int64_t", "16">:$chunk,
                        DefaultValuedParameter<"int64_t", "0">:$coopmat);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

def Attn_CUDAConfigAttr : AttrDef<Attn_Dialect, "CUDAConfig"> {
  let mnemonic = "cuda_config";
  let summary = "Tile configuration of a CUDA attention kernel";
  let description = [{
    Every tunable of the CUDA kernel generators, attached to an attn op as `attn.cuda_config` by
    `attn-configure-cuda` (heuristics), by hand, or by a tuner; the generators read nothing else.
    - `warps`: warps per CTA, in [1, 8]. On the tensor-core path each warp owns 16 rows of the
      packed (query row, head of the GQA group) axis, so a CTA owns 16 x warps of them and each
      K/V tile it stages serves every head of the group; on the SIMT path a warp is a team (one
      query row of one head, its lanes splitting the head dims);
    - `block_n`: keys per K/V tile; a multiple of 16 in [16, 256] (tensor cores) or of 32 in
      [32, 256] (SIMT);
    - `stages` (default 2): K/V tiles in flight in the cp.async ring (tensor cores), in [1, 4];
    - `mma` (default 1): 1 = FlashAttention-2-style prefill on tensor cores (mma.sync m16n8k16,
      ldmatrix, cp.async; f16 and bf16 softmax attention with head dims multiples of 16 up to
      256); 0 = the SIMT kernels every GPU target shares (f32, linear attention, other dims);
    - `split_keys` (default 512): keys per KV split of a decode launch at least, a multiple of
      block_n;
    - `chunk` (default 16): linear attention's rows and keys per chunk of its scan, in [1, 64].
    The attribute verifies its own values; attn-configure-cuda also checks one against the
    problem and the GPU (dtype and head dims of the tensor-core path, shared memory).

    Example: `#attn.cuda_config<warps = 4, block_n = 64>`,
    `#attn.cuda_config<warps = 4, block_n = 32, mma = 0>`
  }];
  let parameters = (ins "int64_t":$warps, "int64_t":$blockN,
                        DefaultValuedParameter<"int64_t", "2">:$stages,
                        DefaultValuedParameter<"int64_t", "1">:$mma,
                        DefaultValuedParameter<"int64_t", "512">:$splitKeys,
                        DefaultValuedParameter<"int64_t", "16">:$chunk);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

#endif // ATTN_ATTRS_TD
