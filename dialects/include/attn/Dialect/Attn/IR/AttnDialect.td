#ifndef ATTN_DIALECT_TD
#define ATTN_DIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def Attn_Dialect : Dialect {
  let name = "attn";
  let cppNamespace = "::mlir::attn";
  let summary = "Attention problems as values: softmax, linear, online and merge forms";
  let description = [{
    The `attn` dialect describes an attention problem once, independently of the target. One
    softmax op (`attn.attention`) carries its variant as orthogonal attributes (causal, a diagonal
    band, global tokens, softcap, scale, optional statistics), grouped-query attention is read off
    the head counts, and per-batch lengths are optional operands. Linear (kernelized) attention is
    its own op because it computes something else. `attn.online_attention`, `attn.finalize` and
    `attn.merge` are the building blocks that flash-style tiling and split-KV decode are made of.

    Ops take tensors in BSHD layout: Q [B, Sq, Hq, D], K [B, Skv, Hkv, D], V [B, Skv, Hkv, Dv],
    O [B, Sq, Hq, Dv]; statistics are f32 [B, Hq, Sq]. Head counts and head dims are static, batch
    and sequence lengths may be dynamic. The exact math is ../shared/SPEC.md §3.
  }];
  let useDefaultAttributePrinterParser = 1;
  // `attn.cpu_config` on an op is checked against the op (AttnShape.h, verifyCPUConfig).
  let hasOperationAttrVerify = 1;
  let hasCanonicalizer = 0;
}

class Attn_Op<string mnemonic, list<Trait> traits = []> :
    Op<Attn_Dialect, mnemonic, traits>;

#endif // ATTN_DIALECT_TD
