//===- ObjectLoader.h - load kernel object code into the process -*- C++ -*-===//
#ifndef ATTN_JIT_OBJECTLOADER_H
#define ATTN_JIT_OBJECTLOADER_H

#include "llvm/ExecutionEngine/Orc/LLJIT.h"

#include <memory>
#include <string>
#include <vector>

namespace mlir::attn {

/// Object files linked into this process (and to each other) by ORC; symbols stay valid while the
/// LoadedObject lives.
class LoadedObject {
public:
  static llvm::Expected<std::unique_ptr<LoadedObject>>
  load(const std::vector<std::string> &objects);
  /// The address of `name`, or null when the object does not define it.
  void *lookup(llvm::StringRef name);

private:
  std::unique_ptr<llvm::orc::LLJIT> jit;
};

} // namespace mlir::attn

#endif // ATTN_JIT_OBJECTLOADER_H
