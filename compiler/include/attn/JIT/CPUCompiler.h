//===- CPUCompiler.h - problem descriptor to CPU object code ---*- C++ -*-===//
//
// The stages the JIT and (later) attnc share: a C problem descriptor becomes a problem module
// (one attn op on tensors), which is canonicalized and configured (its printed form is the
// content key), lowered by attn-lower-to-cpu, translated to LLVM IR, optimized and compiled to a
// relocatable object for the host CPU.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_JIT_CPUCOMPILER_H
#define ATTN_JIT_CPUCOMPILER_H

#include "attn/Conversion/AttnToCPU/Kernels.h"
#include "attn/Target/TargetInfo.h"
#include "attn/attn_runtime.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/CodeGen.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mlir::attn {

/// A registry with every dialect and translation the CPU compiler needs.
DialectRegistry cpuCompilerRegistry();

/// The problem module for a validated descriptor: `func.func @attn` whose body is one
/// attn.attention / attn.linear_attention with dynamic batch and sequence lengths.
FailureOr<OwningOpRef<ModuleOp>> buildProblemModule(MLIRContext &ctx, const attn_problem &problem,
                                                    std::string &error);

/// Canonicalizes and configures `module` in place for `target` and returns its content key: a
/// hash of the canonical IR, the target's fingerprint, the attnc and LLVM versions and a
/// fingerprint of the compiler binary itself.
FailureOr<std::string> prepareProblemModule(ModuleOp module, const CPUTargetInfo &target,
                                            CPUKernelConfig &config, std::string &error);

/// The stages after preparation, for tools that stop at one (attnc --emit=...):
/// attn-lower-to-cpu to the LLVM dialect (`configure` may adjust the pass manager, e.g. to print
/// the IR after each pass); translation to LLVM IR for the target; O3; object code or assembly.
LogicalResult lowerToLLVMDialect(ModuleOp module, std::string &error,
                                 const std::function<void(PassManager &)> &configure = {});
std::unique_ptr<llvm::Module> translateForTarget(ModuleOp module, const CPUTargetInfo &target,
                                                 llvm::LLVMContext &context, std::string &error);
LogicalResult optimizeForTarget(llvm::Module &module, const CPUTargetInfo &target,
                                std::string &error);
FailureOr<std::string> emitForTarget(llvm::Module &module, const CPUTargetInfo &target,
                                     llvm::CodeGenFileType type, std::string &error);

/// Lowers a prepared module and compiles it to ELF relocatable objects (PIC) for `target`: the
/// LLVM module is split into parts compiled in parallel; together they define every entry point.
FailureOr<std::vector<std::string>> compileToObjects(ModuleOp module, const CPUTargetInfo &target,
                                                     std::string &error);

/// Registers the host target with LLVM (once per process): needed to compile and to load objects.
void initializeNativeTarget();

/// Reads the configuration a prepared module carries.
FailureOr<CPUKernelConfig> preparedConfig(ModuleOp module);

/// Runs `pm` on `module`, collecting its diagnostics into `error` on failure.
LogicalResult runPasses(PassManager &pm, ModuleOp module, std::string &error);

/// The cache key of a configured problem module for `target` (any backend): the canonical IR,
/// the target's name and fingerprint, the attnc and LLVM versions and the compiler binary.
std::string problemCacheKey(ModuleOp module, const TargetInfo &target);

} // namespace mlir::attn

#endif // ATTN_JIT_CPUCOMPILER_H
