//===- Tune.cpp - attnc tune: measure configurations, keep them in a database ===//
//
//   attnc tune --heads-q=32 --heads-kv=8 --head-dim=128 --dtype=bf16 --causal --db t.db
//   attnc tune model.mlir --shape=1x2048x2048 --shape=4x1x8192 --db t.db --shard 3/16
//   attnc tune --preset=headline --db t.db
//   attnc tune merge a.db b.db -o all.db | attnc tune show [--db t.db] | attnc tune export --json
//
// A sweep is a list of units, one per (problem, tuning shape), in input order. For each unit the
// target's search space (the heuristic first) is compiled in parallel, every candidate is loaded
// through the runtime's C API and launched on the same inputs: warm-up launches, then rounds in
// which every candidate runs once in a fresh random order (interleaved, so that the machine's
// drift - other tenants, clocks - falls on all candidates alike), each sample long enough to time
// (several launches when one is short). The median over the rounds is kept with the
// interquartile spread; chooseRow takes the fastest only when it beats the heuristic by more than
// that noise. --shard i/N keeps the units whose index is i modulo N: array jobs split a sweep
// deterministically, and merging their databases gives the unsharded sweep's rows.
//
//===----------------------------------------------------------------------===//

#include "Tune.h"

#include "Bundle.h"
#include "CUDATarget.h"
#include "VulkanTarget.h"

#include "attn/Conversion/AttnToCPU/KernelManifest.h"
#include "attn/JIT/CPUCompiler.h"
#include "attn/JIT/ObjectLoader.h"
#include "attn/Tuning/Tuning.h"
#include "attn/attn_jit_plugin.h"
#include "attn/attn_runtime.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>
#include <unistd.h>

using namespace mlir;
using namespace mlir::attn;
namespace cl = llvm::cl;

