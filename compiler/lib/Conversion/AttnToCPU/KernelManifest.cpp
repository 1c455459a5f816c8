//===- KernelManifest.cpp - what generated code says it was built for -----===//

#include "attn/Conversion/AttnToCPU/KernelManifest.h"
#include "attn/Conversion/AttnToCPU/Kernels.h"
#include "attn/attn_runtime.h"
#include "attn/attn_version.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"

#include <cstring>

using namespace mlir;
using namespace mlir::attn;

static int32_t dtypeOf(Type type) {
  return type.isF32() ? ATTN_DTYPE_F32 : type.isF16() ? ATTN_DTYPE_F16 : ATTN_DTYPE_BF16;
}

static int32_t featureMapOf(FeatureMap map) {
  switch (map) {
  case FeatureMap::relu:
    return ATTN_FEATURE_MAP_RELU;
  case FeatureMap::identity:
    return ATTN_FEATURE_MAP_IDENTITY;
  case FeatureMap::elu_plus_one:
    break;
  }
  return ATTN_FEATURE_MAP_ELU_PLUS_ONE;
}

FailureOr<attn_kernel_manifest> mlir::attn::buildKernelManifest(Operation *op,
                                                                const CPUKernelConfig &config) {
  return buildKernelManifest(
      op, ManifestTiles{ATTN_TARGET_CPU, config.vectorWidth, config.blockQ, config.blockK,
                        config.decodeRows, config.splitKeys,
                        (config.amx ? ATTN_KERNEL_MANIFEST_CPU_AMX : 0u) |
                            (config.dpbf16 ? ATTN_KERNEL_MANIFEST_CPU_AVX512BF16 : 0u)});
}

FailureOr<attn_kernel_manifest> mlir::attn::buildKernelManifest(Operation *op,
                                                                const ManifestTiles &config) {
  if (!isa<AttentionOp, LinearAttentionOp>(op))
    return failure();
  attn_kernel_manifest m;
  std::memset(&m, 0, sizeof(m));
  std::memcpy(m.magic, ATTN_KERNEL_MANIFEST_MAGIC, sizeof(m.magic));
  m.manifest_version = ATTN_KERNEL_MANIFEST_VERSION;
  m.manifest_size = sizeof(m);
  m.attnc_major = ATTN_VERSION_MAJOR;
  m.attnc_minor = ATTN_VERSION_MINOR;
  m.attnc_patch = ATTN_VERSION_PATCH;
  m.vector_width = static_cast<uint32_t>(config.vectorWidth);
  m.target = config.target;
  auto source = op->getAttrOfType<StringAttr>(kConfigSourceAttrName);
  m.config_source = !source                        ? ATTN_CONFIG_GIVEN
                    : source.getValue() == "tuned" ? ATTN_CONFIG_TUNED
                                                   : ATTN_CONFIG_HEURISTIC;

  auto q = cast<RankedTensorType>(op->getOperand(0).getType());
  auto k = cast<RankedTensorType>(op->getOperand(1).getType());
  auto v = cast<RankedTensorType>(op->getOperand(2).getType());
  m.dtype = dtypeOf(q.getElementType());
  m.heads_q = q.getDimSize(2);
  m.heads_kv = k.getDimSize(2);
  m.head_dim = q.getDimSize(3);
  m.head_dim_v = v.getDimSize(3);
  m.window_left = m.window_right = -1;
  if (auto attention = dyn_cast<AttentionOp>(op)) {
    m.variant = ATTN_VARIANT_SOFTMAX;
    m.scale = attention.getEffectiveScale();
    m.causal = attention.getCausal();
    if (std::optional<ArrayRef<int64_t>> window = attention.getWindow()) {
      m.window_left = (*window)[0];
      m.window_right = (*window)[1];
    }
    m.global_tokens = attention.getGlobalTokens().value_or(0);
    m.softcap = attention.getSoftcap() ? attention.getSoftcap()->convertToDouble() : 0.0;
    m.return_lse = attention.getReturnLse();
    m.return_entropy = attention.getReturnEntropy();
    m.feature_map = ATTN_FEATURE_MAP_ELU_PLUS_ONE;
    m.normalize = 1;
    m.page_size = attention.getPageSize();
    m.alibi = attention.getAlibiSlopes() != nullptr;
    m.sinks = attention.getSinks() != nullptr;
  } else {
    auto linear = cast<LinearAttentionOp>(op);
    m.variant = ATTN_VARIANT_LINEAR;
    m.scale = linear.getScale() ? linear.getScale()->convertToDouble() : 1.0;
    m.causal = linear.getCausal();
    m.feature_map = featureMapOf(linear.getFeatureMap());
    m.normalize = linear.getNormalize();
  }
  m.block_q = config.blockQ;
  m.block_k = config.blockK;
  m.decode_max_rows = config.decodeRows;
  m.split_keys = config.splitKeys;
  m.cpu_features = config.cpuFeatures;
  return m;
}

void mlir::attn::emitKernelManifest(ModuleOp module, const attn_kernel_manifest &manifest) {
  OpBuilder builder = OpBuilder::atBlockEnd(module.getBody());
  auto type = LLVM::LLVMArrayType::get(builder.getI8Type(), sizeof(manifest));
  builder.create<LLVM::GlobalOp>(
      module.getLoc(), type, /*isConstant=*/true, LLVM::Linkage::External,
      ATTN_KERNEL_MANIFEST_SYMBOL,
      builder.getStringAttr(StringRef(reinterpret_cast<const char *>(&manifest), sizeof(manifest))),
      /*alignment=*/alignof(attn_kernel_manifest));
}
