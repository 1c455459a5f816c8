//===- attnc.cpp - the attnc ahead-of-time compiler driver ----------------===//
//
// Compiles attention problems for a target and emits one stage of the result:
//   attnc problems.mlir --emit=asm                 every problem function of a file
//   attnc --heads-q=32 --heads-kv=8 --head-dim=128 --dtype=bf16 --causal --emit=obj -o k.o
// Stages: mlir (the LLVM dialect after attn-lower-to-cpu), llvm (optimized LLVM IR), asm, obj, and
// bundle: a kernel bundle (runtime/src/core/bundle_format.h) holding a shared object built for an
// x86-64 micro-architecture level, loadable by libattn_runtime with no compiler.
//   attnc --target=vulkan [--vulkan-device=lavapipe|nvidia|amd] --emit=spirv -o k.spv
// emits a SPIR-V module (attn-lower-to-vulkan; --emit=mlir: its spirv dialect form).
//   attnc --target=cuda [--arch=sm_80|sm_86|sm_89|sm_90|sm_90a] --emit=ptx|cubin -o k.ptx
// emits PTX or a cubin (attn-lower-to-cuda; --emit=mlir: the kernels in the gpu/nvgpu dialects).
//   attnc inspect FILE       verifies a bundle and prints what it holds.
// --mlir-print-ir-after-all and the other MLIR pass manager options show every stage before.
// Exit status: 0 success, 1 a user error (bad option, invalid or unsupported problem, unreadable
// input, unwritable output), 2 an internal error (a valid problem the compiler failed on).
//
//===----------------------------------------------------------------------===//

#include "Bundle.h"
#include "CUDATarget.h"
#include "Tune.h"
#include "VulkanTarget.h"

#include "attn/Conversion/AttnToCPU/KernelManifest.h"
#include "attn/JIT/CPUCompiler.h"
#include "attn/Target/TargetInfo.h"
#include "attn/Tuning/Tuning.h"
#include "attn/attn_version.h"
#include "core/bundle_format.h"

#include <cstdlib>

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Object/ObjectFile.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <array>
#include <cmath>
#include <optional>
#include <unistd.h>

using namespace mlir;
using namespace mlir::attn;
namespace cl = llvm::cl;