namespace {

cl::OptionCategory tuneOptions("Tuning (attnc tune; --db and --tune-threads also for bundles)");
cl::opt<std::string> dbPath("db",
                            cl::desc("the tuning database (default: $ATTN_TUNING_DB); attnc tune "
                                     "writes it, --emit=bundle takes configurations from it"),
                            cl::init(""), cl::cat(tuneOptions));
cl::opt<std::string> preset("preset",
                            cl::desc("attnc tune: a named set of problems (headline, "
                                     "llama3-8b, gpt-oss-20b)"),
                            cl::init(""), cl::cat(tuneOptions));
cl::list<std::string> shapes("shape",
                             cl::desc("attnc tune: a shape BxSQxSKV to time at (repeatable; "
                                      "default: 1x2048x2048 and 4x1x8192 for softmax, "
                                      "1x2048x2048 for linear)"),
                             cl::cat(tuneOptions));
cl::opt<std::string> shard("shard", cl::desc("attnc tune: i/N, the units with index i mod N"),
                           cl::init(""), cl::cat(tuneOptions));
cl::opt<int> reps("reps", cl::desc("attnc tune: timed rounds per candidate (>= 3)"), cl::init(9),
                  cl::cat(tuneOptions));
cl::opt<int> warmup("warmup", cl::desc("attnc tune: warm-up launches per candidate"), cl::init(2),
                    cl::cat(tuneOptions));
cl::opt<double> sampleMs("sample-ms",
                         cl::desc("attnc tune: the shortest timed sample, in ms (launches are "
                                  "repeated until a sample takes this long)"),
                         cl::init(20), cl::cat(tuneOptions));
cl::opt<int> maxConfigs("max-configs",
                        cl::desc("attnc tune: measure at most this many configurations per unit "
                                 "(0 = the whole space; the heuristic is always first)"),
                        cl::init(0), cl::cat(tuneOptions));
cl::opt<int> threads("tune-threads",
                     cl::desc("the threads kernels run on (attnc tune: the measurements'; "
                              "--emit=bundle: the entry looked up); default: this host's"),
                     cl::init(0), cl::cat(tuneOptions));
cl::opt<bool> listOnly("list",
                       cl::desc("attnc tune: print the units and candidates, measure nothing"),
                       cl::cat(tuneOptions));

std::atomic<bool> interrupted{false};
extern "C" void onInterrupt(int) { interrupted.store(true); }

int userError(const std::string &message) {
  llvm::errs() << "attnc: error: " << message << "\n";
  return 1;
}

int hostThreads() {
  unsigned n = std::thread::hardware_concurrency();
  return n ? static_cast<int>(n) : 1;
}

/// The runtime's problem descriptor for a manifest's problem.
attn_problem problemOf(const attn_kernel_manifest &m) {
  attn_problem p;
  (void)attn_problem_init(&p);
  p.target = static_cast<attn_target>(m.target);
  std::memcpy(&p.variant, &m.variant, sizeof(int32_t));
  std::memcpy(&p.dtype, &m.dtype, sizeof(int32_t));
  p.heads_q = m.heads_q;
  p.heads_kv = m.heads_kv;
  p.head_dim = m.head_dim;
  p.head_dim_v = m.head_dim_v;
  p.scale = m.scale;
  p.causal = m.causal;
  p.window_left = m.window_left;
  p.window_right = m.window_right;
  p.global_tokens = m.global_tokens;
  p.softcap = m.softcap;
  p.return_lse = m.return_lse;
  p.return_entropy = m.return_entropy;
  std::memcpy(&p.feature_map, &m.feature_map, sizeof(int32_t));
  p.normalize = m.normalize;
  return p;
}

Operation *problemOp(ModuleOp module) {
  Operation *found = nullptr;
  module.walk([&](Operation *op) {
    if (isa<AttentionOp, LinearAttentionOp>(op))
      found = op;
  });
  return found;
}

std::optional<TuningShape> parseShape(llvm::StringRef text) {
  llvm::SmallVector<llvm::StringRef> parts;
  text.split(parts, 'x');
  TuningShape s;
  if (parts.size() != 3 || parts[0].getAsInteger(10, s.batch) ||
      parts[1].getAsInteger(10, s.seqQ) || parts[2].getAsInteger(10, s.seqKv) || s.batch < 1 ||
      s.seqQ < 1 || s.seqKv < 1 || s.batch > 4096 || s.seqQ > (1 << 20) || s.seqKv > (1 << 22))
    return std::nullopt;
  return s;
}

/// One candidate, compiled and loaded: the code stays alive as long as the kernel.
struct Candidate {
  std::string text; // #attn.cpu_config<...> or #attn.vulkan_config<...>
  std::unique_ptr<LoadedObject> object;
  attn_kernel *kernel = nullptr;
  std::string error;
  std::vector<double> samples; // microseconds per launch
  ~Candidate() {
    if (kernel)
      (void)attn_kernel_destroy(kernel);
  }
};

/// A candidate's problem re-read in `ctx` (each compile worker has its own): its attention op.
Operation *reread(MLIRContext &ctx, const std::string &source, OwningOpRef<ModuleOp> &module) {
  module = parseSourceString<ModuleOp>(source, &ctx);
  return module ? problemOp(*module) : nullptr;
}
void unreadable(Candidate &c) { c.error = "cannot re-read the problem or its configuration"; }

/// Compiles `source` (a problem module's text) with the candidate's configuration forced and
/// loads it as a kernel of `context`: host code through attn_kernel_create_from_code.
void compileCPUCandidate(const std::string &source, const CPUTargetInfo &target,
                         attn_context *context, Candidate &c) {
  MLIRContext ctx(cpuCompilerRegistry(), MLIRContext::Threading::DISABLED);
  OwningOpRef<ModuleOp> module;
  Operation *op = reread(ctx, source, module);
  std::optional<CPUKernelConfig> config = op ? parseCPUConfig(&ctx, c.text) : std::nullopt;
  if (!config)
    return unreadable(c);
  setCPUConfig(op, *config);
  CPUKernelConfig prepared;
  if (failed(prepareProblemModule(*module, target, prepared, c.error)))
    return;
  FailureOr<attn_kernel_manifest> manifest = buildKernelManifest(problemOp(*module), prepared);
  auto objects = compileToObjects(*module, target, c.error);
  if (failed(objects) || failed(manifest)) {
    if (c.error.empty())
      c.error = "no manifest";
    return;
  }
  auto loaded = LoadedObject::load(*objects);
  if (!loaded) {
    c.error = llvm::toString(loaded.takeError());
    return;
  }
  c.object = std::move(*loaded);
  attn_kernel_code code{};
  code.struct_size = sizeof(code);
  auto entry = [&](llvm::StringRef name) {
    return reinterpret_cast<void (*)(void)>(c.object->lookup(("_mlir_ciface_" + name).str()));
  };
  code.softmax_main = entry(kSoftmaxMainName);
  code.softmax_decode = entry(kSoftmaxDecodeName);
  code.merge = entry(kMergeName);
  code.linear = entry(kLinearName);
  code.block_q = manifest->block_q;
  code.block_k = manifest->block_k;
  code.decode_max_rows = manifest->decode_max_rows;
  code.manifest = c.object->lookup(ATTN_KERNEL_MANIFEST_SYMBOL);
  attn_problem problem = problemOf(*manifest);
  if (attn_kernel_create_from_code(context, &problem, &code, &c.kernel) != ATTN_STATUS_SUCCESS)
    c.error = attn_last_error();
}

/// Loads a device kernel image container as a one-kernel bundle of `context` (the runtime makes
/// its pipelines or modules, as for any bundle).
void loadDeviceImage(const char *target, const std::string &level,
                     const attn_kernel_manifest &manifest, const std::string &container,
                     attn_context *context, Candidate &c) {
  std::string bundle = attnc::deviceBundle(target, level, manifest, container);
  if (attn_kernel_load_bundle(context, bundle.data(), bundle.size(), &c.kernel) !=
      ATTN_STATUS_SUCCESS)
    c.error = attn_last_error();
}

/// The same for the Vulkan device of `context`: SPIR-V in a kernel image.
void compileVulkanCandidate(const std::string &source, const VulkanTargetInfo &target,
                            attn_context *context, Candidate &c) {
  MLIRContext ctx(cpuCompilerRegistry(), MLIRContext::Threading::DISABLED);
  OwningOpRef<ModuleOp> module;
  Operation *op = reread(ctx, source, module);
  std::optional<VulkanConfigAttr> config = op ? parseVulkanConfig(&ctx, c.text) : std::nullopt;
  if (!config)
    return unreadable(c);
  op->setAttr(kVulkanConfigAttrName, *config);
  std::string container;
  attn_kernel_manifest manifest;
  if (attnc::imageForVulkan(*module, target, container, manifest, c.error))
    loadDeviceImage("vulkan", "attnc-tune", manifest, container, context, c);
}

/// The same for the CUDA GPU of `context`: PTX or a cubin (as the JIT builds it: the toolkit of
/// $ATTN_CUDA_TOOLKIT, else /usr/local/cuda) in a kernel image.
void compileCUDACandidate(const std::string &source, const CUDATargetInfo &target,
                          attn_context *context, Candidate &c) {
  MLIRContext ctx(cpuCompilerRegistry(), MLIRContext::Threading::DISABLED);
  OwningOpRef<ModuleOp> module;
  Operation *op = reread(ctx, source, module);
  std::optional<CUDAConfigAttr> config = op ? parseCUDAConfig(&ctx, c.text) : std::nullopt;
  if (!config)
    return unreadable(c);
  op->setAttr(kCUDAConfigAttrName, *config);
  const char *toolkit = std::getenv("ATTN_CUDA_TOOLKIT");
  std::string container;
  attn_kernel_manifest manifest;
  bool cubin = false;
  if (attnc::imageForCUDA(*module, target, toolkit ? toolkit : "/usr/local/cuda", container,
                          manifest, cubin, c.error))
    loadDeviceImage("cuda", target.chip(), manifest, container, context, c);
}

/// The target a sweep measures: its search space, device key and candidate builder.
struct SweepTarget {
  std::optional<CPUTargetInfo> cpu;
  std::optional<VulkanTargetInfo> vulkan;
  std::optional<CUDATargetInfo> cuda;
  int threads = 1;

