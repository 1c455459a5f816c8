//===- DialectFuzzer.cpp - attn-fuzz-dialect ------------------------------===//
//
// Mutated modules through what attn-opt and the JIT run: the parser (with the dialects attnc
// registers), the verifier, and for a module that verifies, attn-lower-to-cpu to the LLVM dialect.
// Any diagnostic is a fine outcome; a crash, an assertion or a sanitizer report is not. Inputs
// past 4 KiB are skipped: size alone finds nothing in a parser but slowness.
//
//===----------------------------------------------------------------------===//

#include "AsanOptions.h"
#include "attn/JIT/CPUCompiler.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

using namespace mlir;

namespace {
constexpr size_t kMaxInputBytes = 4096;
MLIRContext *gContext;
} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  // One context for the whole run: creating one per input would dominate the time.
  gContext = new MLIRContext(attn::cpuCompilerRegistry(), MLIRContext::Threading::DISABLED);
  gContext->loadAllAvailableDialects();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > kMaxInputBytes)
    return -1;
  ScopedDiagnosticHandler quiet(gContext, [](Diagnostic &) { return success(); });
  // MLIR's lexer reads the byte past the end of its buffer (it expects a NUL there, as every
  // MemoryBuffer has): parse a copy, not libFuzzer's exactly sized input.
  const std::string text(reinterpret_cast<const char *>(data), size);
  // Parsing verifies the module (ParserConfig's default).
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, ParserConfig(gContext));
  if (!module)
    return 0;
  std::string error;
  (void)attn::lowerToLLVMDialect(*module, error);
  return 0;
}