namespace {

enum class Emit { MLIR, LLVM, Asm, Obj, Bundle, SPIRV, PTX, Cubin };

cl::OptionCategory problemCategory("Problem on the command line (when no input file is given)");
cl::OptionCategory outputCategory("Output");

cl::opt<std::string> inputFile(cl::Positional, cl::desc("[problems.mlir]"), cl::init(""));
cl::opt<std::string> outputFile("o", cl::desc("Output file ('-' for stdout)"), cl::init("-"),
                                cl::value_desc("file"), cl::cat(outputCategory));
cl::opt<Emit>
    emit("emit", cl::desc("What to emit"), cl::init(Emit::Asm), cl::cat(outputCategory),
         cl::values(clEnumValN(Emit::MLIR, "mlir", "the LLVM dialect after lowering"),
                    clEnumValN(Emit::LLVM, "llvm", "optimized LLVM IR"),
                    clEnumValN(Emit::Asm, "asm", "assembly for the target"),
                    clEnumValN(Emit::Obj, "obj", "a relocatable object file"),
                    clEnumValN(Emit::Bundle, "bundle", "a kernel bundle"),
                    clEnumValN(Emit::SPIRV, "spirv", "a SPIR-V module (--target=vulkan)"),
                    clEnumValN(Emit::PTX, "ptx", "PTX (--target=cuda)"),
                    clEnumValN(Emit::Cubin, "cubin", "a cubin (--target=cuda; needs ptxas)")));
cl::opt<std::string> kernelName("name",
                                cl::desc("with --emit=obj: prefix the kernel's symbols with NAME_ "
                                         "so that several kernels link into one program"),
                                cl::init(""), cl::cat(outputCategory));
cl::opt<std::string> headerFile("header",
                                cl::desc("with --emit=obj --name: write a C header declaring the "
                                         "kernel and a typed, thread-safe launcher NAME_launch"),
                                cl::init(""), cl::cat(outputCategory));
cl::opt<std::string> cpuLevel("cpu",
                              cl::desc("the x86-64 level the code is for: x86-64-v3 (AVX2) or "
                                       "x86-64-v4 (AVX-512); default: this host, and x86-64-v3 "
                                       "for bundles, which may name both "
                                       "(x86-64-v3,x86-64-v4: the loader takes the best "
                                       "this CPU runs)"),
                              cl::init(""), cl::cat(outputCategory));
cl::opt<std::string> target("target", cl::desc("Target: cpu, cuda, vulkan"), cl::init("cpu"),
                            cl::cat(outputCategory));
cl::opt<std::string> cudaArch("arch",
                              cl::desc("with --target=cuda: the GPU architecture: sm_80, sm_86, "
                                       "sm_89, sm_90, sm_90a"),
                              cl::init("sm_80"), cl::cat(outputCategory));
cl::opt<std::string> cudaToolkit("cuda-toolkit",
                                 cl::desc("with --target=cuda: the CUDA toolkit whose ptxas makes "
                                          "cubins (default: $ATTN_CUDA_TOOLKIT, else "
                                          "/usr/local/cuda)"),
                                 cl::init(""), cl::cat(outputCategory));
cl::opt<std::string> vulkanDevice("vulkan-device",
                                  cl::desc("with --target=vulkan: the device the SPIR-V is for: "
                                           "lavapipe, nvidia, amd, or local (the device "
                                           "the runtime opens on this machine)"),
                                  cl::init("lavapipe"), cl::cat(outputCategory));
cl::opt<int64_t> vectorWidth("vector-width",
                             cl::desc("f32 lanes of the CPU kernels: 4, 8, 16 (0 = the host's)"),
                             cl::init(0), cl::cat(outputCategory));

cl::opt<std::string> variant("variant", cl::desc("softmax | linear"), cl::init("softmax"),
                             cl::cat(problemCategory));
cl::opt<std::string> dtype("dtype", cl::desc("f32 | f16 | bf16"), cl::init("f32"),
                           cl::cat(problemCategory));
cl::opt<int64_t> headsQ("heads-q", cl::desc("query heads"), cl::init(0), cl::cat(problemCategory));
cl::opt<int64_t> headsKv("heads-kv", cl::desc("kv heads (default: heads-q)"), cl::init(0),
                         cl::cat(problemCategory));
cl::opt<int64_t> headDim("head-dim", cl::desc("D"), cl::init(0), cl::cat(problemCategory));
cl::opt<int64_t> headDimV("head-dim-v", cl::desc("Dv (default: head-dim)"), cl::init(0),
                          cl::cat(problemCategory));
cl::opt<bool> causal("causal", cl::desc("causal mask"), cl::cat(problemCategory));
cl::opt<std::string> window("window", cl::desc("band 'left,right' (-1 = unbounded)"), cl::init(""),
                            cl::cat(problemCategory));
cl::opt<int64_t> globalTokens("global-tokens",
                              cl::desc("the first keys, which every query sees (Longformer's "
                                       "globals, StreamingLLM's attention-sink tokens)"),
                              cl::init(0), cl::cat(problemCategory));
cl::opt<int64_t> pageSize("page-size",
                          cl::desc("keys per page of a paged KV cache read through a block table "
                                   "(a power of two, 1..256; 0 = contiguous K/V)"),
                          cl::init(0), cl::cat(problemCategory));
cl::opt<bool> alibi("alibi", cl::desc("ALiBi: per-head slopes given at each launch"),
                    cl::cat(problemCategory));
cl::opt<bool> sinks("sinks",
                    cl::desc("per-head sink logits given at each launch (gpt-oss, "
                             "FlashAttention-3's learnable sinks; not --global-tokens)"),
                    cl::cat(problemCategory));
cl::opt<double> softcap("softcap", cl::desc("logit softcap (0 = none)"), cl::init(0),
                        cl::cat(problemCategory));
cl::opt<double> scale("scale", cl::desc("score scale (0 = default)"), cl::init(0),
                      cl::cat(problemCategory));
cl::opt<bool> returnLse("lse", cl::desc("also return the LSE"), cl::cat(problemCategory));
cl::opt<bool> returnEntropy("entropy", cl::desc("also return the entropy"),
                            cl::cat(problemCategory));
cl::opt<std::string> featureMap("feature-map", cl::desc("elu_plus_one | relu | identity (linear)"),
                                cl::init("elu_plus_one"), cl::cat(problemCategory));
cl::opt<bool> noNormalize("no-normalize", cl::desc("linear attention without the denominator"),
                          cl::cat(problemCategory));

constexpr int kUserError = 1, kInternalError = 2;

/// attnc tune (set by main): the problems are measured, not compiled to a stage.
bool tuneMode = false;

/// An error with the exit status it maps to.
struct Failure {
  int status;
  std::string message;
};

std::optional<Failure> userError(std::string message) {
  return Failure{kUserError, std::move(message)};
}

/// The problem given by the command-line options, as the C descriptor.
std::optional<Failure> problemFromOptions(attn_problem &p) {
  p = attn_problem{};
  p.struct_size = sizeof(p);
  p.target = ATTN_TARGET_CPU;
  if (variant == "softmax")
    p.variant = ATTN_VARIANT_SOFTMAX;
  else if (variant == "linear")
    p.variant = ATTN_VARIANT_LINEAR;
  else
    return userError("unknown --variant '" + variant + "' (softmax, linear)");
  if (dtype == "f32")
    p.dtype = ATTN_DTYPE_F32;
  else if (dtype == "f16")
    p.dtype = ATTN_DTYPE_F16;
  else if (dtype == "bf16")
    p.dtype = ATTN_DTYPE_BF16;
  else
    return userError("unknown --dtype '" + dtype + "' (f32, f16, bf16)");
  if (headsQ <= 0 || headDim <= 0)
    return userError("give the problem: an input file, or --heads-q and --head-dim (>= 1)");
  p.heads_q = headsQ;
  p.heads_kv = headsKv ? headsKv : headsQ;
  p.head_dim = headDim;
  p.head_dim_v = headDimV ? headDimV : headDim;
  p.scale = scale;
  p.causal = causal;
  p.window_left = p.window_right = -1;
  if (!window.empty()) {
    auto [left, right] = llvm::StringRef(window).split(',');
    if (left.trim().getAsInteger(10, p.window_left) ||
        right.trim().getAsInteger(10, p.window_right))
      return userError("--window takes 'left,right', got '" + window + "'");
  }
  // The options' own ranges: the problem module omits a non-positive count or cap, so a bad value
  // would otherwise be dropped without a word.
  if (globalTokens < 0)
    return userError("--global-tokens must be >= 0, got " + std::to_string(globalTokens));
  if (!std::isfinite(softcap) || softcap < 0)
    return userError("--softcap must be a finite value >= 0 (0 = none), got " +
                     std::to_string(softcap));
  if (!std::isfinite(scale) || scale < 0)
    return userError("--scale must be a finite value >= 0 (0 = default), got " +
                     std::to_string(scale));
  if (pageSize != 0 &&
      (pageSize < 1 || pageSize > ATTN_MAX_PAGE_SIZE || (pageSize & (pageSize - 1)) != 0))
    return userError("--page-size must be 0 (contiguous K/V) or a power of two from 1 to " +
                     std::to_string(ATTN_MAX_PAGE_SIZE) + ", got " + std::to_string(pageSize));
  if (pageSize != 0 && p.variant == ATTN_VARIANT_LINEAR)
    return userError("--page-size: linear attention does not read a paged KV cache");
  if ((alibi || sinks) && p.variant == ATTN_VARIANT_LINEAR)
    return userError(std::string(alibi ? "--alibi" : "--sinks") +
                     ": linear attention has no softmax scores");
  p.alibi = alibi;
  p.sinks = sinks;
  p.global_tokens = globalTokens;
  p.softcap = softcap;
  p.page_size = pageSize;
  p.return_lse = returnLse;
  p.return_entropy = returnEntropy;
  if (featureMap == "elu_plus_one")
    p.feature_map = ATTN_FEATURE_MAP_ELU_PLUS_ONE;
  else if (featureMap == "relu")
    p.feature_map = ATTN_FEATURE_MAP_RELU;
  else if (featureMap == "identity")
    p.feature_map = ATTN_FEATURE_MAP_IDENTITY;
  else
    return userError("unknown --feature-map '" + featureMap + "'");
  p.normalize = !noNormalize;
  if (p.variant == ATTN_VARIANT_LINEAR && (p.return_lse || p.return_entropy))
    return userError("linear attention has no softmax: --lse and --entropy do not apply");
  return std::nullopt;
}

/// Splits a parsed file into one module per problem function: a function holding exactly one
/// attn.attention, attn.linear_attention or attn.merge. Functions built from the online form
/// (attn.online_attention, attn.finalize) are not lowered by the CPU backend yet: skipped, said.
std::optional<Failure> splitProblems(ModuleOp file, SmallVectorImpl<OwningOpRef<ModuleOp>> &out) {
  for (auto fn : file.getOps<func::FuncOp>()) {
    int problems = 0, others = 0;
    fn.walk([&](Operation *op) {
      if (isa<AttentionOp, LinearAttentionOp, MergeOp>(op))
        ++problems;
      else if (isa<OnlineAttentionOp, FinalizeOp>(op))
        ++others;
    });
    if (problems == 0 && others == 0)
      continue;
    if (problems != 1 || others != 0) {
      llvm::errs() << "attnc: skipping @" << fn.getName()
                   << ": a problem function holds exactly one attn.attention, "
                      "attn.linear_attention or attn.merge (the online form is not lowered yet)\n";
      continue;
    }
    OwningOpRef<ModuleOp> module = ModuleOp::create(fn.getLoc());
    module->getBody()->push_back(fn.clone());
    out.push_back(std::move(module));
  }
  if (out.empty())
    return userError("the input holds no problem function (one attn op in a func.func)");
  return std::nullopt;
}

/// The descriptor fields a bundle records, read off a prepared problem module.
std::optional<Failure> bundleEntry(ModuleOp module, const CPUKernelConfig &config,
                                   llvm::StringRef level, ::attn::bundle::BundleEntry &entry) {
  entry = ::attn::bundle::BundleEntry{};
  std::strncpy(entry.target, "cpu", sizeof(entry.target) - 1);
  std::strncpy(entry.cpuLevel, level.str().c_str(), sizeof(entry.cpuLevel) - 1);
  Operation *problem = nullptr;
  module.walk([&](Operation *op) {
    if (isa<AttentionOp, LinearAttentionOp, MergeOp>(op))
      problem = op;
  });
  if (!problem || isa<MergeOp>(problem))
    return userError("a bundle holds attn.attention or attn.linear_attention kernels");
  // The entry says what the code's own manifest says (the loader compares the two).
  FailureOr<attn_kernel_manifest> manifest = buildKernelManifest(problem, config);
  if (failed(manifest))
    return Failure{kInternalError, "no manifest for the problem"};
  attnc::describeCode(*manifest, entry);
  return std::nullopt;
}

/// A bundle of one Vulkan kernel: its payload is the kernel image container, its level field
/// names the device kind the code was built for ("local": this machine's device). A tuning
/// database's entries are one device's: they configure bundles for --vulkan-device=local.
std::optional<Failure> vulkanBundle(ModuleOp module, const VulkanTargetInfo &device,
                                    std::string &output) {
  if (std::string db = attnc::tuningDbPath(); !db.empty()) {
    std::string warnings;
    if (vulkanDevice != "local")
      warnings = "attnc: warning: a tuning database's Vulkan entries are for one device: "
                 "--vulkan-device=local builds for this machine's and looks them up; using the "
                 "heuristic configuration for '" +
                 vulkanDevice + "'\n";
    else
      module.walk([&](Operation *op) {
        if (!op->hasAttr(kVulkanConfigAttrName))
          applyTunedVulkanConfig(op, db, device, warnings);
      });
    llvm::errs() << warnings;
  }
  std::string container, error;
  attn_kernel_manifest manifest;
  if (!attnc::imageForVulkan(module, device, container, manifest, error))
    return userError(error);
  output += attnc::deviceBundle("vulkan", vulkanDevice, manifest, container);
  return std::nullopt;
}

std::string toolkitPath() {
  if (!cudaToolkit.empty())
    return cudaToolkit;
  const char *env = std::getenv("ATTN_CUDA_TOOLKIT");
  return env && *env ? env : "/usr/local/cuda";
}

/// A bundle of one CUDA kernel: its payload is the kernel image container (a cubin for the
/// architecture when the toolkit's ptxas is there, else PTX), its level field names the
/// architecture.
std::optional<Failure> cudaBundle(ModuleOp module, std::string &output) {
  if (!attnc::tuningDbPath().empty())
    llvm::errs() << "attnc: warning: a tuning database's CUDA entries are for one GPU and are "
                    "taken by the JIT on it; a bundle for "
                 << cudaArch << " is built with the heuristic configuration\n";
  std::string container, error;
  attn_kernel_manifest manifest;
  bool cubin = false;
  if (!attnc::imageForCUDA(module, cudaArch, toolkitPath(), container, manifest, cubin, error))
    return userError(error);
  output += attnc::deviceBundle("cuda", cudaArch, manifest, container);
  return std::nullopt;
}

/// Links a relocatable object into a shared object with lld (the runtime dlopens it).
std::optional<Failure> linkSharedObject(const std::string &object, std::string &sharedObject) {
  auto linker = llvm::sys::findProgramByName("ld.lld-19");
  if (!linker)
    linker = llvm::sys::findProgramByName("ld.lld");
  if (!linker)
    return Failure{kInternalError, "bundles need lld (ld.lld-19) to link the kernels"};
  llvm::SmallString<128> objectPath, sharedPath;
  int fd;
  if (llvm::sys::fs::createTemporaryFile("attnc-kernel", "o", fd, objectPath) ||
      llvm::sys::fs::createTemporaryFile("attnc-kernel", "so", sharedPath))
    return Failure{kInternalError, "cannot create temporary files"};
  llvm::FileRemover removeObject(objectPath), removeShared(sharedPath);
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << object;
  }
  std::string message;
  llvm::StringRef args[] = {*linker,       "-shared", "-z",       "noexecstack",
                            "--as-needed", "-o",      sharedPath, objectPath};
  if (llvm::sys::ExecuteAndWait(*linker, args, std::nullopt, {}, 0, 0, &message) != 0)
    return Failure{kInternalError, "linking the kernel failed: " + message};
  auto buffer = llvm::MemoryBuffer::getFile(sharedPath, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return Failure{kInternalError, "cannot read the linked kernel"};
  sharedObject = (*buffer)->getBuffer().str();
  return std::nullopt;
}

/// The C header of a linked kernel: its entry points, the problem it was built for, and a typed
/// launcher with thread-safe lazy initialization (pthread_once). Nothing in it exits or aborts:
/// every failure is a status.
std::optional<Failure> writeHeader(const ::attn::bundle::BundleEntry &e) {
  const std::string n = kernelName;
  const char *elt = e.dtype == ATTN_DTYPE_F32 ? "float" : "uint16_t";
  const char *dtypes[] = {"ATTN_DTYPE_F32", "ATTN_DTYPE_F16", "ATTN_DTYPE_BF16"};
  bool softmax = e.variant == ATTN_VARIANT_SOFTMAX;
  bool paged = softmax && e.pageSize > 0;
  std::string kvRows = paged ? "num_pages, " + std::to_string(e.pageSize) : "B, Skv";
  std::string h;
  llvm::raw_string_ostream os(h);
  std::string guard = llvm::StringRef(n).upper() + "_ATTN_KERNEL_H";
  os << "/* Generated by attnc " ATTN_VERSION_STRING ": the attention kernel '" << n << "'. Link "
     << n << ".o and libattn_runtime. */\n"
     << "#ifndef " << guard << "\n#define " << guard << "\n\n"
     << "#include <attn/attn_runtime.h>\n#include <pthread.h>\n#include <stdint.h>\n\n";
  std::vector<std::string> entries = softmax ? std::vector<std::string>{"main", "decode", "merge"}
                                             : std::vector<std::string>{"linear"};
  for (const std::string &entry : entries)
    os << "void " << n << "__mlir_ciface_attn_" << entry << "(void);\n";
  os << "extern const char " << n << "_" ATTN_KERNEL_MANIFEST_SYMBOL "[];\n";
  os << "\n/* The problem the code was built for. */\nstatic inline attn_status " << n
     << "_problem(attn_problem *p) {\n  attn_status s = attn_problem_init(p);\n"
     << "  p->variant = " << (softmax ? "ATTN_VARIANT_SOFTMAX" : "ATTN_VARIANT_LINEAR") << ";\n"
     << "  p->dtype = " << dtypes[std::clamp(e.dtype, 0, 2)] << ";\n"
     << "  p->heads_q = " << e.headsQ << ";\n  p->heads_kv = " << e.headsKv << ";\n"
     << "  p->head_dim = " << e.headDim << ";\n  p->head_dim_v = " << e.headDimV << ";\n"
     << "  p->scale = " << llvm::formatv("{0:e17}", e.scale).str() << ";\n"
     << "  p->causal = " << e.causal << ";\n";
  if (softmax)
    os << "  p->window_left = " << e.windowLeft << ";\n  p->window_right = " << e.windowRight
       << ";\n  p->global_tokens = " << e.globalTokens
       << ";\n  p->softcap = " << llvm::formatv("{0:e17}", e.softcap).str()
       << ";\n  p->return_lse = " << e.returnLse << ";\n  p->return_entropy = " << e.returnEntropy
       << ";\n  p->page_size = " << e.pageSize << ";\n  p->alibi = " << e.alibi
       << ";\n  p->sinks = " << e.sinks << ";\n";
  else
    os << "  p->feature_map = (attn_feature_map)" << e.featureMap
       << ";\n  p->normalize = " << e.normalize << ";\n";
  os << "  return s;\n}\n\n"
     << "/* A kernel of this code in an engine's own context (its thread pool, metrics and "
        "settings):\n * launch it with attn_kernel_launch (every launch argument: packed, paged, "
        "workspace, ...),\n * destroy it with attn_kernel_destroy before the context. Any number "
        "may exist. */\n"
     << "static inline attn_status " << n
     << "_create(attn_context *context, attn_kernel **kernel) {\n  attn_problem p;\n"
     << "  attn_kernel_code c = {0};\n  attn_status s = " << n << "_problem(&p);\n"
     << "  if (s != ATTN_STATUS_SUCCESS)\n    return s;\n  c.struct_size = sizeof(c);\n";
  for (const std::string &entry : entries) {
    std::string field = entry == "main"     ? "softmax_main"
                        : entry == "decode" ? "softmax_decode"
                                            : entry;
    os << "  c." << field << " = " << n << "__mlir_ciface_attn_" << entry << ";\n";
  }
  os << "  c.block_q = " << e.blockQ << ";\n  c.block_k = " << e.blockK
     << ";\n  c.decode_max_rows = " << e.decodeMaxRows << ";\n"
     << "  c.manifest = " << n << "_" ATTN_KERNEL_MANIFEST_SYMBOL ";\n"
     << "  return attn_kernel_create_from_code(context, &p, &c, kernel);\n}\n\n"
     << "/* The launcher below keeps one kernel in a context of its own, made on first use. */\n"
     << "static attn_context *" << n << "_context_;\nstatic attn_kernel *" << n << "_kernel_;\n"
     << "static attn_status " << n << "_status_ = ATTN_STATUS_INTERNAL_ERROR;\n"
     << "static pthread_once_t " << n << "_once_ = PTHREAD_ONCE_INIT;\n\n"
     << "static void " << n << "_init_(void) {\n"
     << "  " << n << "_status_ = attn_context_create(NULL, &" << n << "_context_);\n"
     << "  if (" << n << "_status_ == ATTN_STATUS_SUCCESS)\n"
     << "    " << n << "_status_ = " << n << "_create(" << n << "_context_, &" << n
     << "_kernel_);\n}\n\n"
     << "/* O = attention(Q, K, V) on contiguous BSHD buffers (Q [B, Sq, " << e.headsQ << ", "
     << e.headDim << "], K [" << kvRows << ", " << e.headsKv << ", " << e.headDim << "], V ["
     << kvRows << ", " << e.headsKv << ", " << e.headDimV << "], O [B, Sq, " << e.headsQ << ", "
     << e.headDimV << "])" << (softmax && e.returnLse ? ", LSE [B, Hq, Sq]" : "")
     << (softmax && e.returnEntropy ? ", entropy [B, Hq, Sq]" : "")
     << (paged ? "; a paged KV cache: K and V are pages, block_table int32 [B, max_pages] names "
                 "each sequence's (seq_kv = max_pages x page size)"
               : "")
     << (softmax && e.alibi ? "; alibi_slopes float [Hq]" : "")
     << (softmax && e.sinks ? "; sinks float [Hq] (sink logits)" : "")
     << "; seqlens may be NULL.\n * Thread-safe; the first call sets the kernel up. Returns a "
        "status (message: attn_last_error()). */\n"
     << "static inline attn_status " << n
     << "_launch(int64_t batch, int64_t seq_q, int64_t seq_kv, "
     << "const " << elt << " *q, const " << elt << " *k, const " << elt << " *v, " << elt
     << " *o, float *lse, float *entropy, const int32_t *seqlens_q, const int32_t *seqlens_kv"
     << (paged ? ", const int32_t *block_table, int64_t max_pages, int64_t num_pages" : "")
     << (softmax && e.alibi ? ", const float *alibi_slopes" : "")
     << (softmax && e.sinks ? ", const float *sinks" : "") << ") {\n"
     << "  attn_launch_args a;\n  attn_status s;\n"
     << "  if (pthread_once(&" << n << "_once_, " << n << "_init_) != 0)\n"
     << "    return ATTN_STATUS_INTERNAL_ERROR;\n"
     << "  if (" << n << "_status_ != ATTN_STATUS_SUCCESS)\n    return " << n << "_status_;\n"
     << "  s = attn_launch_args_init(&a);\n  if (s != ATTN_STATUS_SUCCESS)\n    return s;\n"
     << "  a.batch = batch;\n  a.seq_q = seq_q;\n  a.seq_kv = seq_kv;\n";
  auto view = [&](const char *t, const char *ptr, const char *seq, int64_t heads, int64_t dim) {
    os << "  a." << t << ".data = (void *)" << ptr << ";\n  a." << t << ".strides[0] = " << seq
       << " * " << heads * dim << ";\n  a." << t << ".strides[1] = " << heads * dim << ";\n  a."
       << t << ".strides[2] = " << dim << ";\n  a." << t << ".strides[3] = 1;\n";
  };
  view("q", "q", "seq_q", e.headsQ, e.headDim);
  std::string pageRows = std::to_string(e.pageSize);
  view("k", "k", paged ? pageRows.c_str() : "seq_kv", e.headsKv, e.headDim);
  view("v", "v", paged ? pageRows.c_str() : "seq_kv", e.headsKv, e.headDimV);
  if (paged)
    os << "  a.block_table = block_table;\n  a.max_pages = max_pages;\n"
       << "  a.num_pages = num_pages;\n";
  view("o", "o", "seq_q", e.headsQ, e.headDimV);
  if (softmax && e.alibi)
    os << "  a.alibi_slopes = alibi_slopes;\n";
  if (softmax && e.sinks)
    os << "  a.sinks = sinks;\n";
  os << "  a.lse = lse;\n  a.entropy = entropy;\n  a.seqlens_q = seqlens_q;\n"
     << "  a.seqlens_kv = seqlens_kv;\n  return attn_kernel_launch(" << n << "_kernel_, &a);\n}\n\n"
     << "#endif /* " << guard << " */\n";
  std::string fileError;
  auto out = openOutputFile(headerFile, &fileError);
  if (!out)
    return userError(fileError);
  out->os() << h;
  out->keep();
  return std::nullopt;
}

/// A CPU bundle's kernels, one entry and shared object per problem and level.
struct BundleParts {
  std::vector<::attn::bundle::BundleEntry> entries;
  std::vector<std::string> payloads;
};

/// Compiles one problem module to the requested stage for the CPU level `level` ("" = --cpu's,
/// else this host), appending it to `output` (a bundle's kernel to `bundle`).
std::optional<Failure> compile(ModuleOp module, std::string &output, std::string level = "",
                               BundleParts *bundle = nullptr) {
  std::string error;
  // The machines the code is for: --cpu, else this host. A bundle is shipped to other machines
  // and names a level: x86-64-v3 unless --cpu says otherwise, whatever the build host (the same
  // command builds the same bundle anywhere).
  if (level.empty())
    level = cpuLevel;
  if (level.empty() && emit == Emit::Bundle)
    level = "x86-64-v3";
  if (!level.empty() && level != "x86-64-v3" && level != "x86-64-v4")
    return userError("--cpu must be x86-64-v3 or x86-64-v4, got '" + level + "'");
  std::optional<CPUTargetInfo> target = CPUTargetInfo::fromName(level.empty() ? "host" : level);
  if (vectorWidth && vectorWidth != 4 && vectorWidth != 8 && vectorWidth != 16)
    return userError("--vector-width must be 4, 8 or 16");
  // A configuration in the input (by hand, or a tuner's) is kept; it must fit the machines the
  // code is for. Ops without one get the heuristic for --vector-width, else the target's.
  const int64_t widest = target->vectorWidthF32();
  std::optional<Failure> misfit;
  module.walk([&](Operation *op) {
    if (!isa<AttentionOp, LinearAttentionOp, MergeOp>(op))
      return;
    if (FailureOr<CPUKernelConfig> given = getCPUConfig(op); succeeded(given)) {
      if (given->vectorWidth > widest && !misfit)
        misfit = userError("the input's attn.cpu_config has vector_width " +
                           std::to_string(given->vectorWidth) + ", but " +
                           (level.empty() ? std::string("this host") : level) + " has " +
                           std::to_string(widest) + " f32 lanes");
      return;
    }
    if (vectorWidth)
      setCPUConfig(op, chooseCPUConfig(op, vectorWidth));
  });
  if (misfit)
    return misfit;
  // A tuning database (--db, ATTN_TUNING_DB) configures the ops the input left open, for the
  // machines the code is for (a bundle's level: tune with the same --cpu) and --tune-threads.
  if (std::string db = attnc::tuningDbPath(); !db.empty()) {
    std::string warnings;
    module.walk([&](Operation *op) {
      if (!op->hasAttr(kCPUConfigAttrName) && !vectorWidth)
        applyTunedCPUConfig(op, db, *target, attnc::tuningThreads(), warnings);
    });
    llvm::errs() << warnings;
  }
  CPUKernelConfig config;
  if (failed(prepareProblemModule(module, *target, config, error)))
    return userError(error);
  ::attn::bundle::BundleEntry entry; // read off the problem before it is lowered
  if (emit == Emit::Bundle || !headerFile.empty())
    if (auto failure = bundleEntry(module, config, level.empty() ? "host" : level, entry))
      return failure;
  // The lowering fails only on problems the CPU backend does not support: a user error.
  if (failed(lowerToLLVMDialect(module, error, [](PassManager &pm) {
        if (failed(applyPassManagerCLOptions(pm)))
          llvm::errs() << "attnc: bad pass manager options\n";
      })))
    return userError(error);
  if (emit == Emit::MLIR) {
    llvm::raw_string_ostream os(output);
    module.print(os);
    return std::nullopt;
  }
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateForTarget(module, *target, llvmContext, error);
  if (!llvmModule || failed(optimizeForTarget(*llvmModule, *target, error)))
    return Failure{kInternalError, error};
  if (!kernelName.empty()) { // NAME_attn_main, NAME__mlir_ciface_attn_main, ...
    for (llvm::Function &fn : *llvmModule)
      if (!fn.isDeclaration())
        fn.setName(kernelName + "_" + fn.getName().str());
    if (llvm::GlobalVariable *manifest = llvmModule->getGlobalVariable(ATTN_KERNEL_MANIFEST_SYMBOL))
      manifest->setName(kernelName + "_" ATTN_KERNEL_MANIFEST_SYMBOL);
  }
  if (emit == Emit::LLVM) {
    llvm::raw_string_ostream os(output);
    llvmModule->print(os, nullptr);
    return std::nullopt;
  }
  FailureOr<std::string> code = emitForTarget(
      *llvmModule, *target,
      emit == Emit::Asm ? llvm::CodeGenFileType::AssemblyFile : llvm::CodeGenFileType::ObjectFile,
      error);
  if (failed(code))
    return Failure{kInternalError, error};
  if (emit != Emit::Bundle) {
    output += *code;
    if (!headerFile.empty())
      return writeHeader(entry);
    return std::nullopt;
  }
  std::string sharedObject;
  if (auto failure = linkSharedObject(*code, sharedObject))
    return failure;
  bundle->entries.push_back(entry);
  bundle->payloads.push_back(std::move(sharedObject));
  return std::nullopt;
}

int run(MLIRContext &ctx) {
  auto fail = [](const Failure &failure) {
    llvm::errs() << "attnc: error: " << failure.message << "\n";
    return failure.status;
  };
  bool vulkan = target == "vulkan", cuda = target == "cuda";
  if (target != "cpu" && !vulkan && !cuda)
    return fail(
        {kUserError, "target '" + target + "' is not supported by this attnc (cpu, cuda, vulkan)"});
  if (vulkan && !tuneMode && emit != Emit::MLIR && emit != Emit::SPIRV && emit != Emit::Bundle)
    return fail({kUserError, "--target=vulkan emits mlir, spirv or bundle"});
  if (cuda && !tuneMode && emit != Emit::MLIR && emit != Emit::PTX && emit != Emit::Cubin &&
      emit != Emit::Bundle)
    return fail({kUserError, "--target=cuda emits mlir, ptx, cubin or bundle"});
  if (!vulkan && emit == Emit::SPIRV)
    return fail({kUserError, "--emit=spirv needs --target=vulkan"});
  if (!cuda && (emit == Emit::PTX || emit == Emit::Cubin))
    return fail({kUserError, "--emit=ptx and --emit=cubin need --target=cuda"});
  bool binary =
      emit == Emit::Obj || emit == Emit::Bundle || emit == Emit::SPIRV || emit == Emit::Cubin;
  if (binary && outputFile == "-" && ::isatty(STDOUT_FILENO))
    return fail({kUserError, "refusing to write binary output to a terminal: give -o FILE"});

  SmallVector<OwningOpRef<ModuleOp>> problems;
  if (tuneMode && !attnc::presetName().empty()) {
    std::string names;
    auto preset = attnc::presetProblems(attnc::presetName(), names);
    if (!preset)
      return fail({kUserError, "unknown --preset '" + attnc::presetName() + "' (" + names + ")"});
    for (attn_problem &p : *preset) {
      std::string error;
      auto module = buildProblemModule(ctx, p, error);
      if (failed(module))
        return fail({kInternalError, error});
      problems.push_back(std::move(*module));
    }
  } else if (!inputFile.empty()) {
    llvm::SourceMgr sourceMgr;
    std::string parseErrors;
    llvm::raw_string_ostream errors(parseErrors);
    SourceMgrDiagnosticHandler handler(sourceMgr, &ctx, errors);
    std::string fileError;
    auto buffer = openInputFile(inputFile, &fileError);
    if (!buffer)
      return fail({kUserError, fileError});
    sourceMgr.AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
    OwningOpRef<ModuleOp> file = parseSourceFile<ModuleOp>(sourceMgr, &ctx);
    if (!file)
      return fail({kUserError, "cannot read " + inputFile + ":\n" + parseErrors});
    if (auto failure = splitProblems(*file, problems))
      return fail(*failure);
  } else {
    attn_problem p;
    if (auto failure = problemFromOptions(p))
      return fail(*failure);
    std::string error;
    auto module = buildProblemModule(ctx, p, error);
    if (failed(module))
      return fail({kUserError, error});
    problems.push_back(std::move(*module));
  }
  if (tuneMode) {
    std::string level = cpuLevel.empty() ? "host" : cpuLevel.getValue();
    if (level != "host" && level != "x86-64-v3" && level != "x86-64-v4")
      return fail({kUserError, "--cpu must be x86-64-v3 or x86-64-v4, got '" + level + "'"});
    std::optional<CPUTargetInfo> cpu = CPUTargetInfo::fromName(level);
    if (level != "host" && cpu->vectorWidthF32() > CPUTargetInfo::host().vectorWidthF32())
      return fail({kUserError, "attnc tune runs the kernels: this host cannot run " + level});
    return attnc::tune(problems, *cpu,
                       vulkan ? ATTN_TARGET_VULKAN
                       : cuda ? ATTN_TARGET_CUDA
                              : ATTN_TARGET_CPU);
  }
  if (!headerFile.empty() && (emit != Emit::Obj || kernelName.empty()))
    return fail({kUserError, "--header goes with --emit=obj and --name"});
  if (!kernelName.empty() &&
      !llvm::all_of(kernelName.getValue(), [](char c) { return llvm::isAlnum(c) || c == '_'; }))
    return fail({kUserError, "--name must be a C identifier, got '" + kernelName + "'"});
  // A CPU bundle holds any number of kernels (all of a model's shapes, at one or more levels);
  // the other binaries, one.
  bool cpuBundle = emit == Emit::Bundle && !vulkan && !cuda;
  if (binary && problems.size() != 1 && !cpuBundle)
    return fail({kUserError, std::string("--emit=") +
                                 (emit == Emit::Obj      ? "obj"
                                  : emit == Emit::Bundle ? "bundle"
                                  : emit == Emit::Cubin  ? "cubin"
                                                         : "spirv") +
                                 " takes one problem; the input holds " +
                                 std::to_string(problems.size())});

  std::optional<VulkanTargetInfo> vulkanTarget;
  if (vulkan) {
    std::string error;
    vulkanTarget = attnc::vulkanTargetNamed(vulkanDevice, error);
    if (!vulkanTarget)
      return fail({kUserError, error});
  }
  std::string output;
  BundleParts bundleParts;
  for (auto [i, problem] : llvm::enumerate(problems)) {
    if (problems.size() > 1) {
      auto fn = *problem->getOps<func::FuncOp>().begin();
      llvm::errs() << "[" << i + 1 << "/" << problems.size() << "] compiling @" << fn.getName()
                   << "\n";
      if (!binary)
        output += (emit == Emit::Asm    ? "# "
                   : emit == Emit::LLVM ? "; "
                                        : "// ") +
                  std::string("problem @") + fn.getName().str() + "\n";
    }
    if (cuda && emit == Emit::Bundle) {
      if (auto failure = cudaBundle(*problem, output))
        return fail(*failure);
      continue;
    }
    if (cuda) {
      std::string error;
      attnc::CUDAEmit what = emit == Emit::PTX     ? attnc::CUDAEmit::PTX
                             : emit == Emit::Cubin ? attnc::CUDAEmit::Cubin
                                                   : attnc::CUDAEmit::Kernels;
      if (!attnc::compileForCUDA(*problem, cudaArch, toolkitPath(), what, output, error))
        return fail({kUserError, error});
      continue;
    }
    if (vulkan && emit == Emit::Bundle) {
      if (auto failure = vulkanBundle(*problem, *vulkanTarget, output))
        return fail(*failure);
      continue;
    }
    if (vulkan) {
      std::string error;
      if (!attnc::compileForVulkan(*problem, *vulkanTarget, emit == Emit::SPIRV, output, error))
        return fail({kUserError, error});
      continue;
    }
    if (cpuBundle) {
      // One kernel per level of --cpu (a comma-separated list), each compiled from a fresh copy.
      const std::string levelList = cpuLevel.empty() ? "x86-64-v3" : cpuLevel.getValue();
      llvm::SmallVector<llvm::StringRef> levels;
      llvm::StringRef(levelList).split(levels, ',', -1, /*KeepEmpty=*/false);
      if (levels.empty())
        return fail({kUserError, "--cpu names no level"});
      for (llvm::StringRef level : levels) {
        OwningOpRef<ModuleOp> copy = cast<ModuleOp>((*problem)->clone());
        if (auto failure = compile(*copy, output, level.trim().str(), &bundleParts))
          return fail(*failure);
      }
      continue;
    }
    if (auto failure = compile(*problem, output))
      return fail(*failure);
  }
  if (cpuBundle)
    output =
        ::attn::bundle::writeBundle(bundleParts.entries, bundleParts.payloads, ATTN_VERSION_MAJOR,
                                    ATTN_VERSION_MINOR, ATTN_VERSION_PATCH);

  std::string fileError;
  auto out = openOutputFile(outputFile, &fileError);
  if (!out)
    return fail({kUserError, fileError});
  out->os() << output;
  out->keep();
  return 0;
}

/// attnc inspect FILE: verifies a bundle as the runtime would and prints what it holds.
/// The manifest a kernel's shared object defines (attn_kernel_manifest.h), read off its symbol.
std::optional<attn_kernel_manifest> readManifest(llvm::StringRef sharedObject) {
  auto object = llvm::object::ObjectFile::createObjectFile(
      llvm::MemoryBufferRef(sharedObject, "bundle kernel"));
  if (!object) {
    llvm::consumeError(object.takeError());
    return std::nullopt;
  }
  for (const llvm::object::SymbolRef &symbol : (*object)->symbols()) {
    llvm::Expected<llvm::StringRef> name = symbol.getName();
    if (!name) {
      llvm::consumeError(name.takeError());
      continue;
    }
    if (*name != ATTN_KERNEL_MANIFEST_SYMBOL)
      continue;
    llvm::Expected<uint64_t> address = symbol.getAddress();
    llvm::Expected<llvm::object::section_iterator> section = symbol.getSection();
    if (!address || !section || *section == (*object)->section_end()) {
      if (!address)
        llvm::consumeError(address.takeError());
      if (!section)
        llvm::consumeError(section.takeError());
      return std::nullopt;
    }
    llvm::Expected<llvm::StringRef> contents = (*section)->getContents();
    if (!contents) {
      llvm::consumeError(contents.takeError());
      return std::nullopt;
    }
    uint64_t offset = *address - (*section)->getAddress();
    attn_kernel_manifest manifest;
    if (*address < (*section)->getAddress() || offset > contents->size() ||
        contents->size() - offset < sizeof(manifest))
      return std::nullopt;
    std::memcpy(&manifest, contents->data() + offset, sizeof(manifest));
    return manifest;
  }
  return std::nullopt;
}

/// The manifest of an entry's payload: a shared object's symbol (CPU), a kernel image's header.
std::optional<attn_kernel_manifest> payloadManifest(const ::attn::bundle::BundleEntry &e,
                                                    llvm::StringRef payload) {
  if (llvm::StringRef(e.target) == "vulkan" || llvm::StringRef(e.target) == "cuda")
    return attnc::imageManifest(payload);
  return readManifest(payload);
}

/// What differs between a bundle entry and its code's own manifest ("" when nothing does): the
/// loader refuses such a kernel.
std::string manifestMismatch(const ::attn::bundle::BundleHeader &h,
                             const ::attn::bundle::BundleEntry &e, llvm::StringRef payload) {
  std::optional<attn_kernel_manifest> code = payloadManifest(e, payload);
  if (!code)
    return "its payload has no readable manifest";
  // The entry as attnc would have written it for this code, and the header's version.
  ::attn::bundle::BundleEntry described = e;
  attnc::describeCode(*code, described);
  bool sameVersion = code->attnc_major == h.attncMajor && code->attnc_minor == h.attncMinor &&
                     code->attnc_patch == h.attncPatch;
  if (sameVersion && std::memcmp(&described, &e, sizeof(e)) == 0)
    return "";
  return llvm::formatv("its entry does not describe its code (the code was built by attnc "
                       "{0}.{1}.{2} for heads {3}/{4}, D {5}, causal {6}, tiles {7}/{8})",
                       code->attnc_major, code->attnc_minor, code->attnc_patch, code->heads_q,
                       code->heads_kv, code->head_dim, code->causal, code->block_q, code->block_k)
      .str();
}

/// One bundle entry as JSON: the C descriptor's field names (attn_problem), the tiles, the code.
llvm::json::Object entryJson(size_t index, const ::attn::bundle::BundleEntry &e,
                             const std::optional<attn_kernel_manifest> &code) {
  const char *dtypes[] = {"f32", "f16", "bf16"};
  const char *maps[] = {"elu_plus_one", "relu", "identity"};
  const char *sources[] = {"heuristic", "tuned", "given"};
  bool softmax = e.variant == ATTN_VARIANT_SOFTMAX, device = llvm::StringRef(e.target) != "cpu";
  llvm::json::Object o{{"index", static_cast<int64_t>(index)},
                       {"target", e.target},
                       {device ? "device" : "cpu_level", e.cpuLevel},
                       {"variant", softmax ? "softmax" : "linear"},
                       {"dtype", dtypes[std::clamp(e.dtype, 0, 2)]},
                       {"heads_q", e.headsQ},
                       {"heads_kv", e.headsKv},
                       {"head_dim", e.headDim},
                       {"head_dim_v", e.headDimV},
                       {"scale", e.scale},
                       {"causal", e.causal != 0}};
  if (softmax) {
    o["window_left"] = e.windowLeft;
    o["window_right"] = e.windowRight;
    o["global_tokens"] = e.globalTokens;
    o["softcap"] = e.softcap;
    o["return_lse"] = e.returnLse != 0;
    o["return_entropy"] = e.returnEntropy != 0;
    o["page_size"] = e.pageSize;
    o["alibi"] = e.alibi != 0;
    o["sinks"] = e.sinks != 0;
  } else {
    o["feature_map"] = maps[std::clamp(e.featureMap, 0, 2)];
    o["normalize"] = e.normalize != 0;
  }
  o["block_q"] = e.blockQ;
  o["block_k"] = e.blockK;
  o["decode_max_rows"] = e.decodeMaxRows;
  o["split_keys"] = code ? code->split_keys : 0;
  o[device ? "subgroup_size" : "vector_width"] = code ? int64_t(code->vector_width) : 0;
  o["config_source"] = !code || code->config_source > 2 ? "?" : sources[code->config_source];
  o[device ? "image_bytes" : "shared_object_bytes"] = static_cast<int64_t>(e.payloadSize);
  return o;
}

int inspect(const char *path, bool json) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer) {
    llvm::errs() << "attnc: error: cannot read " << path << ": " << buffer.getError().message()
                 << "\n";
    return kUserError;
  }
  ::attn::bundle::BundleView view;
  std::string message;
  llvm::StringRef bytes = (*buffer)->getBuffer();
  if (::attn::bundle::parseBundle(bytes.data(), bytes.size(), ATTN_VERSION_MAJOR,
                                  ATTN_VERSION_MINOR, view,
                                  message) != ::attn::bundle::ParseError::None) {
    llvm::errs() << "attnc: error: " << path << ": " << message << "\n";
    return kUserError;
  }
  const auto &h = view.header;
  for (auto [i, e] : llvm::enumerate(view.entries)) {
    std::string defect = manifestMismatch(
        h, e,
        llvm::StringRef(reinterpret_cast<const char *>(view.bytes) + e.payloadOffset,
                        e.payloadSize));
    if (!defect.empty()) {
      llvm::errs() << "attnc: error: " << path << ": kernel [" << i << "]: " << defect << "\n";
      return kUserError;
    }
  }
  auto codeOf = [&](const ::attn::bundle::BundleEntry &e) {
    return payloadManifest(
        e, llvm::StringRef(reinterpret_cast<const char *>(view.bytes) + e.payloadOffset,
                           e.payloadSize));
  };
  if (json) {
    llvm::json::Array kernels;
    for (auto [i, e] : llvm::enumerate(view.entries))
      kernels.push_back(entryJson(i, e, codeOf(e)));
    llvm::json::Object bundle{{"path", path},
                              {"format", static_cast<int64_t>(h.formatVersion)},
                              {"attnc", std::to_string(h.attncMajor) + "." +
                                            std::to_string(h.attncMinor) + "." +
                                            std::to_string(h.attncPatch)},
                              {"bytes", static_cast<int64_t>(h.totalSize)},
                              {"checksum_ok", true},
                              {"manifests_match", true},
                              {"kernels", std::move(kernels)}};
    llvm::outs() << llvm::formatv("{0:2}", llvm::json::Value(std::move(bundle))) << "\n";
    return 0;
  }
  llvm::outs() << "kernel bundle " << path << ": format " << h.formatVersion << ", attnc "
               << h.attncMajor << "." << h.attncMinor << "." << h.attncPatch << ", " << h.totalSize
               << " bytes, checksum ok, " << h.entryCount << " kernel(s), manifests match\n";
  const char *dtypes[] = {"f32", "f16", "bf16"};
  const char *maps[] = {"elu_plus_one", "relu", "identity"};
  for (auto [i, e] : llvm::enumerate(view.entries)) {
    llvm::outs() << "  [" << i << "] target " << e.target << " (" << e.cpuLevel << "), "
                 << (e.variant == ATTN_VARIANT_SOFTMAX ? "softmax" : "linear") << " "
                 << dtypes[std::clamp(e.dtype, 0, 2)] << ", heads " << e.headsQ << "/" << e.headsKv
                 << ", D " << e.headDim << ", Dv " << e.headDimV << ", scale " << e.scale;
    if (e.variant == ATTN_VARIANT_SOFTMAX) {
      llvm::outs() << (e.causal ? ", causal" : "") << ", window [" << e.windowLeft << ", "
                   << e.windowRight << "], global tokens " << e.globalTokens << ", softcap "
                   << e.softcap << (e.returnLse ? ", lse" : "")
                   << (e.returnEntropy ? ", entropy" : "");
      if (e.pageSize)
        llvm::outs() << ", paged KV cache (pages of " << e.pageSize << " keys)";
      llvm::outs() << (e.alibi ? ", ALiBi slopes" : "") << (e.sinks ? ", sink logits" : "");
    } else {
      llvm::outs() << ", feature map " << maps[std::clamp(e.featureMap, 0, 2)]
                   << (e.causal ? ", causal" : "") << (e.normalize ? ", normalized" : "");
    }
    std::optional<attn_kernel_manifest> code = codeOf(e);
    llvm::outs() << "; tiles block_q " << e.blockQ << ", block_k " << e.blockK << ", decode_rows "
                 << e.decodeMaxRows << ", split_keys " << (code ? code->split_keys : 0)
                 << (llvm::StringRef(e.target) != "cpu" ? ", subgroup_size " : ", vector_width ")
                 << (code ? code->vector_width : 0)
                 << (llvm::StringRef(e.target) != "cpu" ? "; kernel image " : "; shared object ")
                 << e.payloadSize << " bytes; config "
                 << (!code || code->config_source > 2
                         ? "?"
                         : std::array<const char *, 3>{"heuristic", "tuned",
                                                       "given"}[code->config_source])
                 << "\n";
  }
  return 0;
}

} // namespace