  const char *name() const { return vulkan ? "vulkan" : cuda ? "cuda" : "cpu"; }
  std::string device() const {
    if (vulkan)
      return vulkanDeviceFingerprint(*vulkan);
    if (cuda)
      return cudaDeviceFingerprint(*cuda);
    return cpuDeviceFingerprint(*cpu, threads);
  }
  std::string describe() const {
    if (vulkan)
      return llvm::formatv("Vulkan device '{0}' (subgroup {1})", vulkan->device().name,
                           vulkan->device().subgroupSize)
          .str();
    if (cuda)
      return llvm::formatv("CUDA GPU '{0}' ({1})", cuda->device().name, cuda->chip()).str();
    return llvm::formatv("{0} ({1} threads)", cpu->cpuName(), threads).str();
  }
  /// The query rows up to which the target's kernels for `op` decode (split-KV).
  int64_t decodeRows(Operation *op) const {
    if (vulkan)
      return vulkanDecodeRows(op, *vulkan);
    if (cuda)
      return cudaDecodeRows(op, *cuda);
    return kDefaultDecodeRows;
  }
  /// The configurations' texts, the heuristic's first (empty: none fits this device).
  std::vector<std::string> space(Operation *op, Phase phase, MLIRContext *ctx) const {
    std::vector<std::string> texts;
    if (vulkan)
      for (VulkanConfigAttr c : vulkanSearchSpace(op, *vulkan, phase))
        texts.push_back(vulkanConfigText(c));
    else if (cuda)
      for (CUDAConfigAttr c : cudaSearchSpace(op, *cuda, phase))
        texts.push_back(cudaConfigText(c));
    else
      for (const CPUKernelConfig &c : cpuSearchSpace(op, *cpu, phase))
        texts.push_back(cpuConfigText(ctx, c));
    return texts;
  }
  void compile(const std::string &source, attn_context *context, Candidate &c) const {
    if (vulkan)
      compileVulkanCandidate(source, *vulkan, context, c);
    else if (cuda)
      compileCUDACandidate(source, *cuda, context, c);
    else
      compileCPUCandidate(source, *cpu, context, c);
  }
};

/// Random inputs and the outputs of one unit, shared by its candidates.
struct Buffers {
  std::vector<uint8_t> q, k, v, o;
  std::vector<float> lse, entropy;
  attn_launch_args args{};

