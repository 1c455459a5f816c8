//===- TuningDBTest.cpp - the tuning database and its use by the compiler ===//
//
// The database round trip, the choice among measured rows (never slower than the heuristic
// within the noise), merging (the lower median per key), files that are not usable tuning
// databases (garbage, another application's SQLite file, another schema, a damaged file: refused
// with a message, the compiler warns and uses its heuristic), stale entries (another attnc
// version), two processes writing one database at once, and the compiler's lookup applying an
// entry to a problem (and refusing an illegal one).
//
//===----------------------------------------------------------------------===//

#include "attn/Conversion/AttnToCUDA/CUDAKernels.h"
#include "attn/Conversion/AttnToVulkan/VulkanKernels.h"
#include "attn/JIT/CPUCompiler.h"
#include "attn/Tuning/Tuning.h"

#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdio>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

using namespace mlir;
using namespace mlir::attn;

namespace {

struct TempPath {
  std::string path;
  explicit TempPath(const char *name)
      : path(std::string(::testing::TempDir()) + "/" + name + "-" + std::to_string(::getpid())) {
    cleanup();
  }
  ~TempPath() { cleanup(); }
  void cleanup() {
    for (const char *suffix : {"", "-wal", "-shm", "-journal"})
      std::remove((path + suffix).c_str());
  }
};

TuningRow row(const std::string &config, double medianUs, int64_t heuristic,
              const std::string &shape = "prefill b1 q2048 kv2048") {
  TuningRow r;
  r.device = "dev;threads=2";
  r.version = tuningVersion();
  r.target = "cpu";
  r.problem = "softmax f32 hq8 hkv8 d64 dv64 causal1 window=-1,-1 global=0 softcap0 lse0 "
              "entropy0";
  r.shape = shape;
  r.phase = shape.substr(0, shape.find(' '));
  r.config = config;
  r.medianUs = medianUs;
  r.spread = 0.01;
  r.reps = 9;
  r.heuristic = heuristic;
  r.measuredAt = "2026-12-03T12:00:00Z";
  return r;
}

TEST(TuningDB, RoundTripAndLookup) {
  TempPath db("roundtrip.db");
  std::string error;
  auto t = TuningDB::open(db.path, /*create=*/true, error);
  ASSERT_TRUE(t) << error;
  ASSERT_TRUE(
      t->put({row("H", 100, 1), row("A", 80, 0), row("B", 99, 0),
              row("S", 10, 0, "prefill b1 q256 kv256"), row("D", 5, 1, "decode b4 q1 kv8192")},
             false, error))
      << error;
  std::vector<TuningRow> all = t->rows(TuningRow{}, error);
  ASSERT_EQ(all.size(), 5u) << error;
  EXPECT_EQ(all[0].medianUs + all[1].medianUs + all[2].medianUs + all[3].medianUs + all[4].medianUs,
            294);
  // Prefill: the shape with the most work (2048 x 2048), in it the fastest (A beats H by 20%).
  auto hit =
      t->lookup("dev;threads=2", tuningVersion(), "cpu", all[0].problem, Phase::Prefill, error);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->config, "A");
  auto decode =
      t->lookup("dev;threads=2", tuningVersion(), "cpu", all[0].problem, Phase::Decode, error);
  ASSERT_TRUE(decode);
  EXPECT_EQ(decode->config, "D");
  // Misses: another device, thread count, version, problem.
  EXPECT_FALSE(
      t->lookup("dev;threads=16", tuningVersion(), "cpu", all[0].problem, Phase::Prefill, error));
  EXPECT_FALSE(t->lookup("dev;threads=2", "0.0.1", "cpu", all[0].problem, Phase::Prefill, error));
  EXPECT_FALSE(
      t->lookup("dev;threads=2", tuningVersion(), "cpu", "softmax bf16", Phase::Prefill, error));
  // A new measurement replaces the old one; a merge keeps the lower median.
  ASSERT_TRUE(t->put({row("A", 120, 0)}, /*keepBest=*/false, error)) << error;
  hit = t->lookup("dev;threads=2", tuningVersion(), "cpu", all[0].problem, Phase::Prefill, error);
  EXPECT_EQ(hit->config, "H"); // B (99) is within 2% of H (100): the heuristic is kept
  ASSERT_TRUE(t->put({row("A", 200, 0), row("B", 50, 0)}, /*keepBest=*/true, error)) << error;
  TuningRow filter;
  filter.phase = "prefill";
  for (const TuningRow &r : t->rows(filter, error)) {
    if (r.config == "A")
      EXPECT_EQ(r.medianUs, 120); // 200 is worse: not merged
    if (r.config == "B")
      EXPECT_EQ(r.medianUs, 50);
  }
}