/// An argument LLVM's parser would take for -h (help, exit 0) although no option has its name:
/// cl groups single-letter options, so "--hedd-dim=64" would print the help and succeed.
std::optional<std::string> unknownHelpLikeOption(int argc, char **argv) {
  llvm::StringMap<cl::Option *> &options = cl::getRegisteredOptions();
  for (int i = 1; i < argc; ++i) {
    llvm::StringRef arg(argv[i]);
    if (arg == "--")
      break;
    llvm::StringRef name = arg.ltrim('-').split('=').first;
    if (arg.starts_with("-") && name.starts_with("h") && !options.count(name))
      return arg.str();
  }
  return std::nullopt;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  std::vector<char *> args(argv, argv + argc);
  if (argc >= 2 && llvm::StringRef(argv[1]) == "tune") {
    if (std::optional<int> status = attnc::tuneSubcommand(argc - 2, argv + 2))
      return *status;
    tuneMode = true; // a sweep: attnc's own options, without the word "tune"
    args.erase(args.begin() + 1);
  }
  argc = static_cast<int>(args.size());
  argv = args.data();
  if (argc >= 2 && llvm::StringRef(argv[1]) == "inspect") {
    bool json = argc == 4 && llvm::StringRef(argv[2]) == "--json";
    if (argc != 3 + json || llvm::StringRef(argv[argc - 1]).starts_with("-")) {
      llvm::errs() << "usage: attnc inspect [--json] FILE\n";
      return kUserError;
    }
    return inspect(argv[argc - 1], json);
  }
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  registerAsmPrinterCLOptions();
  cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << "attnc " ATTN_VERSION_STRING " (LLVM " LLVM_VERSION_STRING ")\n";
  });
  // --help lists attnc's options (LLVM's own are hundreds); MLIR's pass manager and printing
  // options (--mlir-print-ir-after-all, ...) still work, as the overview says.
  cl::HideUnrelatedOptions({&problemCategory, &outputCategory, &attnc::tuneCategory()});
  if (std::optional<std::string> unknown = unknownHelpLikeOption(argc, argv)) {
    llvm::errs() << "attnc: error: unknown option '" << *unknown << "' (see --help)\n";
    return kUserError;
  }
  cl::ParseCommandLineOptions(
      argc, argv,
      "attnc: ahead-of-time compiler for attention kernels\n\n"
      "  attnc inspect [--json] FILE\n"
      "                       verifies a kernel bundle and lists its kernels (--json: as JSON)\n"
      "  attnc tune [problem options | problems.mlir | --preset=NAME] --db PATH\n"
      "                       measures the legal configurations, keeps them in the database\n"
      "  attnc tune merge A.db B.db -o ALL.db | tune show [--db P] [--all] | tune export --json\n"
      "  MLIR's --mlir-print-ir-after-all, --mlir-timing, ... also apply\n");
  MLIRContext ctx(cpuCompilerRegistry());
  ctx.loadAllAvailableDialects();
  return run(ctx);
}