  Buffers(const attn_kernel_manifest &m, const TuningShape &s) {
    size_t elt = m.dtype == ATTN_DTYPE_F32 ? 4 : 2;
    auto fill = [&](std::vector<uint8_t> &buffer, size_t elements, uint32_t seed) {
      buffer.resize(elements * elt);
      std::mt19937 rng(seed);
      std::uniform_real_distribution<float> dist(-1.f, 1.f);
      for (size_t i = 0; i < elements; ++i) {
        float x = dist(rng);
        uint32_t bits;
        std::memcpy(&bits, &x, 4);
        if (elt == 4) {
          std::memcpy(&buffer[i * 4], &x, 4);
          continue;
        }
        uint16_t h;
        if (m.dtype == ATTN_DTYPE_BF16) {
          h = static_cast<uint16_t>(bits >> 16);
        } else { // f16, truncated; |x| <= 1, and tiny values flush to zero
          int32_t e = int32_t((bits >> 23) & 0xff) - 127 + 15;
          h = static_cast<uint16_t>((bits >> 16) & 0x8000);
          if (e > 0)
            h |= static_cast<uint16_t>((e << 10) | ((bits >> 13) & 0x3ff));
        }
        std::memcpy(&buffer[i * 2], &h, 2);
      }
    };
    fill(q, size_t(s.batch) * s.seqQ * m.heads_q * m.head_dim, 1);
    fill(k, size_t(s.batch) * s.seqKv * m.heads_kv * m.head_dim, 2);
    fill(v, size_t(s.batch) * s.seqKv * m.heads_kv * m.head_dim_v, 3);
    o.assign(size_t(s.batch) * s.seqQ * m.heads_q * m.head_dim_v * elt, 0);
    (void)attn_launch_args_init(&args);
    args.batch = s.batch;
    args.seq_q = s.seqQ;
    args.seq_kv = s.seqKv;
    auto view = [](attn_tensor &t, void *data, int64_t seq, int64_t heads, int64_t dim) {
      t.data = data;
      t.strides[3] = 1;
      t.strides[2] = dim;
      t.strides[1] = heads * dim;
      t.strides[0] = seq * heads * dim;
    };
    view(args.q, q.data(), s.seqQ, m.heads_q, m.head_dim);
    view(args.k, k.data(), s.seqKv, m.heads_kv, m.head_dim);
    view(args.v, v.data(), s.seqKv, m.heads_kv, m.head_dim_v);
    view(args.o, o.data(), s.seqQ, m.heads_q, m.head_dim_v);
    if (m.variant == ATTN_VARIANT_SOFTMAX && m.return_lse) {
      lse.assign(size_t(s.batch) * m.heads_q * s.seqQ, 0);
      args.lse = lse.data();
    }
    if (m.variant == ATTN_VARIANT_SOFTMAX && m.return_entropy) {
      entropy.assign(size_t(s.batch) * m.heads_q * s.seqQ, 0);
      args.entropy = entropy.data();
    }
  }
};

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  double pos = q * (v.size() - 1);
  size_t lo = static_cast<size_t>(pos);
  size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - lo);
}

std::string formatSeconds(double s) {
  if (s < 60)
    return llvm::formatv("{0}s", int(s + 0.5)).str();
  return llvm::formatv("{0}m{1:2}s", int(s) / 60, int(s) % 60).str();
}

/// Progress on a terminal: one line rewritten in place, with the ETA; plain lines otherwise.
struct Progress {
  bool tty = ::isatty(STDERR_FILENO);
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  size_t units = 0, done = 0;
  void status(const std::string &what) {
    if (!tty)
      return;
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::string eta =
        done ? "ETA " + formatSeconds(elapsed / done * (units - done)) : std::string("ETA ?");
    int width = 30, filled = units ? int(width * done / units) : 0;
    std::string bar = "[" + std::string(filled, '#') + std::string(width - filled, '.') + "]";
    std::string line = llvm::formatv("{0} {1}/{2} {3} | {4}", bar, done, units, eta, what).str();
    if (line.size() > 150)
      line.resize(150);
    llvm::errs() << "\r" << line << "\033[K";
    llvm::errs().flush();
  }
  void line(const std::string &text) {
    if (tty)
      llvm::errs() << "\r\033[K";
    llvm::errs() << text << "\n";
  }
};

struct Unit {
  size_t index;
  std::string source; // the problem module
  attn_kernel_manifest manifest;
  TuningShape shape;
};

} // namespace

llvm::cl::OptionCategory &attnc::tuneCategory() { return tuneOptions; }
std::string attnc::presetName() { return preset; }

