//===- CUDACompiler.cpp - problem module -> PTX/cubin kernel image --------===//

#include "attn/JIT/CUDACompiler.h"
#include "attn/Conversion/AttnToCUDA/CUDAKernels.h"
#include "attn/Dialect/Attn/IR/AttnShape.h"
#include "attn/JIT/CPUCompiler.h"
#include "attn/JIT/DeviceImage.h"
#include "attn/Pipelines/Pipelines.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <cstring>

using namespace mlir;
using namespace mlir::attn;

CUDACodegen mlir::attn::cudaCodegenFor(const CUDATargetInfo &target, const std::string &toolkit) {
  CUDACodegen codegen;
  int64_t cc = target.device().computeCapability;
  static const int64_t known[] = {80, 86, 87, 89, 90};
  int64_t chosen = 80;
  bool exact = false;
  for (int64_t k : known)
    if (k <= cc) {
      chosen = k;
      exact = k == cc;
    }
  codegen.chip = "sm_" + std::to_string(chosen) +
                 (exact && cc == 90 && target.device().archSpecific ? "a" : "");
  llvm::SmallString<256> ptxas(toolkit);
  llvm::sys::path::append(ptxas, "bin", "ptxas");
  codegen.cubin = exact && !toolkit.empty() && llvm::sys::fs::can_execute(ptxas);
  codegen.toolkit = toolkit;
  return codegen;
}

FailureOr<CUDATargetInfo> mlir::attn::cudaTargetFrom(const attn_jit_cuda_device &device,
                                                     std::string &error) {
  if (device.compute_capability < 80) {
    error = "the CUDA GPU '" + std::string(device.name ? device.name : "") +
            "' has compute capability " + std::to_string(device.compute_capability / 10) + "." +
            std::to_string(device.compute_capability % 10) +
            "; attnc's CUDA kernels need 8.0 or newer (bf16 mma.sync, cp.async)";
    return failure();
  }
  CUDATargetInfo::Device d;
  d.name = device.name ? device.name : "";
  d.computeCapability = device.compute_capability;
  d.driverVersion = device.driver_version;
  d.maxSharedBytes = device.max_shared_bytes;
  d.multiprocessors = device.multiprocessors;
  return CUDATargetInfo::fromDevice(std::move(d));
}

FailureOr<CUDATargetInfo> mlir::attn::cudaTargetFrom(const attn_device_info &info,
                                                     std::string &error) {
  attn_jit_cuda_device d{};
  d.name = info.name;
  d.compute_capability = info.compute_capability;
  d.driver_version = int32_t(info.driver_version);
  d.max_shared_bytes = info.max_shared_bytes;
  d.multiprocessors = info.multiprocessors;
  return cudaTargetFrom(d, error);
}

namespace {
void pipelineOptions(const CUDATargetInfo &target, const CUDACodegen &codegen,
                     CUDAPipelineOptions &options) {
  options.arch = codegen.chip;
  options.maxSharedBytes = target.device().maxSharedBytes;
  options.format = codegen.cubin ? "bin" : "isa";
  options.toolkit = codegen.toolkit;
}

} // namespace

FailureOr<std::string> mlir::attn::prepareCUDAModule(ModuleOp module, const CUDATargetInfo &target,
                                                     const CUDACodegen &codegen,
                                                     std::string &error) {
  PassManager pm(module.getContext());
  CUDAPipelineOptions options;
  pipelineOptions(target, codegen, options);
  buildConfigureCUDAPipeline(pm, options);
  if (failed(runPasses(pm, module, error)))
    return failure();
  return problemCacheKey(module, target) + ";" + codegen.chip + (codegen.cubin ? ";cubin" : ";ptx");
}

