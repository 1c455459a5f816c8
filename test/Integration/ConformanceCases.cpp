//===- ConformanceCases.cpp - conformance cases every backend runs -----===//

#include "ConformanceCases.h"

namespace attn::conformance {

const char *dtypeName(attn_dtype dtype) {
  return dtype == ATTN_DTYPE_F32 ? "f32" : dtype == ATTN_DTYPE_F16 ? "f16" : "bf16";
}

Case makeCase(std::string name, attn_problem problem, int64_t batch, int64_t seqQ, int64_t seqKv) {
  Case c;
  c.name = std::move(name);
  c.problem = problem;
  c.batch = batch;
  c.seqQ = seqQ;
  c.seqKv = seqKv;
  return c;
}

std::vector<Case> maskCases(attn_target target, int64_t seq, int64_t shortQ, int64_t longKv) {
  std::vector<Case> cases;
  struct Mask {
    const char *name;
    int causal;
    int64_t left, right, globals;
  };
  for (Mask m : {Mask{"band_0_0", 0, 0, 0, 0}, Mask{"causal_window_1", 1, 1, -1, 0},
                 Mask{"causal_window_16", 1, 16, -1, 0}, Mask{"band_64_64", 0, 64, 64, 0},
                 Mask{"band_left_unbounded_right_5", 0, -1, 5, 0},
                 Mask{"band_100_right_unbounded", 0, 100, -1, 0},
                 Mask{"global_1_causal_window_8", 1, 8, -1, 1},
                 Mask{"globals_4_causal_window_63", 1, 63, -1, 4},
                 Mask{"longformer_globals_70", 0, 16, 16, 70}}) {
    attn_problem p = softmaxProblem(ATTN_DTYPE_F32, 4, 2, 32, 32);
    p.target = target;
    p.causal = m.causal;
    p.window_left = m.left;
    p.window_right = m.right;
    p.global_tokens = m.globals;
    p.return_lse = 1;
    p.return_entropy = 1;
    cases.push_back(makeCase(m.name, p, 2, seq, seq));
    cases.push_back(makeCase(std::string(m.name) + "_sq_lt_skv", p, 1, shortQ, longKv));
  }
  return cases;
}

std::vector<Case> varlenCases(attn_target target) {
  std::vector<Case> cases;
  attn_problem p = softmaxProblem(ATTN_DTYPE_F16, 4, 2, 64, 64);
  p.target = target;
  p.causal = 1;
  p.return_lse = 1;
  p.return_entropy = 1;
  Case c = makeCase("varlen_causal", p, 4, 100, 150);
  c.seqlensQ = {100, 37, 1, 0};
  c.seqlensKv = {150, 37, 90, 5};
  cases.push_back(c);
  Case kvOnly = makeCase("varlen_kv_cache_empty_batch", p, 3, 5, 300);
  kvOnly.seqlensKv = {300, 0, 129};
  cases.push_back(kvOnly);
  attn_problem window = softmaxProblem(ATTN_DTYPE_F32, 2, 2, 32, 32);
  window.target = target;
  window.window_left = 20;
  window.window_right = 3;
  window.global_tokens = 2;
  Case w = makeCase("varlen_window_globals", window, 3, 90, 120);
  w.seqlensQ = {90, 40, 13};
  w.seqlensKv = {120, 13, 40};
  cases.push_back(w);
  return cases;
}

std::vector<Case> packedCases(attn_target target) {
  std::vector<Case> cases;
  auto packed = [&](Case c, bool q, bool kv) {
    c.packedQ = q;
    c.packedKv = kv;
    cases.push_back(std::move(c));
  };
  attn_problem p = softmaxProblem(ATTN_DTYPE_F16, 4, 2, 64, 64);
  p.target = target;
  p.causal = 1;
  p.return_lse = 1;
  p.return_entropy = 1;
  Case c = makeCase("packed_causal_gqa", p, 4, 100, 150);
  c.seqlensQ = {100, 37, 1, 0}; // an empty sequence among them
  c.seqlensKv = {150, 37, 90, 5};
  packed(c, true, true);
  c.name = "packed_q_padded_kv";
  packed(c, true, false);
  c.name = "padded_q_packed_kv";
  packed(c, false, true);
  // Decode steps of a batch: one query row each (the split-KV path), a sequence without keys.
  attn_problem d = softmaxProblem(ATTN_DTYPE_BF16, 8, 2, 128, 128);
  d.target = target;
  d.return_lse = 1;
  Case decode = makeCase("packed_decode_gqa_bf16", d, 5, 1, 700);
  decode.seqlensKv = {700, 1, 0, 333, 64};
  packed(decode, true, true);
  attn_problem w = softmaxProblem(ATTN_DTYPE_F32, 2, 2, 32, 32);
  w.target = target;
  w.window_left = 20;
  w.window_right = 3;
  w.global_tokens = 2;
  w.return_lse = 1;
  Case window = makeCase("packed_window_globals_bhsd", w, 3, 90, 120);
  window.seqlensQ = {90, 40, 13};
  window.seqlensKv = {120, 13, 40};
  window.bhsd = true; // [H, T, D] packed tensors, by strides
  packed(window, true, true);
  // More sequences than the CPU launch counts on its stack (256), lengths 0..7.
  attn_problem many = softmaxProblem(ATTN_DTYPE_F32, 2, 1, 32, 32);
  many.target = target;
  many.causal = 1;
  many.return_lse = 1;
  Case lots = makeCase("packed_300_short_sequences", many, 300, 7, 9);
  for (int64_t b = 0; b < 300; ++b) {
    lots.seqlensQ.push_back(static_cast<int32_t>((b * 5 + 3) % 8));
    lots.seqlensKv.push_back(static_cast<int32_t>((b * 3 + 1) % 10));
  }
  packed(lots, true, true);
  attn_problem lin = linearProblem(ATTN_DTYPE_F32, 2, 2, 32, 32);
  lin.target = target;
  lin.causal = 1;
  Case linear = makeCase("packed_linear_causal", lin, 3, 40, 50);
  linear.seqlensQ = {40, 10, 0};
  linear.seqlensKv = {50, 30, 7};
  packed(linear, true, true);
  return cases;
}

std::vector<Case> launchScaleCases(attn_target target) {
  std::vector<Case> cases;
  auto scaled = [&](std::string name, attn_problem p, int64_t batch, int64_t sq, int64_t skv,
                    double scale) {
    p.target = target;
    Case c = makeCase(std::move(name), p, batch, sq, skv);
    c.launchScale = scale;
    cases.push_back(c);
  };
  attn_problem p = softmaxProblem(ATTN_DTYPE_F32, 4, 2, 64, 64);
  p.causal = 1;
  p.return_lse = 1;
  p.return_entropy = 1;
  scaled("launch_scale_causal_f32", p, 2, 70, 90, 0.3);
  attn_problem bf = softmaxProblem(ATTN_DTYPE_BF16, 4, 2, 64, 64); // VDPBF16PS / AMX on hosts
  bf.return_lse = 1;                                               // with them
  scaled("launch_scale_bf16", bf, 1, 100, 100, 0.05);
  bf.softcap = 5;
  scaled("launch_scale_softcap_bf16", bf, 1, 100, 100, 0.4);
  attn_problem given = softmaxProblem(ATTN_DTYPE_F16, 8, 2, 128, 128);
  given.scale = 0.5; // a compiled scale the launch replaces
  given.return_lse = 1;
  scaled("launch_scale_decode_f16", given, 2, 1, 700, 0.02);
  attn_problem decode = softmaxProblem(ATTN_DTYPE_BF16, 8, 2, 128, 128);
  scaled("launch_scale_decode_bf16", decode, 2, 1, 700, 0.2);
  attn_problem lin = linearProblem(ATTN_DTYPE_F32, 2, 2, 32, 32);
  lin.causal = 1;
  scaled("launch_scale_linear", lin, 2, 40, 40, 0.25);
  return cases;
}

std::vector<Case> headValueCases(attn_target target) {
  std::vector<Case> cases;
  auto add = [&](std::string name, attn_problem p, int alibi, int sinks, int64_t batch, int64_t sq,
                 int64_t skv) -> Case & {
    p.target = target;
    p.alibi = alibi;
    p.sinks = sinks;
    cases.push_back(makeCase(std::move(name), p, batch, sq, skv));
    return cases.back();
  };
  attn_problem f32 = softmaxProblem(ATTN_DTYPE_F32, 4, 2, 64, 64);
  f32.causal = 1;
  f32.return_lse = 1;
  f32.return_entropy = 1;
  add("alibi_causal_f32", f32, 1, 0, 2, 70, 90);
  add("sinks_causal_f32", f32, 0, 1, 2, 70, 90);
  Case &x100 = add("alibi_sinks_logits_x100_f32", f32, 1, 1, 1, 33, 33);
  x100.logitScale = 100;
  attn_problem dense = softmaxProblem(ATTN_DTYPE_F32, 2, 1, 80, 96); // Dv != D, MQA
  dense.return_lse = 1;
  add("alibi_sinks_dense_mqa_dv96", dense, 1, 1, 2, 1, 129);
  // A window with globals, varlen, and a sequence with no keys: its rows' LSE is the sink.
  attn_problem w = softmaxProblem(ATTN_DTYPE_F32, 2, 2, 32, 32);
  w.window_left = 20;
  w.window_right = 3;
  w.global_tokens = 2;
  w.return_lse = 1;
  w.return_entropy = 1;
  Case &window = add("alibi_sinks_window_globals_varlen", w, 1, 1, 3, 90, 120);
  window.seqlensQ = {90, 40, 13};
  window.seqlensKv = {120, 0, 40};
  for (attn_dtype dtype : {ATTN_DTYPE_F16, ATTN_DTYPE_BF16}) { // bf16: VDPBF16PS / AMX hosts
    attn_problem half = softmaxProblem(dtype, 4, 2, 64, 64);
    half.causal = 1;
    half.return_lse = 1;
    add(std::string("alibi_sinks_causal_") + dtypeName(dtype), half, 1, 1, 1, 100, 130);
    half.softcap = 5;
    add(std::string("alibi_softcap_") + dtypeName(dtype), half, 1, 0, 1, 100, 130);
    // Split-KV decode: the sinks are folded into split 0 only.
    attn_problem decode = softmaxProblem(dtype, 8, 2, 128, 128);
    decode.return_lse = 1;
    Case &d =
        add(std::string("alibi_sinks_decode_gqa_") + dtypeName(dtype), decode, 1, 1, 3, 2, 700);
    d.seqlensKv = {700, 0, 333};
    add(std::string("sinks_decode_") + dtypeName(dtype), decode, 0, 1, 2, 1, 1000);
  }
  attn_problem packed = f32;
  Case &pk = add("alibi_sinks_packed_causal", packed, 1, 1, 3, 40, 60);
  pk.seqlensQ = {40, 1, 17};
  pk.seqlensKv = {60, 0, 17};
  pk.packedQ = pk.packedKv = true;
  return cases;
}

std::vector<Case> pagedCases(attn_target target) {
  std::vector<Case> cases;
  auto paged = [target](attn_problem p, int64_t pageSize) {
    p.page_size = pageSize;
    p.target = target;
    return p;
  };
  auto make = makeCase;
  // The GPU suites run on lavapipe's speed: the smallest, a middle and the largest page size.
  const std::vector<int64_t> pages = target == ATTN_TARGET_CPU
                                         ? std::vector<int64_t>{1, 16, 64, 256}
                                         : std::vector<int64_t>{1, 16, 256};
  for (int64_t page : pages) {
    std::string suffix = "_page" + std::to_string(page);
    for (attn_dtype dtype : {ATTN_DTYPE_F32, ATTN_DTYPE_F16, ATTN_DTYPE_BF16}) {
      attn_problem p = paged(softmaxProblem(dtype, 8, 2, 64, 64), page);
      p.return_lse = 1;
      Case decode = make(std::string("decode_gqa_") + dtypeName(dtype) + suffix, p, 3, 1, 700);
      decode.seqlensKv = {700, 1, 333};
      cases.push_back(decode);
      attn_problem causal = p;
      causal.causal = 1;
      causal.return_entropy = 1;
      Case chunk = make(std::string("chunked_prefill_causal_") + dtypeName(dtype) + suffix, causal,
                        2, 37, 300);
      chunk.seqlensQ = {37, 20};
      chunk.seqlensKv = {300, 129};
      cases.push_back(chunk);
    }
  }
  attn_problem window = paged(softmaxProblem(ATTN_DTYPE_F32, 4, 1, 128, 96), 32);
  window.causal = 1;
  window.window_left = 100;
  window.global_tokens = 4;
  window.return_lse = 1;
  cases.push_back(make("window_globals_mqa_dv96_page32", window, 2, 150, 400));
  Case empty = make("varlen_empty_sequence_page8",
                    paged(softmaxProblem(ATTN_DTYPE_F16, 4, 4, 32, 32), 8), 3, 2, 50);
  empty.seqlensKv = {50, 0, 7};
  cases.push_back(empty);
  Case strided = make("bhsd_strides_page16",
                      paged(softmaxProblem(ATTN_DTYPE_F32, 4, 2, 64, 64), 16), 2, 9, 90);
  strided.bhsd = true;
  cases.push_back(strided);
  attn_problem big = paged(softmaxProblem(ATTN_DTYPE_BF16, 4, 2, 64, 64), 16);
  big.return_lse = 1;
  Case large = make("logits_x100_page16", big, 1, 40, 200);
  large.logitScale = 100.0;
  cases.push_back(large);
  // Packed queries against a paged cache: chunked prefill of several sequences at once, and
  // decode steps (an engine's two launches).
  attn_problem chunked = paged(softmaxProblem(ATTN_DTYPE_BF16, 8, 2, 64, 64), 16);
  chunked.causal = 1;
  chunked.return_lse = 1;
  Case prefill = make("packed_q_chunked_prefill_page16", chunked, 3, 60, 300);
  prefill.seqlensQ = {60, 0, 17};
  prefill.seqlensKv = {300, 40, 17};
  prefill.packedQ = true;
  cases.push_back(prefill);
  Case steps = make("packed_q_decode_page16", chunked, 3, 1, 300);
  steps.seqlensKv = {300, 1, 129};
  steps.packedQ = true;
  cases.push_back(steps);
  // gpt-oss-like: sinks and a sliding window over a paged cache, decode and chunked prefill.
  attn_problem gptOss = paged(softmaxProblem(ATTN_DTYPE_BF16, 8, 2, 64, 64), 16);
  gptOss.causal = 1;
  gptOss.window_left = 127;
  gptOss.sinks = 1;
  gptOss.alibi = 1;
  gptOss.return_lse = 1;
  Case sinkDecode = make("alibi_sinks_window_decode_page16", gptOss, 3, 1, 400);
  sinkDecode.seqlensKv = {400, 0, 129};
  cases.push_back(sinkDecode);
  Case sinkChunk = make("alibi_sinks_window_chunked_prefill_page16", gptOss, 2, 37, 300);
  sinkChunk.seqlensQ = {37, 20};
  sinkChunk.seqlensKv = {300, 129};
  cases.push_back(sinkChunk);
  return cases;
}

std::vector<Case> linearCases(attn_target target) {
  std::vector<Case> cases;
  struct Lin {
    attn_feature_map map;
    int causal, normalize;
    attn_dtype dtype;
    const char *name;
  };
  for (Lin l : {Lin{ATTN_FEATURE_MAP_ELU_PLUS_ONE, 0, 1, ATTN_DTYPE_F32, "linear_elu_noncausal"},
                Lin{ATTN_FEATURE_MAP_ELU_PLUS_ONE, 1, 1, ATTN_DTYPE_F32, "linear_elu_causal"},
                Lin{ATTN_FEATURE_MAP_RELU, 1, 0, ATTN_DTYPE_F32, "linear_relu_causal_raw"},
                Lin{ATTN_FEATURE_MAP_IDENTITY, 0, 0, ATTN_DTYPE_F32, "linear_identity_raw"},
                Lin{ATTN_FEATURE_MAP_ELU_PLUS_ONE, 1, 1, ATTN_DTYPE_BF16, "linear_elu_causal_bf16"},
                Lin{ATTN_FEATURE_MAP_ELU_PLUS_ONE, 0, 1, ATTN_DTYPE_F16, "linear_elu_f16"}}) {
    attn_problem p = linearProblem(l.dtype, 4, 2, 64, 32);
    p.target = target;
    p.feature_map = l.map;
    p.causal = l.causal;
    p.normalize = l.normalize;
    cases.push_back(makeCase(l.name, p, 2, 129, 200));
  }
  attn_problem wide = linearProblem(ATTN_DTYPE_F32, 2, 2, 128, 256); // Dv past a GPU workgroup
  wide.target = target;
  wide.causal = 1;
  cases.push_back(makeCase("linear_causal_dv256_sq_gt_skv", wide, 1, 90, 40));
  // Head dims that are not a multiple of the CPU kernel's column tiles (80 = 5 vectors of 16,
  // 96 = 6) and a group of 3 heads, so that query rows come in blocks of 4, 2 and 1 after the
  // full ones.
  attn_problem odd = linearProblem(ATTN_DTYPE_F32, 6, 2, 80, 96);
  odd.target = target;
  odd.causal = 1;
  cases.push_back(makeCase("linear_causal_d80_dv96_group3", odd, 1, 77, 100));
  attn_problem scaled = linearProblem(ATTN_DTYPE_F32, 2, 2, 32, 32);
  scaled.target = target;
  scaled.scale = 0.25;
  scaled.causal = 1;
  Case varlen = makeCase("linear_varlen_scaled", scaled, 3, 40, 50);
  varlen.seqlensQ = {40, 10, 0};
  varlen.seqlensKv = {50, 30, 7};
  cases.push_back(varlen);
  return cases;
}

} // namespace attn::conformance
