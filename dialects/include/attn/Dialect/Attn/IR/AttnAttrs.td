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
      `block_k` (fewer, longer splits cost less merging; more, shorter ones more parallelism).
    The attribute verifies its own values; on an op it is also checked against the op's group:
    `block_q` x G <= 256 rows.

    Example: `#attn.cpu_config<block_q = 64, block_k = 64, vector_width = 16>`,
    `#attn.cpu_config<block_q = 8, block_k = 32, vector_width = 8, decode_rows = 32,
    split_keys = 512>`
  }];
  let parameters = (ins "int64_t":$blockQ, "int64_t":$blockK, "int64_t":$vectorWidth,
                        DefaultValuedParameter<"int64_t", "64">:$decodeRows,
                        DefaultValuedParameter<"int64_t", "256">:$splitKeys);
  // `<` key = value, ... `>`: block_q, block_k, vector_width required, the rest optional and
  // printed only when not their default (AttnDialect.cpp).
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

#endif // ATTN_ATTRS_TD