TEST(TuningDB, ChooseRowNeedsToBeatTheNoise) {
  std::vector<TuningRow> rows = {row("H", 100, 1), row("A", 97, 0)};
  EXPECT_EQ(chooseRow(rows)->config, "A"); // 3% faster, 1% spread: beyond the 2% floor
  rows[1].medianUs = 99;
  EXPECT_EQ(chooseRow(rows)->config, "H"); // 1%: within the 2% floor
  rows[1].medianUs = 90;
  rows[0].spread = 0.15;
  EXPECT_EQ(chooseRow(rows)->config, "H"); // 10% faster, but the heuristic's samples spread 15%
  rows[0].spread = 0.05;
  EXPECT_EQ(chooseRow(rows)->config, "A");
  rows[0].heuristic = 0; // no heuristic row: the fastest
  EXPECT_EQ(chooseRow(rows)->config, "A");
  EXPECT_EQ(chooseRow({}), nullptr);
}

TEST(TuningDB, UnusableFilesAreRefusedWithAMessage) {
  std::string error;
  TempPath garbage("garbage.db");
  { std::ofstream(garbage.path) << "this is not a database, just text long enough to look at\n"; }
  EXPECT_FALSE(TuningDB::open(garbage.path, /*create=*/true, error));
  EXPECT_NE(error.find("not a usable tuning database"), std::string::npos) << error;
  // Nothing was written over it.
  std::ifstream in(garbage.path);
  std::string first;
  std::getline(in, first);
  EXPECT_EQ(first, "this is not a database, just text long enough to look at");

  TempPath foreign("foreign.db");
  sqlite3 *raw = nullptr;
  ASSERT_EQ(sqlite3_open(foreign.path.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(raw, "CREATE TABLE t(x); INSERT INTO t VALUES (1);", nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(raw);
  error.clear();
  EXPECT_FALSE(TuningDB::open(foreign.path, /*create=*/true, error));
  EXPECT_NE(error.find("another application"), std::string::npos) << error;

  TempPath schema("schema.db");
  ASSERT_TRUE(TuningDB::open(schema.path, true, error)) << error;
  ASSERT_EQ(sqlite3_open(schema.path.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(raw);
  error.clear();
  EXPECT_FALSE(TuningDB::open(schema.path, false, error));
  EXPECT_NE(error.find("schema 99"), std::string::npos) << error;

  // A damaged file: a valid database with its pages overwritten past the header.
  TempPath damaged("damaged.db");
  {
    auto t = TuningDB::open(damaged.path, true, error);
    ASSERT_TRUE(t) << error;
    std::vector<TuningRow> many;
    for (int i = 0; i < 200; ++i)
      many.push_back(row("C" + std::to_string(i), 100 + i, i == 0));
    ASSERT_TRUE(t->put(many, false, error)) << error;
  }
  ASSERT_EQ(sqlite3_open(damaged.path.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  {
    std::fstream f(damaged.path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096 + 100);
    std::string junk(8192, '\x5a');
    f.write(junk.data(), junk.size());
  }
  error.clear();
  auto t = TuningDB::open(damaged.path, false, error);
  std::vector<TuningRow> rows;
  if (t)
    rows = t->rows(TuningRow{}, error);
  EXPECT_TRUE(!t || !error.empty()) << "a damaged database was read as intact";
  EXPECT_FALSE(error.empty());

  // Missing file without create.
  error.clear();
  EXPECT_FALSE(TuningDB::open(::testing::TempDir() + "/no/such/dir/x.db", false, error));
  EXPECT_FALSE(error.empty());
}

TEST(TuningDB, TwoProcessesWriteOneDatabase) {
  TempPath db("concurrent.db");
  std::string error;
  ASSERT_TRUE(TuningDB::open(db.path, true, error)) << error;
  pid_t children[2];
  for (int c = 0; c < 2; ++c) {
    children[c] = fork();
    ASSERT_GE(children[c], 0);
    if (children[c] == 0) {
      std::string e;
      auto t = TuningDB::open(db.path, true, e);
      bool ok = bool(t);
      for (int batch = 0; ok && batch < 20; ++batch) {
        std::vector<TuningRow> rows;
        for (int i = 0; i < 10; ++i)
          rows.push_back(
              row("P" + std::to_string(c) + "-" + std::to_string(batch * 10 + i), 1 + i, 0));
        ok = t->put(rows, false, e);
      }
      _exit(ok ? 0 : 1);
    }
  }
  for (pid_t child : children) {
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  auto t = TuningDB::open(db.path, false, error);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(t->rows(TuningRow{}, error).size(), 400u) << error;
}

/// The problem module of a causal f32 problem, and its attention op.
struct Problem {
  MLIRContext ctx{cpuCompilerRegistry()};
  OwningOpRef<ModuleOp> module;
  Operation *op = nullptr;
  explicit Problem(attn_dtype dtype = ATTN_DTYPE_F32, attn_variant variant = ATTN_VARIANT_SOFTMAX) {
    attn_problem p;
    (void)attn_problem_init(&p);
    p.heads_q = 8;
    p.head_dim = 64;
    p.causal = 1;
    p.dtype = dtype;
    p.variant = variant;
    std::string error;
    auto built = buildProblemModule(ctx, p, error);
    EXPECT_TRUE(succeeded(built)) << error;
    module = std::move(*built);
    module->walk([&](Operation *found) {
      if (isa<AttentionOp, LinearAttentionOp>(found))
        op = found;
    });
  }
};

TEST(TuningDB, TheCompilerAppliesATunedEntry) {
  const CPUTargetInfo v3 = *CPUTargetInfo::fromName("x86-64-v3");
  Problem problem;
  ASSERT_TRUE(problem.op);
  std::string cls = *problemClassOf(problem.op);
  CPUKernelConfig heuristic = chooseCPUConfig(problem.op, 8);
  CPUKernelConfig prefill = heuristic, decode = heuristic;
  prefill.blockQ = 16;
  prefill.blockK = 128;
  decode.splitKeys = 1024;
  TempPath db("apply.db");
  std::string error;
  {
    auto t = TuningDB::open(db.path, true, error);
    ASSERT_TRUE(t) << error;
    TuningRow h = row(cpuConfigText(&problem.ctx, heuristic), 100, 1);
    TuningRow p = row(cpuConfigText(&problem.ctx, prefill), 50, 0);
    TuningRow dh = row(cpuConfigText(&problem.ctx, heuristic), 100, 1, "decode b4 q1 kv8192");
    TuningRow d = row(cpuConfigText(&problem.ctx, decode), 60, 0, "decode b4 q1 kv8192");
    for (TuningRow *r : {&h, &p, &dh, &d}) {
      r->device = cpuDeviceFingerprint(v3, 2);
      r->problem = cls;
    }
    ASSERT_TRUE(t->put({h, p, dh, d}, false, error)) << error;
  }
  std::string warnings;
  ASSERT_TRUE(applyTunedCPUConfig(problem.op, db.path, v3, 2, warnings)) << warnings;
  EXPECT_TRUE(warnings.empty()) << warnings;
  FailureOr<CPUKernelConfig> applied = getCPUConfig(problem.op);
  ASSERT_TRUE(succeeded(applied));
  EXPECT_EQ(applied->blockQ, 16); // the prefill pick's tiles
  EXPECT_EQ(applied->blockK, 128);
  EXPECT_EQ(applied->splitKeys, 1024); // the decode pick's split
  EXPECT_EQ(problem.op->getAttrOfType<StringAttr>(kConfigSourceAttrName).getValue(), "tuned");

  // Another thread count, or x86-64-v4 code: a miss, silently.
  Problem other;
  EXPECT_FALSE(applyTunedCPUConfig(other.op, db.path, v3, 4, warnings));
  EXPECT_FALSE(
      applyTunedCPUConfig(other.op, db.path, *CPUTargetInfo::fromName("x86-64-v4"), 2, warnings));
  EXPECT_TRUE(warnings.empty()) << warnings;
  EXPECT_FALSE(other.op->hasAttr(kCPUConfigAttrName));
}

TEST(TuningDB, StaleUnusableOrIllegalEntriesAreWarningsAndLeaveTheHeuristic) {
  const CPUTargetInfo v3 = *CPUTargetInfo::fromName("x86-64-v3");
  Problem problem;
  std::string cls = *problemClassOf(problem.op);
  TempPath db("stale.db");
  std::string error, warnings;
  {
    auto t = TuningDB::open(db.path, true, error);
    ASSERT_TRUE(t) << error;
    TuningRow old = row("#attn.cpu_config<block_q = 16, block_k = 64, vector_width = 8>", 10, 0);
    old.device = cpuDeviceFingerprint(v3, 2);
    old.problem = cls;
    old.version = "0.0.1";
    ASSERT_TRUE(t->put({old}, false, error)) << error;
  }
  EXPECT_FALSE(applyTunedCPUConfig(problem.op, db.path, v3, 2, warnings));
  EXPECT_NE(warnings.find("another attnc version only (stale"), std::string::npos) << warnings;
  EXPECT_FALSE(problem.op->hasAttr(kCPUConfigAttrName));

  // An entry wider than the target (16 lanes on AVX2): refused, never compiled.
  {
    auto t = TuningDB::open(db.path, false, error);
    TuningRow wide = row("#attn.cpu_config<block_q = 16, block_k = 64, vector_width = 16>", 10, 0);
    wide.device = cpuDeviceFingerprint(v3, 2);
    wide.problem = cls;
    ASSERT_TRUE(t->put({wide}, false, error)) << error;
  }
  warnings.clear();
  EXPECT_FALSE(applyTunedCPUConfig(problem.op, db.path, v3, 2, warnings));
  EXPECT_NE(warnings.find("illegal entry"), std::string::npos) << warnings;
  EXPECT_FALSE(problem.op->hasAttr(kCPUConfigAttrName));

  // A file that is not a database.
  TempPath garbage("garbage2.db");
  { std::ofstream(garbage.path) << "garbage garbage garbage garbage garbage garbage garbage\n"; }
  warnings.clear();
  EXPECT_FALSE(applyTunedCPUConfig(problem.op, garbage.path, v3, 2, warnings));
  EXPECT_NE(warnings.find("tuning database ignored"), std::string::npos) << warnings;
}

// One class for every spelling of a problem: the dialect's canonical mask, as the kernel sees it.
TEST(TuningSpace, ProblemClassesAreCanonical) {
  MLIRContext ctx(cpuCompilerRegistry());
  auto classOf = [&](bool causal, int64_t left, int64_t right, int64_t globals) {
    attn_problem p;
    (void)attn_problem_init(&p);
    p.heads_q = 8;
    p.head_dim = 64;
    std::string error;
    auto module = buildProblemModule(ctx, p, error);
    EXPECT_TRUE(succeeded(module)) << error;
    std::string cls;
    (*module)->walk([&](AttentionOp op) {
      // As attnc's options or a hand-written .mlir may spell it (not yet canonicalized).
      op.setCausal(causal);
      op.setWindowAttr(DenseI64ArrayAttr::get(&ctx, {left, right}));
      op.setGlobalTokensAttr(IntegerAttr::get(IntegerType::get(&ctx, 64), globals));
      cls = *problemClassOf(op);
    });
    return cls;
  };
  EXPECT_EQ(classOf(false, 512, 0, 0), classOf(true, 512, -1, 0));
  EXPECT_EQ(classOf(true, 512, 7, 0), classOf(true, 512, -1, 0));
  EXPECT_EQ(classOf(true, -1, -1, 4), classOf(true, -1, -1, 0)); // no band: globals add nothing
  EXPECT_NE(classOf(true, 512, -1, 4), classOf(true, 512, -1, 0));
  EXPECT_NE(classOf(false, 512, 3, 0), classOf(true, 512, -1, 0));
}

TEST(TuningSpace, EveryConfigurationIsLegalAndTheHeuristicComesFirst) {
  Problem problem;
  for (const char *level : {"x86-64-v3", "x86-64-v4", "sapphirerapids", "znver4"}) {
    const CPUTargetInfo target = *CPUTargetInfo::fromName(level);
    for (Phase phase : {Phase::Prefill, Phase::Decode}) {
      std::vector<CPUKernelConfig> space = cpuSearchSpace(problem.op, target, phase);
      ASSERT_GE(space.size(), 3u) << level;
      CPUKernelConfig h = chooseCPUConfig(problem.op, target.vectorWidthF32(), target.hasAMX(),
                                          target.hasAVX512BF16());
      EXPECT_EQ(space[0].blockQ, h.blockQ);
      EXPECT_EQ(space[0].blockK, h.blockK);
      for (const CPUKernelConfig &c : space) {
        EXPECT_FALSE(cpuConfigDefect(problem.op, target, c)) << level;
        EXPECT_LE(c.vectorWidth, target.vectorWidthF32());
      }
    }
  }
  EXPECT_TRUE(cpuConfigDefect(problem.op, *CPUTargetInfo::fromName("x86-64-v3"),
                              chooseCPUConfig(problem.op, 16)));
  EXPECT_EQ(bucketPow2(1), 1);
  EXPECT_EQ(bucketPow2(-1), -1);
  EXPECT_EQ(bucketPow2(2000), 2048);
  EXPECT_EQ(bucketPow2(2048), 2048);
}

TEST(TuningSpace, VulkanConfigurationsFitTheDeviceAndTheHeuristicComesFirst) {
  for (const char *name : {"lavapipe", "nvidia", "amd"}) {
    const VulkanTargetInfo target = *VulkanTargetInfo::fromName(name);
    // f32 and f16 softmax (f16 takes cooperative matrices where the device has them), linear.
    for (auto [dtype, variant] : {std::pair{ATTN_DTYPE_F32, ATTN_VARIANT_SOFTMAX},
                                  std::pair{ATTN_DTYPE_F16, ATTN_VARIANT_SOFTMAX},
                                  std::pair{ATTN_DTYPE_F32, ATTN_VARIANT_LINEAR}}) {
      Problem problem(dtype, variant);
      for (Phase phase : {Phase::Prefill, Phase::Decode}) {
        std::vector<VulkanConfigAttr> space = vulkanSearchSpace(problem.op, target, phase);
        ASSERT_GE(space.size(), 3u) << name << " " << phaseName(phase);
        std::string why;
        EXPECT_EQ(space[0], *chooseVulkanConfig(problem.op, target, why)) << name;
        for (VulkanConfigAttr c : space) {
          EXPECT_EQ(vulkanConfigDefect(problem.op, c, target), "") << name;
          EXPECT_EQ(c.getSubgroupSize(), target.device().subgroupSize);
          EXPECT_EQ(c.getCoopmat(), space[0].getCoopmat()); // the heuristic's path
          EXPECT_EQ(parseVulkanConfig(&problem.ctx, vulkanConfigText(c)), c);
        }
        EXPECT_EQ(space[0].getCoopmat(), name == std::string("nvidia") && dtype == ATTN_DTYPE_F16 &&
                                             variant == ATTN_VARIANT_SOFTMAX);
      }
    }
  }
  // Beyond the device's limits: no configuration.
  Problem problem;
  const VulkanTargetInfo lavapipe = *VulkanTargetInfo::fromName("lavapipe");
  std::string why;
  EXPECT_FALSE(makeVulkanConfig(problem.op, lavapipe, 32, 256, 512, 16, 0, why));
  EXPECT_NE(why.find("shared memory"), std::string::npos) << why;
  EXPECT_FALSE(makeVulkanConfig(problem.op, lavapipe, 64, 8, 512, 16, 0, why));
  EXPECT_FALSE(why.empty());
}

TEST(TuningSpace, CUDAConfigurationsFitTheGpuAndTheHeuristicComesFirst) {
  for (const char *arch : {"sm_80", "sm_89", "sm_90a"}) {
    const CUDATargetInfo target = *CUDATargetInfo::fromName(arch);
    // f16 softmax takes the tensor cores, f32 the SIMT kernels; linear attention.
    for (auto [dtype, variant] : {std::pair{ATTN_DTYPE_F32, ATTN_VARIANT_SOFTMAX},
                                  std::pair{ATTN_DTYPE_F16, ATTN_VARIANT_SOFTMAX},
                                  std::pair{ATTN_DTYPE_F32, ATTN_VARIANT_LINEAR}}) {
      Problem problem(dtype, variant);
      for (Phase phase : {Phase::Prefill, Phase::Decode}) {
        std::vector<CUDAConfigAttr> space = cudaSearchSpace(problem.op, target, phase);
        ASSERT_GE(space.size(), 3u) << arch << " " << phaseName(phase);
        std::string why;
        EXPECT_EQ(space[0], *chooseCUDAConfig(problem.op, target, why)) << arch;
        for (CUDAConfigAttr c : space) {
          EXPECT_EQ(cudaConfigDefect(problem.op, c, target), "") << arch;
          EXPECT_EQ(c.getMma(), space[0].getMma()); // the heuristic's path
          EXPECT_EQ(parseCUDAConfig(&problem.ctx, cudaConfigText(c)), c);
        }
        EXPECT_EQ(space[0].getMma(), dtype == ATTN_DTYPE_F16 && variant == ATTN_VARIANT_SOFTMAX);
      }
    }
  }
  // The tensor-core path needs 16-bit inputs: no mma configuration for f32.
  Problem f32;
  std::string why;
  EXPECT_FALSE(
      makeCUDAConfig(f32.op, *CUDATargetInfo::fromName("sm_80"), 4, 64, 2, 1, 512, 16, why));
  EXPECT_NE(why.find("mma = 1 needs f16 or bf16"), std::string::npos) << why;
}

TEST(TuningDB, TheCompilerAppliesATunedCUDAEntry) {
  const CUDATargetInfo sm80 = *CUDATargetInfo::fromName("sm_80");
  Problem problem(ATTN_DTYPE_F16);
  std::string cls = *problemClassOf(problem.op), why;
  CUDAConfigAttr heuristic = *chooseCUDAConfig(problem.op, sm80, why);
  CUDAConfigAttr prefill = *makeCUDAConfig(problem.op, sm80, 2, 32, 3, 1, 512, 16, why);
  TempPath db("apply-cuda.db");
  std::string error;
  {
    auto t = TuningDB::open(db.path, true, error);
    ASSERT_TRUE(t) << error;
    TuningRow h = row(cudaConfigText(heuristic), 100, 1);
    TuningRow p = row(cudaConfigText(prefill), 50, 0);
    for (TuningRow *r : {&h, &p}) {
      r->device = cudaDeviceFingerprint(sm80);
      r->target = "cuda";
      r->problem = cls;
    }
    ASSERT_TRUE(t->put({h, p}, false, error)) << error;
  }
  std::string warnings;
  ASSERT_TRUE(applyTunedCUDAConfig(problem.op, db.path, sm80, warnings)) << warnings;
  EXPECT_TRUE(warnings.empty()) << warnings;
  auto applied = problem.op->getAttrOfType<CUDAConfigAttr>(kCUDAConfigAttrName);
  ASSERT_TRUE(applied);
  EXPECT_EQ(applied, prefill);
  EXPECT_EQ(problem.op->getAttrOfType<StringAttr>(kConfigSourceAttrName).getValue(), "tuned");
  // Another GPU: a miss.
  Problem other(ATTN_DTYPE_F16);
  EXPECT_FALSE(
      applyTunedCUDAConfig(other.op, db.path, *CUDATargetInfo::fromName("sm_90a"), warnings));
  EXPECT_TRUE(warnings.empty()) << warnings;
  EXPECT_FALSE(other.op->hasAttr(kCUDAConfigAttrName));
}

TEST(TuningDB, TheCompilerAppliesATunedVulkanEntry) {
  const VulkanTargetInfo nvidia = *VulkanTargetInfo::fromName("nvidia");
  Problem problem;
  std::string cls = *problemClassOf(problem.op), why;
  VulkanConfigAttr heuristic = *chooseVulkanConfig(problem.op, nvidia, why);
  VulkanConfigAttr prefill = *makeVulkanConfig(problem.op, nvidia, 4, 64, 512, 16, 0, why);
  VulkanConfigAttr decode = *makeVulkanConfig(problem.op, nvidia, heuristic.getTeams(),
                                              heuristic.getBlockK(), 2048, 16, 0, why);
  TempPath db("apply-vulkan.db");
  std::string error;
  {
    auto t = TuningDB::open(db.path, true, error);
    ASSERT_TRUE(t) << error;
    TuningRow h = row(vulkanConfigText(heuristic), 100, 1);
    TuningRow p = row(vulkanConfigText(prefill), 50, 0);
    TuningRow dh = row(vulkanConfigText(heuristic), 100, 1, "decode b4 q1 kv8192");
    TuningRow d = row(vulkanConfigText(decode), 60, 0, "decode b4 q1 kv8192");
    for (TuningRow *r : {&h, &p, &dh, &d}) {
      r->device = vulkanDeviceFingerprint(nvidia);
      r->target = "vulkan";
      r->problem = cls;
    }
    ASSERT_TRUE(t->put({h, p, dh, d}, false, error)) << error;
  }
  std::string warnings;
  ASSERT_TRUE(applyTunedVulkanConfig(problem.op, db.path, nvidia, warnings)) << warnings;
  EXPECT_TRUE(warnings.empty()) << warnings;
  auto applied = problem.op->getAttrOfType<VulkanConfigAttr>(kVulkanConfigAttrName);
  ASSERT_TRUE(applied);
  EXPECT_EQ(applied.getTeams(), 4); // the prefill pick's tiles
  EXPECT_EQ(applied.getBlockK(), 64);
  EXPECT_EQ(applied.getSplitKeys(), 2048); // the decode pick's split
  EXPECT_EQ(problem.op->getAttrOfType<StringAttr>(kConfigSourceAttrName).getValue(), "tuned");

  // Another device (amd), or the CPU rows' target: a miss, silently.
  Problem other;
  EXPECT_FALSE(
      applyTunedVulkanConfig(other.op, db.path, *VulkanTargetInfo::fromName("amd"), warnings));
  EXPECT_FALSE(
      applyTunedCPUConfig(other.op, db.path, *CPUTargetInfo::fromName("x86-64-v3"), 2, warnings));
  EXPECT_TRUE(warnings.empty()) << warnings;
  EXPECT_FALSE(other.op->hasAttr(kVulkanConfigAttrName));

  // An entry the device cannot run (another subgroup size): a warning, the heuristic.
  {
    auto t = TuningDB::open(db.path, false, error);
    TuningRow bad = row("#attn.vulkan_config<subgroup_size = 64, teams = 4, block_k = 64>", 1, 0);
    bad.device = vulkanDeviceFingerprint(nvidia);
    bad.target = "vulkan";
    bad.problem = cls;
    ASSERT_TRUE(t->put({bad}, false, error)) << error;
  }
  Problem third;
  EXPECT_FALSE(applyTunedVulkanConfig(third.op, db.path, nvidia, warnings));
  EXPECT_NE(warnings.find("illegal entry"), std::string::npos) << warnings;
  EXPECT_NE(warnings.find("subgroup_size 64 is not the device's (32)"), std::string::npos)
      << warnings;
  EXPECT_FALSE(third.op->hasAttr(kVulkanConfigAttrName));
}

} // namespace
