//===- ConformanceHarness.h - run a problem through the C API and judge it -*- C++ -*-===//
//
// One conformance case: a problem descriptor, shapes, optional per-batch lengths and strides.
// run() draws fresh random inputs, rounds them to the dtype, poisons the outputs, launches the
// kernel through the public C API, and compares with the float64 oracle on the rounded inputs
// (SPEC §4): relative Frobenius error within the dtype's tolerance, no NaN/Inf, LSE and entropy
// within tolerance (-inf exactly where the oracle has -inf), and rows past a batch's query length
// left exactly as they were. Packed cases run the same sequences from packed copies of the inputs
// and unpack the outputs before judging them.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_TEST_INTEGRATION_CONFORMANCEHARNESS_H
#define ATTN_TEST_INTEGRATION_CONFORMANCEHARNESS_H

#include "attn/attn_runtime.h"

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace attn::conformance {

struct Case {
  std::string name;
  attn_problem problem;
  int64_t batch = 2, seqQ = 16, seqKv = 16;
  std::vector<int32_t> seqlensQ, seqlensKv; // empty = full lengths
  double logitScale = 1.0;                  // q is multiplied by this (SPEC §4: logits x100)
  bool bhsd = false;                        // Q/K/V/O stored [B, H, S, D] and passed by strides
  int timedLaunches = 0;                    // > 0: also time this many launches (best kept)
  // Packed (ragged) batches (SPEC §2): the same sequences passed without padding, with
  // cu_seqlens_q (Q, O, LSE, ENTROPY) and/or cu_seqlens_kv (K, V). Spare rows after the last
  // sequence are poison: read ones fail the comparison, written ones fail the case.
  bool packedQ = false, packedKv = false;
  double launchScale = 0; // > 0: attn_launch_args.scale (the oracle takes it instead)
};

/// gtest prints a case by its name.
inline void PrintTo(const Case &c, std::ostream *os) { *os << c.name; }

/// A problem with the descriptor defaults and the given dtype/heads/dims.
attn_problem softmaxProblem(attn_dtype dtype, int64_t headsQ, int64_t headsKv, int64_t headDim,
                            int64_t headDimV);
attn_problem linearProblem(attn_dtype dtype, int64_t headsQ, int64_t headsKv, int64_t headDim,
                           int64_t headDimV);

/// The SPEC §4 tolerance for a dtype.
double tolerance(attn_dtype dtype);

struct Outcome {
  bool ok = false;
  std::string message;      // what failed, with the measured error
  double error = 0;         // relative Frobenius error of O
  double seconds = 0;       // best of the timed launches (Case::timedLaunches)
  uint32_t cpuFeatures = 0; // the kernel's ATTN_CPU_FEATURE_* bits (attn_kernel_get_config)
};

/// Runs `c` on `context` with inputs drawn from `seed`.
Outcome run(attn_context *context, const Case &c, uint64_t seed);

} // namespace attn::conformance

#endif // ATTN_TEST_INTEGRATION_CONFORMANCEHARNESS_H
