//===- Pipelines.h - named attnc pipelines ---------------------*- C++ -*-===//
#ifndef ATTN_PIPELINES_PIPELINES_H
#define ATTN_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::attn {

struct CPUPipelineOptions : public PassPipelineOptions<CPUPipelineOptions> {
  Option<std::string> target{*this, "target",
                             llvm::cl::desc("the CPU: host, x86-64-v3 or x86-64-v4"),
                             llvm::cl::init("host")};
  Option<int64_t> vectorWidth{*this, "vector-width",
                              llvm::cl::desc("f32 lanes per vector (0 = the target's)"),
                              llvm::cl::init(0)};
};

/// attn-lower-to-cpu: canonicalize the problem, configure tiles, generate the kernels and lower
/// them to the LLVM dialect (configuration -> lowering; translation to LLVM IR follows).
void buildLowerToCPUPipeline(OpPassManager &pm, const CPUPipelineOptions &options);

/// Registers every attnc pipeline by name.
void registerAttnPipelines();

} // namespace mlir::attn

#endif // ATTN_PIPELINES_PIPELINES_H
