//===- attnc.cpp - the attnc ahead-of-time compiler driver ----------------===//
//
// Compiles attention problems for a target and emits one stage of the result:
//   attnc problems.mlir --emit=asm                 every problem function of a file
//   attnc --heads-q=32 --heads-kv=8 --head-dim=128 --dtype=bf16 --causal --emit=obj -o k.o
// Stages: mlir (the LLVM dialect after attn-lower-to-cpu), llvm (optimized LLVM IR), asm, obj.
// --mlir-print-ir-after-all and the other MLIR pass manager options show every stage before.
// Exit status: 0 success, 1 a user error (bad option, invalid or unsupported problem, unreadable
// input, unwritable output), 2 an internal error (a valid problem the compiler failed on).
//
//===----------------------------------------------------------------------===//

#include "attn/JIT/CPUCompiler.h"
#include "attn/attn_version.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>

using namespace mlir;
using namespace mlir::attn;
namespace cl = llvm::cl;

namespace {

enum class Emit { MLIR, LLVM, Asm, Obj };

cl::OptionCategory problemCategory("Problem on the command line (when no input file is given)");
cl::OptionCategory outputCategory("Output");

cl::opt<std::string> inputFile(cl::Positional, cl::desc("[problems.mlir]"), cl::init(""));
cl::opt<std::string> outputFile("o", cl::desc("Output file ('-' for stdout)"), cl::init("-"),
                                cl::value_desc("file"), cl::cat(outputCategory));
cl::opt<Emit> emit("emit", cl::desc("What to emit"), cl::init(Emit::Asm), cl::cat(outputCategory),
                   cl::values(clEnumValN(Emit::MLIR, "mlir", "the LLVM dialect after lowering"),
                              clEnumValN(Emit::LLVM, "llvm", "optimized LLVM IR"),
                              clEnumValN(Emit::Asm, "asm", "assembly for the target"),
                              clEnumValN(Emit::Obj, "obj", "a relocatable object file")));
cl::opt<std::string> target("target", cl::desc("Target: cpu (the host)"), cl::init("cpu"),
                            cl::cat(outputCategory));
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
cl::opt<int64_t> globalTokens("global-tokens", cl::desc("global tokens / attention sinks"),
                              cl::init(0), cl::cat(problemCategory));
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
  p.global_tokens = globalTokens;
  p.softcap = softcap;
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

/// Compiles one problem module to the requested stage, appending it to `output`.
std::optional<Failure> compile(ModuleOp module, std::string &output) {
  std::string error;
  if (vectorWidth) {
    if (vectorWidth != 4 && vectorWidth != 8 && vectorWidth != 16)
      return userError("--vector-width must be 4, 8 or 16");
    module.walk([&](Operation *op) {
      if (isa<AttentionOp, LinearAttentionOp, MergeOp>(op))
        setCPUConfig(op, chooseCPUConfig(op, vectorWidth));
    });
  }
  CPUKernelConfig config;
  if (failed(prepareProblemModule(module, config, error)))
    return userError(error);
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
  std::unique_ptr<llvm::Module> llvmModule = translateForHost(module, llvmContext, error);
  if (!llvmModule || failed(optimizeForHost(*llvmModule, error)))
    return Failure{kInternalError, error};
  if (emit == Emit::LLVM) {
    llvm::raw_string_ostream os(output);
    llvmModule->print(os, nullptr);
    return std::nullopt;
  }
  FailureOr<std::string> code = emitForHost(*llvmModule,
                                            emit == Emit::Obj ? llvm::CodeGenFileType::ObjectFile
                                                              : llvm::CodeGenFileType::AssemblyFile,
                                            error);
  if (failed(code))
    return Failure{kInternalError, error};
  output += *code;
  return std::nullopt;
}

int run(MLIRContext &ctx) {
  auto fail = [](const Failure &failure) {
    llvm::errs() << "attnc: error: " << failure.message << "\n";
    return failure.status;
  };
  if (target != "cpu")
    return fail({kUserError, "target '" + target + "' is not supported by this attnc (cpu)"});

  SmallVector<OwningOpRef<ModuleOp>> problems;
  if (!inputFile.empty()) {
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
  if (emit == Emit::Obj && problems.size() != 1)
    return fail({kUserError, "--emit=obj takes one problem; the input holds " +
                                 std::to_string(problems.size())});

  std::string output;
  for (auto [i, problem] : llvm::enumerate(problems)) {
    if (problems.size() > 1) {
      auto fn = *problem->getOps<func::FuncOp>().begin();
      llvm::errs() << "[" << i + 1 << "/" << problems.size() << "] compiling @" << fn.getName()
                   << "\n";
      if (emit != Emit::Obj)
        output += (emit == Emit::Asm    ? "# "
                   : emit == Emit::LLVM ? "; "
                                        : "// ") +
                  std::string("problem @") + fn.getName().str() + "\n";
    }
    if (auto failure = compile(*problem, output))
      return fail(*failure);
  }

  std::string fileError;
  auto out = openOutputFile(outputFile, &fileError);
  if (!out)
    return fail({kUserError, fileError});
  out->os() << output;
  out->keep();
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  registerAsmPrinterCLOptions();
  cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << "attnc " ATTN_VERSION_STRING " (LLVM " LLVM_VERSION_STRING ")\n";
  });
  cl::ParseCommandLineOptions(argc, argv, "attnc: ahead-of-time compiler for attention kernels\n");
  MLIRContext ctx(cpuCompilerRegistry());
  ctx.loadAllAvailableDialects();
  return run(ctx);
}
