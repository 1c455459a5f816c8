#ifndef ATTN_OPS_TD
#define ATTN_OPS_TD

include "attn/Dialect/Attn/IR/AttnDialect.td"
include "attn/Dialect/Attn/IR/AttnAttrs.td"
include "attn/Dialect/Attn/IR/AttnEnums.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Attn_SeqLens : 1DTensorOf<[I32]>;
def Attn_BlockTable : 2DTensorOf<[I32]>;
def Attn_HeadValues : 1DTensorOf<[F32]>;

// The score and mask attributes shared by every softmax form (attn.attention and
// attn.online_attention), so that the two cannot drift apart.
defvar Attn_ScoreAttrs = (ins
  OptionalAttr<F64Attr>:$scale,
  UnitAttr:$causal,
  OptionalAttr<DenseI64ArrayAttr>:$window,
  OptionalAttr<I64Attr>:$global_tokens,
  OptionalAttr<F64Attr>:$softcap);

defvar Attn_ScoreAttrsDoc = [{
    Scores and visibility (SPEC §3). `scale` defaults to 1/sqrt(D); `softcap = c` (c > 0) maps a
    score s to c·tanh(s/c). Query row i sits at absolute position p_i = i + (Lkv − Lq)
    (bottom-right alignment). Key j is visible when j < Lkv and
    - `causal`: j ≤ p_i;
    - `window = array<i64: left, right>`: p_i − left ≤ j ≤ p_i + right, −1 meaning unbounded on that
      side (a diagonal band: Mistral's sliding window is `causal` with `left = w − 1`);
    - `global_tokens = G`: keys j < G are visible to every query and queries with p_i < G see every
      key, whatever the band says; `causal` still applies.
    A row with no visible key yields zeros, LSE = −inf and entropy 0.
}];

//===----------------------------------------------------------------------===//
// attn.attention
//===----------------------------------------------------------------------===//

def Attn_AttentionOp : Attn_Op<"attention", [Pure, AttrSizedOperandSegments]> {
  let summary = "Softmax attention, its variant given by orthogonal attributes";
  let description = !strconcat([{
    Computes O = softmax(scale · Q Kᵀ, masked) · V for every batch and query head. Grouped-query
    attention is read off the head counts: query head h uses kv head h / (Hq / Hkv), so Hq must be a
    multiple of Hkv (MQA is Hkv = 1). Optional `seqlens_q` / `seqlens_kv` (i32 [B]) give each batch's
    lengths; rows past Lq are unspecified and keys past Lkv are never read.

    With `block_table(%t : tensor<BxMxi32>)` K and V are a paged KV cache (SPEC §2): K is
    [P, page_size, Hkv, D] and V [P, page_size, Hkv, Dv] pages, page_size static and a power of two
    from 1 to 256, and key j of batch b is slot j % page_size of page t[b, j / page_size]. Each
    sequence's capacity is M x page_size keys (its length Lkv, with `seqlens_kv`, at most that);
    table entries past a sequence's last page are never read.

    Per query head, f32 [Hq] operands given at each launch (learned parameters, no recompile):
    `alibi_slopes(%m)` subtract m_h · |p_i − j| from every score after the scale and the softcap
    (ALiBi, FlashAttention's bottom-right convention); `sinks(%s)` add exp(s_h) to every row's
    softmax denominator with no value (gpt-oss, FlashAttention-3's learnable sinks; unrelated to
    `global_tokens`): the output is scaled down, LSE includes the sink, entropy is that of the
    distribution over the keys and the sink, and a row with no visible key has LSE = s_h.

    `return_lse` adds the f32 [B, Hq, Sq] natural log of each row's softmax denominator (scale
    included), `return_entropy` the row's Shannon entropy in nats; when both are asked, LSE comes
    first.
  }], Attn_ScoreAttrsDoc, [{
    Canonical form (the canonicalizer produces it): `window` never holds [−1, −1]; a band whose right
    bound is 0 is written `causal`, and `causal` never carries a right bound; `global_tokens` is
    absent when it is 0 or when there is no finite band for it to widen; `scale` is absent when it
    equals 1/sqrt(D).

    Example (sliding window of 4096 with 4 global tokens, GQA 32/8, varlen KV, LSE):
    ```mlir
    %o, %lse = attn.attention %q, %k, %v seqlens_kv(%lens : tensor<?xi32>)
        {causal, window = array<i64: 4095, -1>, global_tokens = 4 : i64, return_lse}
        : tensor<?x?x32x128xbf16>, tensor<?x?x8x128xbf16>, tensor<?x?x8x128xbf16>
        -> tensor<?x?x32x128xbf16>, tensor<?x32x?xf32>
    ```
  }]);
  let arguments = !con(
    (ins AnyRankedTensor:$query, AnyRankedTensor:$key, AnyRankedTensor:$value,
         Optional<Attn_SeqLens>:$seqlens_q, Optional<Attn_SeqLens>:$seqlens_kv,
         Optional<Attn_BlockTable>:$block_table,
         Optional<Attn_HeadValues>:$alibi_slopes, Optional<Attn_HeadValues>:$sinks),
    Attn_ScoreAttrs,
    (ins UnitAttr:$return_lse, UnitAttr:$return_entropy));
  let results = (outs AnyRankedTensor:$output, Variadic<AnyRankedTensor>:$stats);
  let assemblyFormat = [{
    $query `,` $key `,` $value
    (`seqlens_q` `(` $seqlens_q^ `:` type($seqlens_q) `)`)?
    (`seqlens_kv` `(` $seqlens_kv^ `:` type($seqlens_kv) `)`)?
    (`block_table` `(` $block_table^ `:` type($block_table) `)`)?
    (`alibi_slopes` `(` $alibi_slopes^ `:` type($alibi_slopes) `)`)?
    (`sinks` `(` $sinks^ `:` type($sinks) `)`)?
    attr-dict `:` type($query) `,` type($key) `,` type($value) `->` type($output) (`,` type($stats)^)?
  }];
  let extraClassDeclaration = [{
    /// Keys per page of a paged KV cache (K's dim 1), or 0 without a block table.
    int64_t getPageSize();
    /// The LSE result, or null when not asked for.
    ::mlir::Value getLse();
    /// The entropy result, or null when not asked for.
    ::mlir::Value getEntropy();
    /// The scale in effect (the attribute, else 1/sqrt(D)).
    double getEffectiveScale();
  }];
  let hasVerifier = 1;
  let hasCanonicalizeMethod = 1;
}

//===----------------------------------------------------------------------===//
// attn.linear_attention
//===----------------------------------------------------------------------===//

def Attn_LinearAttentionOp : Attn_Op<"linear_attention", [Pure, AttrSizedOperandSegments]> {
  let summary = "Kernelized linear attention (Katharopoulos et al. 2020)";
  let description = [{
    q is multiplied by `scale` (default 1), then the feature map φ is applied elementwise to q and
    k. Non-causal: o_i = φ(q_i)ᵀ Σ_j φ(k_j) v_jᵀ / (φ(q_i)ᵀ Σ_j φ(k_j) + 1e-6); with `causal` the
    sums run over j ≤ p_i (bottom-right alignment as for softmax attention); `normalize = false`
    drops the denominator. Grouped-query head mapping and per-batch lengths work as for
    `attn.attention`. There is no softmax, so there is no LSE or entropy: `return_lse` and
    `return_entropy` exist only so that the verifier rejects them with a clear message (the C
    descriptor has the same fields).

    Example:
    ```mlir
    %o = attn.linear_attention %q, %k, %v {causal, feature_map = #attn<feature_map relu>}
        : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$query, AnyRankedTensor:$key, AnyRankedTensor:$value,
      Optional<Attn_SeqLens>:$seqlens_q, Optional<Attn_SeqLens>:$seqlens_kv,
      DefaultValuedAttr<Attn_FeatureMapAttr, "::mlir::attn::FeatureMap::elu_plus_one">:$feature_map,
      UnitAttr:$causal,
      DefaultValuedAttr<BoolAttr, "true">:$normalize,
      OptionalAttr<F64Attr>:$scale,
      UnitAttr:$return_lse, UnitAttr:$return_entropy);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = [{
    $query `,` $key `,` $value
    (`seqlens_q` `(` $seqlens_q^ `:` type($seqlens_q) `)`)?
    (`seqlens_kv` `(` $seqlens_kv^ `:` type($seqlens_kv) `)`)?
    attr-dict `:` type($query) `,` type($key) `,` type($value) `->` type($output)
  }];
  let hasVerifier = 1;
  let hasCanonicalizeMethod = 1;
}

//===----------------------------------------------------------------------===//
// attn.online_attention
//===----------------------------------------------------------------------===//

def Attn_OnlineAttentionOp : Attn_Op<"online_attention", [Pure, AttrSizedOperandSegments]> {
  let summary = "One step of online softmax attention: a K/V tile folded into running state";
  let description = !strconcat([{
    The tileable form of `attn.attention`. The state is an unnormalized f32 accumulator
    `acc` [B, Sq, Hq, Dv], the running row max `max` and running sum `sum` (f32 [B, Hq, Sq]) and,
    when entropy is tracked, `score_sum` (Σ exp(s − max)·s, f32 [B, Hq, Sq]). For each row, with
    s_j the visible scores of this K/V tile:
      m' = max(m, max_j s_j),  α = exp(m − m') (1 when m' = −inf),
      sum' = α·sum + Σ_j exp(s_j − m'),  acc' = α·acc + Σ_j exp(s_j − m')·v_j,
      score_sum' = α·score_sum + Σ_j exp(s_j − m')·s_j.
    The initial state is acc = 0, max = −inf, sum = 0 (score_sum = 0); `attn.finalize` turns the
    final state into O, LSE and entropy. Folding the tiles of K/V in any order gives
    `attn.attention` up to rounding: this is flash attention's loop as one op.

    `positions(%query_pos, %key_pos)` give the absolute position of the tile's first query row
    (p_0, already bottom-right aligned) and the index of its first key; without them the op is the
    whole problem (p_0 = Skv − Sq, first key 0). Every key of the tile is in range: a tiler slices
    K/V by the batch's length before forming the tile.
  }], Attn_ScoreAttrsDoc, [{
    Example (one 64-key tile of a causal problem):
    ```mlir
    %a1, %m1, %l1 = attn.online_attention %q, %kt, %vt into %a0, %m0, %l0
        positions(%qpos, %kpos) {causal}
        : (tensor<1x128x8x64xf32>, tensor<1x64x8x64xf32>, tensor<1x64x8x64xf32>,
           tensor<1x128x8x64xf32>, tensor<1x8x128xf32>, tensor<1x8x128xf32>, index, index)
        -> (tensor<1x128x8x64xf32>, tensor<1x8x128xf32>, tensor<1x8x128xf32>)
    ```
  }]);
  let arguments = !con(
    (ins AnyRankedTensor:$query, AnyRankedTensor:$key, AnyRankedTensor:$value,
         AnyRankedTensor:$acc, AnyRankedTensor:$max, AnyRankedTensor:$sum,
         Optional<AnyRankedTensor>:$score_sum,
         Optional<Index>:$query_pos, Optional<Index>:$key_pos),
    Attn_ScoreAttrs);
  let results = (outs AnyRankedTensor:$new_acc, AnyRankedTensor:$new_max,
                      AnyRankedTensor:$new_sum, Optional<AnyRankedTensor>:$new_score_sum);
  let assemblyFormat = [{
    $query `,` $key `,` $value `into` $acc `,` $max `,` $sum (`,` `score_sum` $score_sum^)?
    (`positions` `(` $query_pos^ `,` $key_pos `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
  let extraClassDeclaration = [{
    double getEffectiveScale();
  }];
  let hasVerifier = 1;
  let hasCanonicalizeMethod = 1;
}

//===----------------------------------------------------------------------===//
// attn.finalize
//===----------------------------------------------------------------------===//

def Attn_FinalizeOp : Attn_Op<"finalize", [Pure]> {
  let summary = "Turn online-softmax state into the output, its LSE and (optionally) entropy";
  let description = [{
    o = acc / sum, lse = max + log(sum), entropy = lse − score_sum / sum; a row whose sum is 0
    (nothing visible) gives o = 0, lse = −inf, entropy = 0. The output takes the element type of
    the `output` result (the accumulator is f32). The entropy result exists exactly when
    `score_sum` is given.

    Example:
    ```mlir
    %o, %lse = attn.finalize %acc, %max, %sum
        : (tensor<?x?x8x64xf32>, tensor<?x8x?xf32>, tensor<?x8x?xf32>)
        -> (tensor<?x?x8x64xf16>, tensor<?x8x?xf32>)
    ```
  }];
  let arguments = (ins AnyRankedTensor:$acc, AnyRankedTensor:$max, AnyRankedTensor:$sum,
                       Optional<AnyRankedTensor>:$score_sum);
  let results = (outs AnyRankedTensor:$output, AnyRankedTensor:$lse,
                      Optional<AnyRankedTensor>:$entropy);
  let assemblyFormat = [{
    $acc `,` $max `,` $sum (`,` `score_sum` $score_sum^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// attn.merge
//===----------------------------------------------------------------------===//

def Attn_MergeOp : Attn_Op<"merge", [Pure]> {
  let summary = "Merge partial attention results over disjoint key sets by their LSE";
  let description = [{
    `parts` [P, B, Sq, Hq, Dv] and `lse_parts` f32 [P, B, Hq, Sq] are P partial results, each
    computed over a disjoint set of keys (split-KV decode, or one sequence split across devices):
    lse = log Σ_p exp(lse_p), o = Σ_p exp(lse_p − lse)·o_p. Parts with lse_p = −inf contribute
    nothing; when every part is −inf, o = 0 and lse = −inf.

    Example (4 KV splits of a decode step):
    ```mlir
    %o, %lse = attn.merge %parts, %lses
        : tensor<4x?x1x32x128xf32>, tensor<4x?x32x1xf32> -> tensor<?x1x32x128xbf16>, tensor<?x32x1xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$parts, AnyRankedTensor:$lse_parts);
  let results = (outs AnyRankedTensor:$output, AnyRankedTensor:$lse);
  let assemblyFormat = [{
    $parts `,` $lse_parts attr-dict `:` type($parts) `,` type($lse_parts) `->` type($output) `,` type($lse)
  }];
  let hasVerifier = 1;
}

#endif // ATTN_OPS_TD
