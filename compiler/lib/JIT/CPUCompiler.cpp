//===- CPUCompiler.cpp - problem module -> host object code ---------------===//

#include "attn/JIT/CPUCompiler.h"
#include "attn/Conversion/Passes.h"
#include "attn/Pipelines/Pipelines.h"
#include "attn/Target/TargetInfo.h"
#include "attn/attn_version.h"

#include "mlir/Dialect/AMX/AMXDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVDialect.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/AMX/AMXToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "mlir/Transforms/Passes.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/Bitcode/BitcodeWriter.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Transforms/Utils/Cloning.h"

#include <algorithm>
#include <dlfcn.h>
#include <mutex>
#include <thread>

using namespace mlir;
using namespace mlir::attn;

DialectRegistry mlir::attn::cpuCompilerRegistry() {
  DialectRegistry registry;
  registry.insert<AttnDialect, arith::ArithDialect, cf::ControlFlowDialect, func::FuncDialect,
                  gpu::GPUDialect, spirv::SPIRVDialect, LLVM::LLVMDialect, math::MathDialect,
                  memref::MemRefDialect, scf::SCFDialect, tensor::TensorDialect,
                  vector::VectorDialect, amx::AMXDialect>();
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerAMXDialectTranslation(registry);
  registerCUDATargetInterfaces(registry); // the CUDA pipeline's dialects and NVVM target
  return registry;
}

/// Runs `pm` on `module`, collecting diagnostics into `error` on failure.
LogicalResult mlir::attn::runPasses(PassManager &pm, ModuleOp module, std::string &error) {
  std::string diagnostics;
  ScopedDiagnosticHandler handler(module.getContext(), [&](Diagnostic &diag) {
    llvm::raw_string_ostream(diagnostics) << diag << "\n";
    return success();
  });
  if (succeeded(pm.run(module)))
    return success();
  error = diagnostics.empty() ? "pass pipeline failed" : diagnostics;
  return failure();
}

static std::string hexDigest(ArrayRef<uint8_t> bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t byte : bytes) {
    out.push_back(digits[byte >> 4]);
    out.push_back(digits[byte & 15]);
  }
  return out;
}

/// A fingerprint of the compiler itself: the xxh3 of the binary this code is linked into (the
/// plugin, or a tool). Kernels are a function of the generator's code as much as of the problem,
/// so a rebuilt compiler must not reuse another build's cache entries.
static const std::string &compilerFingerprint() {
  static const std::string fingerprint = [] {
    Dl_info info;
    if (!dladdr(reinterpret_cast<void *>(&compilerFingerprint), &info) || !info.dli_fname)
      return std::string("unknown");
    auto binary = llvm::MemoryBuffer::getFile(info.dli_fname, /*IsText=*/false,
                                              /*RequiresNullTerminator=*/false);
    if (!binary)
      return std::string("unknown");
    return llvm::utohexstr(llvm::xxh3_64bits((*binary)->getBuffer()));
  }();
  return fingerprint;
}

FailureOr<std::string> mlir::attn::prepareProblemModule(ModuleOp module,
                                                        const CPUTargetInfo &target,
                                                        CPUKernelConfig &config,
                                                        std::string &error) {
  PassManager pm(module.getContext());
  pm.addPass(createCanonicalizerPass());
  AttnConfigureCPUOptions configure;
  configure.target = target.targetName();
  pm.addPass(createAttnConfigureCPU(configure));
  if (failed(runPasses(pm, module, error)))
    return failure();
  FailureOr<CPUKernelConfig> prepared = preparedConfig(module);
  if (failed(prepared)) {
    error = "the problem module holds no configured attention op";
    return failure();
  }
  config = *prepared;

  return problemCacheKey(module, target);
}

std::string mlir::attn::problemCacheKey(ModuleOp module, const TargetInfo &target) {
  std::string text;
  llvm::raw_string_ostream os(text);
  module.print(os, OpPrintingFlags().printGenericOpForm().elideLargeElementsAttrs(0));
  os << "\ntarget=" << target.name() << ";" << target.fingerprint()
     << "\nattnc=" ATTN_VERSION_STRING "\nllvm=" LLVM_VERSION_STRING
     << "\ncompiler=" << compilerFingerprint() << "\n";
  llvm::SHA256 sha;
  sha.update(text);
  return hexDigest(sha.final());
}

FailureOr<CPUKernelConfig> mlir::attn::preparedConfig(ModuleOp module) {
  FailureOr<CPUKernelConfig> config = failure();
  module.walk([&](Operation *op) {
    if (isa<AttentionOp, LinearAttentionOp, MergeOp>(op))
      config = getCPUConfig(op);
  });
  return config;
}

void mlir::attn::initializeNativeTarget() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
}

/// A target machine for `target`: its LLVM CPU name and feature string (empty: the name's
/// defaults, as for "x86-64-v4").
static llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
targetMachine(const CPUTargetInfo &target) {
  initializeNativeTarget();
  auto builder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!builder)
    return builder.takeError();
  builder->setCPU(target.cpuName());
  builder->getFeatures() = llvm::SubtargetFeatures(target.featureString());
  builder->setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  builder->setRelocationModel(llvm::Reloc::PIC_);
  builder->setCodeModel(llvm::CodeModel::Small);
  return builder->createTargetMachine();
}

LogicalResult mlir::attn::lowerToLLVMDialect(ModuleOp module, std::string &error,
                                             const std::function<void(PassManager &)> &configure) {
  PassManager pm(module.getContext());
  buildLowerToCPUPipeline(pm, CPUPipelineOptions());
  if (configure)
    configure(pm);
  return runPasses(pm, module, error);
}

