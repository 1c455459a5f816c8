//===- Tune.h - attnc tune: the autotuner's driver -------------*- C++ -*-===//
#ifndef ATTNC_TUNE_H
#define ATTNC_TUNE_H

#include "attn/Target/TargetInfo.h"
#include "attn/attn_runtime.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/CommandLine.h"

#include <optional>
#include <string>
#include <vector>

namespace attnc {

/// The problems of a named preset (nullopt: unknown name; `names` lists the known ones).
std::optional<std::vector<attn_problem>> presetProblems(const std::string &name,
                                                        std::string &names);

/// attnc tune: measures the search space of every problem at every tuning shape on this
/// machine and writes the measurements to the tuning database: CPU kernels for `cpu` (the host
/// or a level it runs) when `device` is ATTN_TARGET_CPU, else the kernels of the Vulkan device
/// or CUDA GPU the runtime opens. Returns the exit status.
int tune(llvm::SmallVectorImpl<mlir::OwningOpRef<mlir::ModuleOp>> &problems,
         const mlir::attn::CPUTargetInfo &cpu, attn_target device);

/// attnc tune merge|show|export ...: argv after "tune". Returns the exit status, or nullopt when
/// argv names no such subcommand (a sweep).
std::optional<int> tuneSubcommand(int argc, char **argv);

/// attnc tune's option category (for --help) and its --preset.
llvm::cl::OptionCategory &tuneCategory();
std::string presetName();

/// The --db path of a sweep or bundle: the option, else $ATTN_TUNING_DB, else "".
std::string tuningDbPath();
/// The threads a tuned entry is looked up for when building bundles (--tune-threads, else this
/// host's).
int tuningThreads();

} // namespace attnc

#endif // ATTNC_TUNE_H
