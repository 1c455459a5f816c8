//===- GpuKernels.h - kernel generators every GPU target shares -*- C++ -*-===//
//
// The SIMT kernels (a subgroup per query row, its lanes splitting the head dims; the LSE merge;
// the chunked linear-attention scan) are written once in the gpu dialect, on the ops that lower
// both to SPIR-V and to NVVM (../shared/GPU.md). What differs per target sits behind
// GpuKernelTarget: how buffers are typed and a kernel is declared, where the launch parameters
// come from, how shared memory is allocated and how a subgroup reduces.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_CONVERSION_GPU_GPUKERNELS_H
#define ATTN_CONVERSION_GPU_GPUKERNELS_H

#include "attn/Conversion/Common/KernelEmitter.h"
#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/attn_jit_plugin.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

#include <memory>

namespace mlir::attn {

/// Entry point names (the same as the CPU backend's).
constexpr llvm::StringLiteral kGpuMainName = "attn_main";
constexpr llvm::StringLiteral kGpuDecodeName = "attn_decode";
constexpr llvm::StringLiteral kGpuMergeName = "attn_merge";
constexpr llvm::StringLiteral kGpuLinearName = "attn_linear";
/// The gpu.module holding them.
constexpr llvm::StringLiteral kGpuModuleName = "attn_kernels";
/// Bytes of dynamic shared memory a kernel needs (an i64 attribute on the gpu.func, set by
/// targets that allocate it dynamically; read by the compiler for the launch).
constexpr llvm::StringLiteral kDynamicSharedBytesAttrName = "attn.dynamic_shared_bytes";

/// The tiling of the SIMT kernels, from a target's configuration attribute.
struct SimtConfig {
  int64_t subgroupSize, teams, blockK, splitKeys, chunk;
};

/// How a SIMT softmax workgroup is laid out from its configuration and the problem's GQA group:
/// `heads` heads of the group (one chunk of it), `rows` query rows of each; `chunks` workgroups
/// along y cover a group.
struct SimtWorkgroupShape {
  int64_t heads, rows, chunks;
  static SimtWorkgroupShape get(const SimtConfig &config, int64_t group);
};

/// The element type and head dims of an attention op (what tile configurations depend on).
struct ProblemDims {
  Type element;
  int64_t headDim, headDimV;
  static ProblemDims of(Operation *op);
};

/// The element type a tensor of `type` is stored as in a buffer: bf16 as i16.
Type storageType(Type type);

/// A tensor's offset and strides of dims 0..2 (elements), from the launch parameters.
struct TensorAddress {
  Value offset, stride0, stride1, stride2;
  /// The element offset of [i0, i1, i2, 0].
  Value at(KernelEmitter &e, Value i0, Value i1, Value i2) const {
    return e.add(e.add(offset, e.mul(i0, stride0)), e.add(e.mul(i1, stride1), e.mul(i2, stride2)));
  }
};

/// The micro-operations behind the shared generators. The target-independent ones are written
/// here; a target implements the rest.
class GpuEmitter {
public:
  explicit GpuEmitter(ImplicitLocOpBuilder &b) : b(b), e(b, /*guardEmptyLoops=*/true) {}
  virtual ~GpuEmitter() = default;

  /// Launch parameter `index` (ATTN_GPU_PARAM_*) as an index.
  virtual Value param(int64_t index) = 0;
  /// f32[count] in workgroup memory.
  virtual Value shared(int64_t count) = 0;
  virtual Value subgroupMax(Value x) = 0;
  virtual Value subgroupSum(Value x) = 0;

  /// Batch b's query (key) length: lens[offset + b] clamped to [0, full] when the launch
  /// parameters say the lengths are given (their flag and offset are launch parameters), else
  /// full. (Lengths are device data the runtime cannot check: clamping keeps accesses in bounds.)
  Value queryLength(Value lens, Value batchIndex, Value full);
  Value keyLength(Value lens, Value batchIndex, Value full);
  TensorAddress tensorAddress(int64_t first);
  /// The launch's scale (ATTN_GPU_PARAM_SCALE: the bits of an f32) as an f32.
  Value launchScale();
  /// buf[i] as f32 (buf holds `type`: f32, f16 or bf16 as i16).
  Value loadF32(Value buf, Value i, Type type);
  /// buf[i] = x rounded to `type` (round to nearest even; NaN stays NaN).
  void storeF32(Value x, Value buf, Value i, Type type);
  void barrier() { b.create<gpu::BarrierOp>(); }
  /// x of lane `src` (an index) to every lane of a subgroup of `lanes`.
  Value broadcastLane(Value x, Value src, int64_t lanes);

protected:
  Value batchLength(int64_t flag, int64_t offset, Value lens, Value batchIndex, Value full);

  ImplicitLocOpBuilder &b;
  KernelEmitter e;
};

/// What a target adds to the shared generators.
class GpuKernelTarget {
public:
  virtual ~GpuKernelTarget() = default;
  /// The type of a 1-D buffer of `element` (a kernel argument).
  virtual MemRefType buffer(Type element) const = 0;
  /// An empty kernel `name` in the module's gpu.module taking `buffers`, then the target's launch
  /// parameters, run by workgroups of `workgroupSize` invocations.
  virtual gpu::GPUFuncOp createKernel(OpBuilder &builder, Location loc, StringRef name,
                                      ArrayRef<Type> buffers, int64_t workgroupSize) const = 0;
  /// The emitter for the body of `fn` (made by createKernel with `numBuffers` buffers).
  virtual std::unique_ptr<GpuEmitter> emitter(ImplicitLocOpBuilder &b, gpu::GPUFuncOp fn,
                                              unsigned numBuffers) const = 0;
};

/// Kernels of an attention op: attn_main, or with `decode` attn_decode (split-KV partials).
void buildSimtSoftmaxKernel(OpBuilder &builder, const GpuKernelTarget &target, AttentionOp op,
                            const SimtConfig &config, bool decode);
/// The merge of attn_decode's partials into `op`'s output type (and LSE).
void buildSimtMergeKernel(OpBuilder &builder, const GpuKernelTarget &target, AttentionOp op,
                          const SimtConfig &config);
/// The kernel of a linear attention op: attn_linear (a chunked scan per head and value columns).
void buildSimtLinearKernel(OpBuilder &builder, const GpuKernelTarget &target, LinearAttentionOp op,
                           const SimtConfig &config);

} // namespace mlir::attn

#endif // ATTN_CONVERSION_GPU_GPUKERNELS_H