FailureOr<CUDAImage> mlir::attn::describeCUDAModule(ModuleOp module, const CUDACodegen &codegen,
                                                    std::string &error) {
  Operation *op = deviceProblemOp(module);
  std::optional<CUDAConfigAttr> config = op ? getCUDAConfig(op) : std::nullopt;
  if (!config) {
    error = "the problem module holds no configured attention op";
    return failure();
  }
  CUDAImage image;
  ::attn::image::ImageHeader &h = image.header;
  auto q = cast<RankedTensorType>(op->getOperand(0).getType());
  auto k = cast<RankedTensorType>(op->getOperand(1).getType());
  int64_t heads = q.getDimSize(2), headsKv = k.getDimSize(2), group = heads / headsKv;
  h.imageKind = codegen.cubin ? ATTN_IMAGE_CUBIN : ATTN_IMAGE_PTX;
  SimtConfig simt = simtConfig(*config);
  SimtWorkgroupShape shape = SimtWorkgroupShape::get(simt, group);
  bool mma = config->getMma();
  h.layout = mma ? ATTN_GPU_LAYOUT_PACKED_ROWS : ATTN_GPU_LAYOUT_TEAMS;
  h.teams = config->getWarps();
  h.headChunks = mma ? 1 : shape.chunks;
  // Rows per CTA: 16 per warp of the packed (row, head) axis on tensor cores, whose decode kernel
  // serves launches with at most one main CTA's rows per kv head; the SIMT layout as on Vulkan.
  ManifestTiles tiles{ATTN_TARGET_CUDA,
                      ATTN_CUDA_WARP_SIZE,
                      mma ? ATTN_CUDA_ROWS_PER_WARP * config->getWarps() : shape.rows,
                      config->getBlockN(),
                      mma ? ATTN_CUDA_ROWS_PER_WARP * config->getWarps() * headsKv
                          : shape.rows * heads,
                      config->getSplitKeys()};
  if (failed(describeDeviceKernels(op, tiles, config->getChunk(), h, error)))
    return failure();
  return image;
}

LogicalResult mlir::attn::compileCUDAModule(ModuleOp module, const CUDATargetInfo &target,
                                            const CUDACodegen &codegen, CUDAImage &image,
                                            std::string &error) {
  CUDAPipelineOptions options;
  pipelineOptions(target, codegen, options);
  PassManager kernels(module.getContext());
  buildCUDAKernelsPipeline(kernels);
  if (failed(runPasses(kernels, module, error)))
    return failure();
  // Each entry's CTA size and dynamic shared memory, as the generators recorded them.
  ::attn::image::ImageHeader &h = image.header;
  module.walk([&](gpu::GPUFuncOp fn) {
    for (int i = 0; i < ATTN_GPU_ENTRY_COUNT; ++i) {
      if (fn.getName() != ::attn::image::entryName(i))
        continue;
      if (auto threads =
              fn->getAttrOfType<DenseI32ArrayAttr>(NVVM::NVVMDialect::getMaxntidAttrName()))
        h.entryThreads[i] = threads[0];
      if (auto bytes = fn->getAttrOfType<IntegerAttr>(kDynamicSharedBytesAttrName))
        h.entrySharedBytes[i] = int32_t(bytes.getInt());
    }
  });
  PassManager lower(module.getContext());
  buildCUDANVVMPipeline(lower, options);
  buildCUDASerializePipeline(lower, options);
  if (failed(runPasses(lower, module, error)))
    return failure();
  if (!cudaKernelImage(module, image.code, error))
    return failure();
  h.codeSize = image.code.size();
  return success();
}

bool mlir::attn::adoptStoredCUDAImage(const std::string &bytes, CUDAImage &image,
                                      std::string &why) {
  ::attn::image::ImageHeader stored;
  const void *code = nullptr;
  if (!::attn::image::decode(bytes.data(), bytes.size(), stored, code, why))
    return false;
  const ::attn::image::ImageHeader &h = image.header;
  if (std::memcmp(&stored.manifest, &h.manifest, sizeof(stored.manifest)) != 0 ||
      stored.entryMask != h.entryMask || stored.imageKind != h.imageKind ||
      stored.layout != h.layout) {
    why = "a kernel image built for another problem or layout";
    return false;
  }
  image.header = stored;
  image.code.assign(static_cast<const char *>(code), stored.codeSize);
  return true;
}