std::unique_ptr<llvm::Module> mlir::attn::translateForTarget(ModuleOp module,
                                                             const CPUTargetInfo &target,
                                                             llvm::LLVMContext &context,
                                                             std::string &error) {
  auto tm = targetMachine(target);
  if (!tm) {
    error = "cannot create a target machine: " + llvm::toString(tm.takeError());
    return nullptr;
  }
  std::unique_ptr<llvm::Module> llvmModule = translateModuleToLLVMIR(module, context);
  if (!llvmModule) {
    error = "translation to LLVM IR failed";
    return nullptr;
  }
  llvmModule->setDataLayout((*tm)->createDataLayout());
  llvmModule->setTargetTriple((*tm)->getTargetTriple().getTriple());
  return llvmModule;
}

LogicalResult mlir::attn::optimizeForTarget(llvm::Module &module, const CPUTargetInfo &target,
                                            std::string &error) {
  auto tm = targetMachine(target);
  if (!tm) {
    error = "cannot create a target machine: " + llvm::toString(tm.takeError());
    return failure();
  }
  if (llvm::Error err = makeOptimizingTransformer(3, 0, tm->get())(&module)) {
    error = "LLVM optimization failed: " + llvm::toString(std::move(err));
    return failure();
  }
  return success();
}

FailureOr<std::string> mlir::attn::emitForTarget(llvm::Module &module, const CPUTargetInfo &target,
                                                 llvm::CodeGenFileType type, std::string &error) {
  auto tm = targetMachine(target);
  if (!tm) {
    error = "cannot create a target machine: " + llvm::toString(tm.takeError());
    return failure();
  }
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager codegen;
  if ((*tm)->addPassesToEmitFile(codegen, os, nullptr, type)) {
    error = "the host target cannot emit this kind of file";
    return failure();
  }
  codegen.run(module);
  return std::string(buffer.begin(), buffer.end());
}

/// Optimizes and compiles one partition (given as bitcode, so that each thread has its own
/// LLVMContext) to an object file.
static std::string compilePartition(const std::string &bitcode, const CPUTargetInfo &target,
                                    std::string &error) {
  llvm::LLVMContext context;
  auto parsed =
      llvm::parseBitcodeFile(llvm::MemoryBufferRef(bitcode, "attn-kernel-partition"), context);
  if (!parsed) {
    error = "cannot read a module partition: " + llvm::toString(parsed.takeError());
    return {};
  }
  std::unique_ptr<llvm::Module> module = std::move(*parsed);
  if (failed(optimizeForTarget(*module, target, error)))
    return {};
  FailureOr<std::string> object =
      emitForTarget(*module, target, llvm::CodeGenFileType::ObjectFile, error);
  return succeeded(object) ? *object : std::string();
}

/// Splits `module` into at most `parts` bitcode modules, each defining whole entry points (a
/// kernel and its `_mlir_ciface_` wrapper); definitions elsewhere become declarations.
static std::vector<std::string> partitionModule(llvm::Module &module, unsigned parts) {
  auto group = [](llvm::StringRef name) {
    name.consume_front("_mlir_ciface_");
    return name;
  };
  llvm::StringMap<size_t> groupSize;
  for (llvm::Function &fn : module)
    if (!fn.isDeclaration())
      groupSize[group(fn.getName())] += fn.getInstructionCount();
  std::vector<std::pair<size_t, std::string>> groups;
  for (auto &entry : groupSize)
    groups.emplace_back(entry.getValue(), entry.getKey().str());
  std::sort(groups.rbegin(), groups.rend());
  parts = std::max<unsigned>(1, std::min<unsigned>(parts, groups.size()));
  std::vector<size_t> load(parts, 0);
  llvm::StringMap<unsigned> partOf;
  for (auto &[size, name] : groups) {
    unsigned p = std::min_element(load.begin(), load.end()) - load.begin();
    load[p] += size;
    partOf[name] = p;
  }
  std::vector<std::string> bitcode;
  for (unsigned p = 0; p < parts; ++p) {
    llvm::ValueToValueMapTy map;
    std::unique_ptr<llvm::Module> part =
        llvm::CloneModule(module, map, [&](const llvm::GlobalValue *value) {
          if (auto *fn = llvm::dyn_cast<llvm::Function>(value))
            return partOf.lookup(group(fn->getName())) == p;
          return p == 0; // other globals are defined once, in the first part
        });
    std::string buffer;
    llvm::raw_string_ostream os(buffer);
    llvm::WriteBitcodeToFile(*part, os);
    os.flush();
    bitcode.push_back(std::move(buffer));
  }
  return bitcode;
}

FailureOr<std::vector<std::string>>
mlir::attn::compileToObjects(ModuleOp module, const CPUTargetInfo &target, std::string &error) {
  if (failed(lowerToLLVMDialect(module, error)))
    return failure();
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule = translateForTarget(module, target, llvmContext, error);
  if (!llvmModule)
    return failure();

  // LLVM optimization and code generation are most of a cold compile, and the entry points are
  // independent functions: partition them (each with its C-interface wrapper), biggest first onto
  // the least loaded part, and compile the parts in parallel. The parts link together when loaded.
  std::vector<std::string> bitcode =
      partitionModule(*llvmModule, std::clamp(std::thread::hardware_concurrency(), 1u, 2u));
  std::vector<std::string> objects(bitcode.size()), errors(bitcode.size());
  std::vector<std::thread> workers;
  for (size_t i = 1; i < bitcode.size(); ++i)
    workers.emplace_back([&, i] { objects[i] = compilePartition(bitcode[i], target, errors[i]); });
  if (!bitcode.empty())
    objects[0] = compilePartition(bitcode[0], target, errors[0]);
  for (std::thread &worker : workers)
    worker.join();
  for (const std::string &message : errors) {
    if (!message.empty()) {
      error = message;
      return failure();
    }
  }
  return objects;
}
