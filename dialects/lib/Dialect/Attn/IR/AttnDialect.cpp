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

namespace {
/// The parameters of #attn.cpu_config in their textual order, with their defaults (0: required).
struct CPUConfigKey {
  StringRef name;
  int64_t defaultValue;
};
constexpr CPUConfigKey kCPUConfigKeys[] = {
    {"block_q", 0}, {"block_k", 0}, {"vector_width", 0}, {"decode_rows", 64}, {"split_keys", 256}};
} // namespace

Attribute CPUConfigAttr::parse(AsmParser &parser, Type) {
  int64_t values[std::size(kCPUConfigKeys)] = {};
  bool seen[std::size(kCPUConfigKeys)] = {};
  if (parser.parseLess())
    return {};
  do {
    SMLoc loc = parser.getCurrentLocation();
    StringRef key;
    if (parser.parseKeyword(&key))
      return {};
    auto *known =
        llvm::find_if(kCPUConfigKeys, [&](const CPUConfigKey &k) { return k.name == key; });
    if (known == std::end(kCPUConfigKeys)) {
      parser.emitError(loc) << "unknown #attn.cpu_config parameter '" << key
                            << "' (block_q, block_k, vector_width, decode_rows, split_keys)";
      return {};
    }
    size_t index = known - std::begin(kCPUConfigKeys);
    if (seen[index]) {
      parser.emitError(loc) << "#attn.cpu_config parameter '" << key << "' is given twice";
      return {};
    }
    seen[index] = true;
    if (parser.parseEqual() || parser.parseInteger(values[index]))
      return {};
  } while (succeeded(parser.parseOptionalComma()));
  if (parser.parseGreater())
    return {};
  for (auto [index, key] : llvm::enumerate(kCPUConfigKeys)) {
    if (seen[index])
      continue;
    if (key.defaultValue == 0) {
      parser.emitError(parser.getCurrentLocation())
          << "#attn.cpu_config needs '" << key.name << "'";
      return {};
    }
    values[index] = key.defaultValue;
  }
  return getChecked([&] { return parser.emitError(parser.getNameLoc()); }, parser.getContext(),
                    values[0], values[1], values[2], values[3], values[4]);
}

void CPUConfigAttr::print(AsmPrinter &printer) const {
  int64_t values[] = {getBlockQ(), getBlockK(), getVectorWidth(), getDecodeRows(), getSplitKeys()};
  printer << "<";
  const char *separator = "";
  for (auto [index, key] : llvm::enumerate(kCPUConfigKeys)) {
    if (key.defaultValue != 0 && values[index] == key.defaultValue)
      continue; // one spelling per configuration: defaults are not printed
    printer << separator << key.name << " = " << values[index];
    separator = ", ";
  }
  printer << ">";
}

LogicalResult CPUConfigAttr::verify(function_ref<InFlightDiagnostic()> emitError, int64_t blockQ,
                                    int64_t blockK, int64_t vectorWidth, int64_t decodeRows,
                                    int64_t splitKeys) {
  // Alone, the attribute knows no GQA group: block_q x 1 rows is the bound it can check.
  return verifyCPUConfigValues(emitError, blockQ, blockK, vectorWidth, decodeRows, splitKeys,
                               /*group=*/1);
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
