//===- ObjectLoader.cpp - load kernel object code into the process --------===//

#include "attn/JIT/ObjectLoader.h"
#include "attn/JIT/CPUCompiler.h"

#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/Support/MemoryBuffer.h"

using namespace mlir::attn;

llvm::Expected<std::unique_ptr<LoadedObject>>
LoadedObject::load(const std::vector<std::string> &objects) {
  initializeNativeTarget();
  auto jit = llvm::orc::LLJITBuilder().create();
  if (!jit)
    return jit.takeError();
  // Kernels call malloc/free for their scratch tiles: resolve them from the process.
  auto generator = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
      (*jit)->getDataLayout().getGlobalPrefix());
  if (!generator)
    return generator.takeError();
  (*jit)->getMainJITDylib().addGenerator(std::move(*generator));
  for (const std::string &object : objects)
    if (llvm::Error err =
            (*jit)->addObjectFile(llvm::MemoryBuffer::getMemBufferCopy(object, "attn-kernel.o")))
      return std::move(err);
  auto loaded = std::make_unique<LoadedObject>();
  loaded->jit = std::move(*jit);
  return loaded;
}

void *LoadedObject::lookup(llvm::StringRef name) {
  auto address = jit->lookup(name);
  if (!address) {
    llvm::consumeError(address.takeError());
    return nullptr;
  }
  return address->toPtr<void *>();
}
