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
/// The `<key = value, ...>` form of the tile configurations: every key known, none twice, the
/// required ones (default 0) present, defaults not printed (one spelling per configuration).
struct ConfigKey {
  StringRef name;
  bool required;
  int64_t defaultValue; // of an optional key
};
constexpr ConfigKey kCPUConfigKeys[] = {{"block_q", true, 0},       {"block_k", true, 0},
                                        {"vector_width", true, 0},  {"decode_rows", false, 64},
                                        {"split_keys", false, 256}, {"amx", false, 0},
                                        {"dpbf16", false, 0}};
constexpr ConfigKey kVulkanConfigKeys[] = {{"subgroup_size", true, 0}, {"teams", true, 0},
                                           {"block_k", true, 0},       {"split_keys", false, 512},
                                           {"chunk", false, 16},       {"coopmat", false, 0}};
constexpr ConfigKey kCUDAConfigKeys[] = {{"warps", true, 0},         {"block_n", true, 0},
                                         {"stages", false, 2},       {"mma", false, 1},
                                         {"split_keys", false, 512}, {"chunk", false, 16}};

LogicalResult parseConfig(AsmParser &parser, StringRef mnemonic, ArrayRef<ConfigKey> keys,
                          MutableArrayRef<int64_t> values) {
  SmallVector<bool> seen(keys.size(), false);
  std::string names;
  for (const ConfigKey &key : keys)
    names += (names.empty() ? "" : ", ") + key.name.str();
  if (parser.parseLess())
    return failure();
  do {
    SMLoc loc = parser.getCurrentLocation();
    StringRef key;
    if (parser.parseKeyword(&key))
      return failure();
    auto *known = llvm::find_if(keys, [&](const ConfigKey &k) { return k.name == key; });
    if (known == keys.end())
      return parser.emitError(loc)
             << "unknown #attn." << mnemonic << " parameter '" << key << "' (" << names << ")";
    size_t index = known - keys.begin();
    if (seen[index])
      return parser.emitError(loc)
             << "#attn." << mnemonic << " parameter '" << key << "' is given twice";
    seen[index] = true;
    if (parser.parseEqual() || parser.parseInteger(values[index]))
      return failure();
  } while (succeeded(parser.parseOptionalComma()));
  if (parser.parseGreater())
    return failure();
  for (auto [index, key] : llvm::enumerate(keys)) {
    if (seen[index])
      continue;
    if (key.required)
      return parser.emitError(parser.getCurrentLocation())
             << "#attn." << mnemonic << " needs '" << key.name << "'";
    values[index] = key.defaultValue;
  }
  return success();
}

void printConfig(AsmPrinter &printer, ArrayRef<ConfigKey> keys, ArrayRef<int64_t> values) {
  printer << "<";
  const char *separator = "";
  for (auto [index, key] : llvm::enumerate(keys)) {
    if (!key.required && values[index] == key.defaultValue)
      continue;
    printer << separator << key.name << " = " << values[index];
    separator = ", ";
  }
  printer << ">";
}
} // namespace

Attribute CPUConfigAttr::parse(AsmParser &parser, Type) {
  int64_t values[std::size(kCPUConfigKeys)] = {};
  if (failed(parseConfig(parser, "cpu_config", kCPUConfigKeys, values)))
    return {};
  return getChecked([&] { return parser.emitError(parser.getNameLoc()); }, parser.getContext(),
                    values[0], values[1], values[2], values[3], values[4], values[5], values[6]);
}

void CPUConfigAttr::print(AsmPrinter &printer) const {
  printConfig(printer, kCPUConfigKeys,
              {getBlockQ(), getBlockK(), getVectorWidth(), getDecodeRows(), getSplitKeys(),
               getAmx(), getDpbf16()});
}

Attribute VulkanConfigAttr::parse(AsmParser &parser, Type) {
  int64_t values[std::size(kVulkanConfigKeys)] = {};
  if (failed(parseConfig(parser, "vulkan_config", kVulkanConfigKeys, values)))
    return {};
  return getChecked([&] { return parser.emitError(parser.getNameLoc()); }, parser.getContext(),
                    values[0], values[1], values[2], values[3], values[4], values[5]);
}

