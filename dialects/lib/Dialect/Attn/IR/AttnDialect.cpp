//===- AttnDialect.cpp - the attn dialect ---------------------------------===//

#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/Dialect/Attn/IR/AttnShape.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::attn;

#include "attn/Dialect/Attn/IR/AttnDialect.cpp.inc"
#include "attn/Dialect/Attn/IR/AttnEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "attn/Dialect/Attn/IR/AttnAttrs.cpp.inc"

LogicalResult CPUConfigAttr::verify(function_ref<InFlightDiagnostic()> emitError, int64_t blockQ,
                                    int64_t blockK, int64_t vectorWidth) {
  // Alone, the attribute knows no GQA group: block_q x 1 rows is the bound it can check.
  return verifyCPUConfigValues(emitError, blockQ, blockK, vectorWidth, /*group=*/1);
}

void AttnDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "attn/Dialect/Attn/IR/AttnAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "attn/Dialect/Attn/IR/AttnOps.cpp.inc"
      >();
}

LogicalResult AttnDialect::verifyOperationAttribute(Operation *op, NamedAttribute attribute) {
  if (attribute.getName() == kCPUConfigAttrName)
    return verifyCPUConfig(op, attribute.getValue());
  return op->emitOpError() << "has an unknown attn dialect attribute '"
                           << attribute.getName().getValue() << "'";
}