std::string attnc::tuningDbPath() {
  if (!dbPath.empty())
    return dbPath;
  const char *env = std::getenv("ATTN_TUNING_DB");
  return env ? env : "";
}

int attnc::tuningThreads() { return threads > 0 ? int(threads) : hostThreads(); }

std::optional<std::vector<attn_problem>> attnc::presetProblems(const std::string &name,
                                                               std::string &names) {
  names = "headline, llama3-8b, gpt-oss-20b";
  auto problem = [](attn_dtype dtype, int64_t hq, int64_t hkv, int64_t d, bool causal) {
    attn_problem p;
    (void)attn_problem_init(&p);
    p.dtype = dtype;
    p.heads_q = hq;
    p.heads_kv = hkv;
    p.head_dim = p.head_dim_v = d;
    p.causal = causal;
    return p;
  };
  std::vector<attn_problem> out;
  if (name == "headline") { // benchmarks/cpu.sh's problems
    out.push_back(problem(ATTN_DTYPE_F32, 8, 8, 128, false));
    out.push_back(problem(ATTN_DTYPE_F32, 8, 8, 128, true));
    out.push_back(problem(ATTN_DTYPE_BF16, 8, 8, 128, true));
    out.push_back(problem(ATTN_DTYPE_F32, 32, 8, 128, true));
    out.push_back(problem(ATTN_DTYPE_BF16, 32, 8, 128, true));
    attn_problem window = problem(ATTN_DTYPE_F32, 8, 8, 128, true);
    window.window_left = 512;
    out.push_back(window);
    attn_problem linear = problem(ATTN_DTYPE_F32, 8, 8, 128, true);
    linear.variant = ATTN_VARIANT_LINEAR;
    out.push_back(linear);
  } else if (name == "llama3-8b") { // 32 query heads over 8 kv heads of 128
    out.push_back(problem(ATTN_DTYPE_BF16, 32, 8, 128, true));
  } else if (name == "gpt-oss-20b") { // 64 query heads over 8 of 64, a 128-token window
    out.push_back(problem(ATTN_DTYPE_BF16, 64, 8, 64, true));
    attn_problem window = problem(ATTN_DTYPE_BF16, 64, 8, 64, true);
    window.window_left = 127;
    out.push_back(window);
  } else {
    return std::nullopt;
  }
  return out;
}