void VulkanConfigAttr::print(AsmPrinter &printer) const {
  printConfig(
      printer, kVulkanConfigKeys,
      {getSubgroupSize(), getTeams(), getBlockK(), getSplitKeys(), getChunk(), getCoopmat()});
}

LogicalResult VulkanConfigAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                       int64_t subgroupSize, int64_t teams, int64_t blockK,
                                       int64_t splitKeys, int64_t chunk, int64_t coopmat) {
  return verifyVulkanConfigValues(emitError, subgroupSize, teams, blockK, splitKeys, chunk,
                                  coopmat);
}

Attribute CUDAConfigAttr::parse(AsmParser &parser, Type) {
  int64_t values[std::size(kCUDAConfigKeys)] = {};
  if (failed(parseConfig(parser, "cuda_config", kCUDAConfigKeys, values)))
    return {};
  return getChecked([&] { return parser.emitError(parser.getNameLoc()); }, parser.getContext(),
                    values[0], values[1], values[2], values[3], values[4], values[5]);
}

void CUDAConfigAttr::print(AsmPrinter &printer) const {
  printConfig(printer, kCUDAConfigKeys,
              {getWarps(), getBlockN(), getStages(), getMma(), getSplitKeys(), getChunk()});
}

LogicalResult CUDAConfigAttr::verify(function_ref<InFlightDiagnostic()> emitError, int64_t warps,
                                     int64_t blockN, int64_t stages, int64_t mma, int64_t splitKeys,
                                     int64_t chunk) {
  return verifyCUDAConfigValues(emitError, warps, blockN, stages, mma, splitKeys, chunk);
}

LogicalResult CPUConfigAttr::verify(function_ref<InFlightDiagnostic()> emitError, int64_t blockQ,
                                    int64_t blockK, int64_t vectorWidth, int64_t decodeRows,
                                    int64_t splitKeys, int64_t amx, int64_t dpbf16) {
  // Alone, the attribute knows no GQA group: block_q x 1 rows is the bound it can check.
  return verifyCPUConfigValues(emitError, blockQ, blockK, vectorWidth, decodeRows, splitKeys,
                               /*group=*/1, amx, dpbf16);
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
  if (attribute.getName() == kVulkanConfigAttrName) {
    if (!isa<VulkanConfigAttr>(attribute.getValue()))
      return op->emitOpError() << "'" << kVulkanConfigAttrName
                               << "' must be a #attn.vulkan_config, got " << attribute.getValue();
    return success();
  }
  if (attribute.getName() == "attn.dynamic_shared_bytes") {
    // Set by the CUDA kernel generators on the gpu.func of a kernel (Conversion/GPU).
    auto bytes = dyn_cast<IntegerAttr>(attribute.getValue());
    if (!bytes || bytes.getInt() < 0)
      return op->emitOpError() << "'attn.dynamic_shared_bytes' must be a non-negative integer, got "
                               << attribute.getValue();
    return success();
  }
  if (attribute.getName() == kCUDAConfigAttrName) {
    if (!isa<CUDAConfigAttr>(attribute.getValue()))
      return op->emitOpError() << "'" << kCUDAConfigAttrName
                               << "' must be a #attn.cuda_config, got " << attribute.getValue();
    return success();
  }
  if (attribute.getName() == kConfigSourceAttrName) {
    auto source = dyn_cast<StringAttr>(attribute.getValue());
    if (!source || (source.getValue() != "heuristic" && source.getValue() != "tuned"))
      return op->emitOpError() << "'" << kConfigSourceAttrName
                               << "' must be \"heuristic\" or \"tuned\" (absent: given), got "
                               << attribute.getValue();
    if (!op->hasAttr(kCPUConfigAttrName) && !op->hasAttr(kVulkanConfigAttrName) &&
        !op->hasAttr(kCUDAConfigAttrName))
      return op->emitOpError() << "'" << kConfigSourceAttrName
                               << "' says how a configuration was chosen, but the op has none";
    return success();
  }
  return op->emitOpError() << "has an unknown attn dialect attribute '"
                           << attribute.getName().getValue() << "'";
}
