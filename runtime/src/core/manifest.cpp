//===- manifest.cpp - checking a kernel's code against its problem --------===//

#include "core/manifest.h"

#include "core/error.h"

#include "attn/attn_version.h"

#include <cstring>

namespace attn::rt {

namespace {

long long ll(int64_t value) { return static_cast<long long>(value); }

std::string differs(const char *field, long long code, long long claimed) {
  return format("was built for %s = %lld, but is asked to run %s = %lld", field, code, field,
                claimed);
}

std::string problemDifference(const attn_kernel_manifest &m, const attn_problem &p) {
  struct IntField {
    const char *name;
    long long code, claimed;
  };
  const IntField fields[] = {
      {"variant", m.variant, p.variant},
      {"dtype", m.dtype, p.dtype},
      {"heads_q", m.heads_q, p.heads_q},
      {"heads_kv", m.heads_kv, p.heads_kv},
      {"head_dim", m.head_dim, p.head_dim},
      {"head_dim_v", m.head_dim_v, p.head_dim_v},
      {"causal", m.causal, p.causal},
      {"window_left", m.window_left, p.window_left},
      {"window_right", m.window_right, p.window_right},
      {"global_tokens", m.global_tokens, p.global_tokens},
      {"return_lse", m.return_lse, p.return_lse},
      {"return_entropy", m.return_entropy, p.return_entropy},
      {"feature_map", m.feature_map, p.feature_map},
      {"normalize", m.normalize, p.normalize},
      {"page_size", m.page_size, p.page_size},
      {"alibi", m.alibi, p.alibi},
      {"sinks", m.sinks, p.sinks},
  };
  for (const IntField &f : fields)
    if (f.code != f.claimed)
      return differs(f.name, f.code, f.claimed);
  // Exact: both sides hold the same normalized double (the default scale is 1/sqrt(D) on both).
  if (m.scale != p.scale)
    return format("was built for scale = %.17g, but is asked to run scale = %.17g", m.scale,
                  p.scale);
  if (m.softcap != p.softcap)
    return format("was built for softcap = %.17g, but is asked to run softcap = %.17g", m.softcap,
                  p.softcap);
  return "";
}

std::string tileDifference(const attn_kernel_manifest &m, const attn_jit_kernel &k) {
  struct Tile {
    const char *name;
    int64_t code, claimed;
  };
  const Tile tiles[] = {{"block_q", m.block_q, k.block_q},
                        {"block_k", m.block_k, k.block_k},
                        {"decode_max_rows", m.decode_max_rows, k.decode_max_rows}};
  if (m.split_keys < m.block_k || m.split_keys > kMaxManifestSplitKeys ||
      k.split_keys != m.split_keys)
    return format("names split_keys = %lld (expected %lld..%lld, as described: %lld)",
                  ll(m.split_keys), ll(m.block_k), ll(kMaxManifestSplitKeys), ll(k.split_keys));
  for (const Tile &t : tiles) {
    if (t.code < 1 || t.code > kMaxManifestBlock)
      return format("names %s = %lld (expected 1..%lld)", t.name, ll(t.code),
                    ll(kMaxManifestBlock));
    if (t.code != t.claimed)
      return format("was generated with %s = %lld, but is described with %s = %lld", t.name,
                    ll(t.code), t.name, ll(t.claimed));
  }
  return "";
}

} // namespace

std::string manifestDefect(const attn_problem &problem, const attn_jit_kernel &kernel) {
  const attn_kernel_manifest *m = kernel.manifest;
  if (!m)
    return "carries no manifest (" ATTN_KERNEL_MANIFEST_SYMBOL ")";
  if (std::memcmp(m->magic, ATTN_KERNEL_MANIFEST_MAGIC, sizeof(m->magic)) != 0 ||
      m->manifest_version != ATTN_KERNEL_MANIFEST_VERSION ||
      m->manifest_size != sizeof(attn_kernel_manifest))
    return format("carries a manifest of another format (version %u, %u bytes; this runtime "
                  "reads version %d, %zu bytes)",
                  m->manifest_version, m->manifest_size, ATTN_KERNEL_MANIFEST_VERSION,
                  sizeof(attn_kernel_manifest));
  if (m->attnc_major != ATTN_VERSION_MAJOR ||
      (ATTN_VERSION_MAJOR == 0 && m->attnc_minor != ATTN_VERSION_MINOR))
    return format("was built by attnc %u.%u.%u, which this runtime (%d.%d) does not run",
                  m->attnc_major, m->attnc_minor, m->attnc_patch, ATTN_VERSION_MAJOR,
                  ATTN_VERSION_MINOR);
  if (m->target != problem.target)
    return format("was built for target %d, not the problem's %d", m->target, int(problem.target));
  if (m->target == ATTN_TARGET_CPU && m->vector_width != 4 && m->vector_width != 8 &&
      m->vector_width != 16)
    return format("names a vector width of %u (expected 4, 8 or 16)", m->vector_width);
  if (m->target != ATTN_TARGET_CPU &&
      (m->vector_width < 4 || m->vector_width > 128 || (m->vector_width & (m->vector_width - 1))))
    return format("names a subgroup size of %u (expected a power of two in [4, 128])",
                  m->vector_width);
  if ((m->cpu_features & ~ATTN_KERNEL_MANIFEST_CPU_KNOWN) != 0 ||
      (m->cpu_features != 0 && m->target != ATTN_TARGET_CPU))
    return format("names unknown CPU features 0x%x", m->cpu_features);
  if (m->config_source > ATTN_CONFIG_GIVEN)
    return format("names an unknown configuration source %u", m->config_source);
  std::string difference = problemDifference(*m, problem);
  if (difference.empty())
    difference = tileDifference(*m, kernel);
  return difference;
}

} // namespace attn::rt