int attnc::tune(llvm::SmallVectorImpl<OwningOpRef<ModuleOp>> &problems, const CPUTargetInfo &cpu,
                attn_target device) {
  const bool gpu = device != ATTN_TARGET_CPU;
  const std::string path = tuningDbPath();
  if (path.empty() && !listOnly)
    return userError("attnc tune needs a database: --db PATH or ATTN_TUNING_DB");
  if (reps < 3)
    return userError("--reps must be >= 3 (a median and a spread), got " + std::to_string(reps));
  if (warmup < 0 || maxConfigs < 0 || threads < 0 || !(sampleMs > 0))
    return userError("--warmup, --max-configs and --tune-threads must be >= 0, --sample-ms > 0");
  int64_t shardIndex = 0, shardCount = 1;
  if (!shard.empty()) {
    auto [i, n] = llvm::StringRef(shard).split('/');
    if (i.getAsInteger(10, shardIndex) || n.getAsInteger(10, shardCount) || shardCount < 1 ||
        shardIndex < 0 || shardIndex >= shardCount)
      return userError("--shard takes i/N with 0 <= i < N, got '" + shard + "'");
  }
  std::vector<TuningShape> given;
  for (const std::string &s : shapes) {
    std::optional<TuningShape> shape = parseShape(s);
    if (!shape)
      return userError("--shape takes BxSQxSKV (positive; B <= 4096, SQ <= 2^20, SKV <= 2^22), "
                       "got '" +
                       s + "'");
    given.push_back(*shape);
  }

  // The units, in input order; this shard's.
  std::vector<Unit> units;
  size_t index = 0;
  for (OwningOpRef<ModuleOp> &module : problems) {
    Operation *op = problemOp(*module);
    if (!op) {
      llvm::errs() << "attnc: skipping a problem without attn.attention or "
                      "attn.linear_attention (attn.merge is not tuned)\n";
      continue;
    }
    FailureOr<attn_kernel_manifest> m = problemManifestOf(op);
    if (failed(m))
      continue;
    op->removeAttr(kCPUConfigAttrName); // the sweep sets every configuration itself
    op->removeAttr(kVulkanConfigAttrName);
    op->removeAttr(kCUDAConfigAttrName);
    op->removeAttr(kConfigSourceAttrName);
    std::string source;
    llvm::raw_string_ostream os(source);
    module->print(os);
    std::vector<TuningShape> unitShapes = given;
    if (unitShapes.empty()) {
      unitShapes.push_back(TuningShape{1, 2048, 2048});
      if (m->variant == ATTN_VARIANT_SOFTMAX && !m->return_entropy)
        unitShapes.push_back(TuningShape{4, 1, 8192});
    }
    for (const TuningShape &s : unitShapes) {
      if (index % shardCount == size_t(shardIndex))
        units.push_back(Unit{index, source, *m, s});
      ++index;
    }
  }
  if (units.empty()) {
    llvm::errs() << "attnc tune: shard " << shardIndex << "/" << shardCount << " has no units (of "
                 << index << ")\n";
    return 0;
  }

  SweepTarget target;
  target.threads = tuningThreads();
  attn_context_options options;
  (void)attn_context_options_init(&options);
  options.num_threads = target.threads;
  options.disk_cache = 0;
  attn_context *context = nullptr;
  if ((!listOnly || gpu) && attn_context_create(&options, &context) != ATTN_STATUS_SUCCESS)
    return userError(std::string("cannot create a runtime context: ") + attn_last_error());
  if (gpu) {
    // The device the runtime opens ($ATTN_VULKAN_DEVICE picks a Vulkan one): its space, its key.
    std::string why;
    if (device == ATTN_TARGET_VULKAN)
      target.vulkan = attnc::vulkanTargetOf(context, why);
    else
      target.cuda = attnc::cudaTargetOf(context, why);
    if (!target.vulkan && !target.cuda) {
      (void)attn_context_destroy(context);
      return userError(std::string("attnc tune --target=") +
                       (device == ATTN_TARGET_VULKAN ? "vulkan needs a Vulkan device: "
                                                     : "cuda needs a CUDA GPU: ") +
                       why);
    }
  } else {
    target.cpu = cpu;
  }
  const std::string deviceKey = target.device();
  std::unique_ptr<TuningDB> db;
  if (!listOnly) {
    std::string error;
    db = TuningDB::open(path, /*create=*/true, error);
    if (!db) {
      (void)attn_context_destroy(context);
      return userError(error);
    }
  }

  auto previous = std::signal(SIGINT, onInterrupt);
  Progress progress;
  progress.units = units.size();
  if (!listOnly)
    progress.line(
        llvm::formatv(
            "attnc tune: {0} unit(s){1} on {2}, device key {3}, database {4}", units.size(),
            shardCount > 1 ? llvm::formatv(" of shard {0}/{1}", shardIndex, shardCount).str()
                           : std::string(),
            target.describe(), shortHash(deviceKey), path)
            .str());
  int status = 0;
  MLIRContext listCtx(cpuCompilerRegistry());
  for (Unit &unit : units) {
    if (interrupted)
      break;
    const std::string problem = problemClass(unit.manifest);
    // The search space, from the problem re-read in this thread's context.
    std::vector<Candidate> candidates;
    std::string shape;
    Phase phase;
    {
      OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(unit.source, &listCtx);
      const int64_t decodeRows = target.decodeRows(problemOp(*module));
      shape = shapeClass(unit.manifest, unit.shape, decodeRows);
      phase = phaseOf(unit.manifest, unit.shape, decodeRows);
      std::vector<std::string> space = target.space(problemOp(*module), phase, &listCtx);
      if (maxConfigs > 0 && space.size() > size_t(maxConfigs))
        space.resize(maxConfigs);
      candidates = std::vector<Candidate>(space.size());
      for (size_t i = 0; i < space.size(); ++i)
        candidates[i].text = space[i];
    }
    std::string title = llvm::formatv("[{0}] {1} @ {2}", unit.index, problem, shape).str();
    if (candidates.empty()) {
      progress.line("attnc tune: " + title + ": no configuration fits " + target.describe() +
                    "; unit skipped");
      status = 2;
      continue;
    }
    if (listOnly) {
      llvm::outs() << title << "\n";
      for (const Candidate &c : candidates)
        llvm::outs() << "  " << c.text << "\n";
      continue;
    }
    // Compile in parallel (each worker its own MLIR context; LLVM is thread-safe across them).
    std::atomic<size_t> next{0}, compiled{0};
    auto worker = [&] {
      for (size_t i; !interrupted && (i = next++) < candidates.size();) {
        target.compile(unit.source, context, candidates[i]);
        ++compiled;
      }
    };
    std::vector<std::thread> pool;
    for (int t = 0; t < std::min<int>(hostThreads(), candidates.size()); ++t)
      pool.emplace_back(worker);
    while (compiled < candidates.size() && !interrupted) {
      progress.status(
          title + llvm::formatv(": compiled {0}/{1}", compiled.load(), candidates.size()).str());
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    for (std::thread &t : pool)
      t.join();
    if (interrupted)
      break;
    std::vector<Candidate *> live;
    for (Candidate &c : candidates) {
      if (c.kernel)
        live.push_back(&c);
      else
        progress.line("attnc tune: " + title + ": " + c.text + " failed to build: " + c.error);
    }
    if (live.empty() || !candidates[0].kernel) {
      progress.line("attnc tune: " + title + ": the heuristic's kernel failed; unit skipped");
      status = 2;
      continue;
    }
    // Warm-up, and the launches per sample (the heuristic's time sets it for all).
    Buffers buffers(unit.manifest, unit.shape);
    auto launch = [&](Candidate &c) {
      return attn_kernel_launch(c.kernel, &buffers.args) == ATTN_STATUS_SUCCESS;
    };
    bool failedLaunch = false;
    for (Candidate *c : live)
      for (int w = 0; w < std::max(1, int(warmup)) && !interrupted; ++w)
        failedLaunch |= !launch(*c);
    if (failedLaunch) {
      progress.line("attnc tune: " + title + ": a launch failed: " + attn_last_error());
      status = 2;
      continue;
    }
    auto t0 = std::chrono::steady_clock::now();
    launch(*live[0]);
    double once = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    int inner = std::max(1, int(std::ceil(sampleMs / 1e3 / std::max(once, 1e-7))));
    std::mt19937 rng(static_cast<uint32_t>(unit.index + 1));
    int rounds = 0;
    for (; rounds < reps && !interrupted; ++rounds) {
      progress.status(title + llvm::formatv(": round {0}/{1} of {2} candidates", rounds + 1,
                                            int(reps), live.size())
                                  .str());
      std::vector<Candidate *> order = live;
      std::shuffle(order.begin(), order.end(), rng);
      for (Candidate *c : order) {
        if (interrupted)
          break;
        auto start = std::chrono::steady_clock::now();
        for (int i = 0; i < inner; ++i)
          launch(*c);
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        c->samples.push_back(s / inner * 1e6);
      }
      if (interrupted) { // a round cut short: every candidate keeps its whole rounds only
        for (Candidate *c : live)
          c->samples.resize(rounds);
        break;
      }
    }
    if (rounds < 3) {
      progress.line("attnc tune: interrupted before " + title + " had 3 rounds: not recorded");
      break;
    }
    std::vector<TuningRow> rows;
    const std::string now = utcNow();
    for (Candidate *c : live) {
      TuningRow r;
      r.device = deviceKey;
      r.version = tuningVersion();
      r.target = target.name();
      r.problem = problem;
      r.shape = shape;
      r.phase = phaseName(phase);
      r.config = c->text;
      r.medianUs = quantile(c->samples, 0.5);
      r.spread = (quantile(c->samples, 0.75) - quantile(c->samples, 0.25)) / r.medianUs;
      r.reps = int64_t(c->samples.size()) * inner;
      r.heuristic = c == &candidates[0];
      r.measuredAt = now;
      rows.push_back(std::move(r));
    }
    std::string error;
    if (!db->put(rows, /*keepBest=*/false, error)) {
      progress.line("attnc tune: cannot write " + path + ": " + error);
      status = 2;
      break;
    }
    const TuningRow *chosen = chooseRow(rows);
    const TuningRow &heuristic = rows[0];
    ++progress.done;
    progress.line(llvm::formatv("{0}: {1} configs, heuristic {2:f1} us (spread {3:p}), chosen "
                                "{4:f1} us = {5:f3}x faster{6}: {7}",
                                title, rows.size(), heuristic.medianUs, heuristic.spread,
                                chosen->medianUs, heuristic.medianUs / chosen->medianUs,
                                chosen == &heuristic ? " (the heuristic)" : "", chosen->config)
                      .str());
  }
  std::signal(SIGINT, previous);
  if (context)
    (void)attn_context_destroy(context);
  if (interrupted) {
    progress.line(llvm::formatv("attnc tune: interrupted; {0} of {1} unit(s) recorded in {2}",
                                progress.done, units.size(), path)
                      .str());
    return 130;
  }
  return status;
}

namespace {

llvm::json::Object rowJson(const TuningRow &r) {
  return llvm::json::Object{{"device", r.device},
                            {"attnc_version", r.version},
                            {"target", r.target},
                            {"problem", r.problem},
                            {"shape", r.shape},
                            {"phase", r.phase},
                            {"config", r.config},
                            {"median_us", r.medianUs},
                            {"spread", r.spread},
                            {"reps", r.reps},
                            {"heuristic", r.heuristic != 0},
                            {"measured_at", r.measuredAt}};
}

/// The rows grouped per (device, version, target, problem, shape), in key order.
std::vector<std::vector<TuningRow>> groups(const std::vector<TuningRow> &rows) {
  std::vector<std::vector<TuningRow>> out;
  for (const TuningRow &r : rows) {
    if (out.empty() || out.back()[0].device != r.device || out.back()[0].version != r.version ||
        out.back()[0].target != r.target || out.back()[0].problem != r.problem ||
        out.back()[0].shape != r.shape)
      out.emplace_back();
    out.back().push_back(r);
  }
  return out;
}

/// Every row of the database at `path`; false (with `error`) when it cannot be read.
bool readAll(const std::string &path, std::vector<TuningRow> &rows, std::string &error) {
  std::unique_ptr<TuningDB> db = TuningDB::open(path, /*create=*/false, error);
  if (!db)
    return false;
  rows = db->rows(TuningRow{}, error);
  if (!error.empty())
    error = path + ": " + error;
  return error.empty();
}

} // namespace

std::optional<int> attnc::tuneSubcommand(int argc, char **argv) {
  if (argc < 1)
    return std::nullopt;
  llvm::StringRef sub(argv[0]);
  if (sub != "merge" && sub != "show" && sub != "export")
    return std::nullopt;
  std::vector<std::string> inputs;
  std::string output = "-", db;
  bool json = false, all = false;
  for (int i = 1; i < argc; ++i) {
    llvm::StringRef a(argv[i]);
    auto value = [&](llvm::StringRef flag, std::string &out) {
      if (a == flag && i + 1 < argc) {
        out = argv[++i];
        return true;
      }
      if (a.consume_front(flag) && a.consume_front("=")) {
        out = a.str();
        return true;
      }
      return false;
    };
    if (value("-o", output) || value("--db", db))
      continue;
    if (a == "--json") {
      json = true;
    } else if (a == "--all") {
      all = true;
    } else if (a.starts_with("-")) {
      return userError("unknown option '" + a.str() + "' for attnc tune " + sub.str() +
                       " (attnc tune merge A.db B.db... -o OUT.db; attnc tune show [--db P] "
                       "[--all]; attnc tune export --json [--db P] [-o FILE])");
    } else {
      inputs.push_back(a.str());
    }
  }
  std::string error;
  if (sub == "merge") {
    if (inputs.empty() || output == "-")
      return userError("usage: attnc tune merge A.db [B.db ...] -o OUT.db");
    std::unique_ptr<TuningDB> out = TuningDB::open(output, /*create=*/true, error);
    if (!out)
      return userError(error);
    size_t total = 0;
    for (const std::string &in : inputs) {
      std::vector<TuningRow> rows;
      if (!readAll(in, rows, error))
        return userError(error);
      if (!out->put(rows, /*keepBest=*/true, error))
        return userError(output + ": " + error);
      total += rows.size();
    }
    llvm::errs() << "attnc tune merge: " << total << " row(s) from " << inputs.size()
                 << " database(s) into " << output << " (the lower median per key kept)\n";
    return 0;
  }
  if (!inputs.empty() && db.empty() && inputs.size() == 1)
    db = inputs[0];
  if (db.empty())
    db = tuningDbPath();
  if (db.empty())
    return userError("give the database: --db PATH or ATTN_TUNING_DB");
  std::vector<TuningRow> rows;
  if (!readAll(db, rows, error))
    return userError(error);
  std::string text;
  llvm::raw_string_ostream os(text);
  if (sub == "export") {
    if (!json)
      return userError("attnc tune export writes --json");
    llvm::json::Array array;
    for (const TuningRow &r : rows)
      array.push_back(rowJson(r));
    os << llvm::formatv("{0:2}", llvm::json::Value(std::move(array))) << "\n";
  } else {
    // show: per (device, problem, shape), the chosen configuration and its speed-up over the
    // heuristic; --all lists every measured configuration.
    for (const std::vector<TuningRow> &g : groups(rows)) {
      const TuningRow *chosen = chooseRow(g);
      const TuningRow *heuristic = nullptr;
      for (const TuningRow &r : g)
        if (r.heuristic)
          heuristic = &r;
      os << llvm::formatv("{0} {1} {2} [{3}] {4} @ {5}\n", shortHash(g[0].device), g[0].version,
                          g[0].target, g[0].measuredAt, g[0].problem, g[0].shape);
      for (const TuningRow &r : g) {
        if (!all && &r != chosen && &r != heuristic)
          continue;
        os << llvm::formatv("  {0,-9} {1,10:f1} us +-{2,-6:p} x{3,-5} {4}\n",
                            &r == chosen ? (r.heuristic ? "chosen=h" : "chosen")
                                         : (r.heuristic ? "heuristic" : ""),
                            r.medianUs, r.spread, r.reps, r.config);
      }
      if (chosen && heuristic)
        os << llvm::formatv("  speed-up over the heuristic: {0:f3}x\n",
                            heuristic->medianUs / chosen->medianUs);
    }
  }
  std::string fileError;
  auto out = openOutputFile(output, &fileError);
  if (!out)
    return userError(fileError);
  out->os() << text;
  out->keep();
  return 0;
}
