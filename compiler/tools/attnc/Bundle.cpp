//===- Bundle.cpp - writing attnc's kernel bundles ------------------------===//

#include "Bundle.h"

#include "attn/attn_version.h"

#include <cstring>

void attnc::describeCode(const attn_kernel_manifest &m, ::attn::bundle::BundleEntry &entry) {
  entry.variant = m.variant;
  entry.dtype = m.dtype;
  entry.causal = m.causal;
  entry.returnLse = m.return_lse;
  entry.returnEntropy = m.return_entropy;
  entry.featureMap = m.feature_map;
  entry.normalize = m.normalize;
  entry.headsQ = m.heads_q;
  entry.headsKv = m.heads_kv;
  entry.headDim = m.head_dim;
  entry.headDimV = m.head_dim_v;
  entry.windowLeft = m.window_left;
  entry.windowRight = m.window_right;
  entry.globalTokens = m.global_tokens;
  entry.scale = m.scale;
  entry.softcap = m.softcap;
  entry.blockQ = m.block_q;
  entry.blockK = m.block_k;
  entry.decodeMaxRows = m.decode_max_rows;
  entry.pageSize = static_cast<int32_t>(m.page_size);
  entry.alibi = m.alibi;
  entry.sinks = m.sinks;
}

std::string attnc::deviceBundle(const char *target, const std::string &level,
                                const attn_kernel_manifest &manifest,
                                const std::string &container) {
  ::attn::bundle::BundleEntry entry{};
  std::strncpy(entry.target, target, sizeof(entry.target) - 1);
  std::strncpy(entry.cpuLevel, level.c_str(), sizeof(entry.cpuLevel) - 1);
  describeCode(manifest, entry);
  return ::attn::bundle::writeBundle({entry}, {container}, ATTN_VERSION_MAJOR, ATTN_VERSION_MINOR,
                                     ATTN_VERSION_PATCH);
}
