//===- TestUtil.h - helpers shared by every conformance test ----*- C++ -*-===//
//
// Half/bf16 conversion (round to nearest even), the SPEC section 4 error
// metric, deterministic random inputs and output poisoning.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_ORACLE_TESTUTIL_H
#define ATTN_ORACLE_TESTUTIL_H

#include <cstddef>
#include <cstdint>
#include <vector>

namespace attn::testutil {

/// IEEE binary16, round to nearest even; subnormals, inf and NaN preserved.
uint16_t floatToHalf(float value);
float halfToFloat(uint16_t bits);

/// bfloat16, round to nearest even; NaN stays NaN (quiet).
uint16_t floatToBf16(float value);
float bf16ToFloat(uint16_t bits);

/// ||out - ref||_2 / ||ref||_2. +inf if any out or ref value is NaN/Inf, or
/// if ref is all zeros while out is not (0 when both are zero).
double relativeFrobeniusError(const double *out, const double *ref, size_t n);
double relativeFrobeniusError(const float *out, const double *ref, size_t n);

/// Uniform values in [lo, hi) from std::mt19937_64(seed). The bits-to-double
/// conversion is written out so the values are identical on every standard
/// library. Requires lo < hi; the result is never all zeros.
void fillRandom(std::vector<double> &values, uint64_t seed, double lo = -1.0, double hi = 1.0);

/// 0x7FFF is a NaN both as binary16 and as bfloat16, so one pattern poisons
/// 16-bit outputs of either type.
constexpr uint16_t kPoison16 = 0x7FFF;

/// Fill an output with NaN before a kernel runs so unwritten elements fail.
void poison(float *data, size_t n);
void poison(double *data, size_t n);
void poison(uint16_t *data, size_t n);

} // namespace attn::testutil

#endif // ATTN_ORACLE_TESTUTIL_H
