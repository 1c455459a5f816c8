//===- TestUtil.cpp - helpers shared by every conformance test ------------===//
#include "attn/Oracle/TestUtil.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>

namespace attn::testutil {
namespace {

uint32_t bitsOf(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

float floatOf(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

/// value >> shift, rounded to nearest with ties to even (1 <= shift <= 31).
uint32_t shiftRightRoundEven(uint32_t value, uint32_t shift) {
  const uint32_t kept = value >> shift;
  const uint32_t rest = value & ((1u << shift) - 1u);
  const uint32_t half = 1u << (shift - 1u);
  if (rest > half || (rest == half && (kept & 1u)))
    return kept + 1u;
  return kept;
}

template <typename T> double relativeError(const T *out, const double *ref, size_t n) {
  const double inf = std::numeric_limits<double>::infinity();
  double diff2 = 0.0, ref2 = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double x = double(out[i]);
    if (!std::isfinite(x) || !std::isfinite(ref[i]))
      return inf;
    diff2 += (x - ref[i]) * (x - ref[i]);
    ref2 += ref[i] * ref[i];
  }
  if (ref2 == 0.0)
    return diff2 == 0.0 ? 0.0 : inf;
  return std::sqrt(diff2 / ref2);
}

} // namespace

uint16_t floatToHalf(float value) {
  const uint32_t bits = bitsOf(value);
  const uint16_t sign = uint16_t((bits >> 16) & 0x8000u);
  const uint32_t abs = bits & 0x7FFFFFFFu;

  if (abs > 0x7F800000u) // NaN: keep the top payload bits, force quiet
    return uint16_t(sign | 0x7E00u | ((abs >> 13) & 0x03FFu));
  if (abs >= 0x477FF000u) // >= 65520 (max half + half an ulp) and inf -> inf
    return uint16_t(sign | 0x7C00u);

  const uint32_t exponent = abs >> 23; // biased float exponent
  const uint32_t mantissa = abs & 0x007FFFFFu;
  if (abs < 0x38800000u) {
    // Below 2^-14: a half subnormal, counted in units of 2^-24.
    // value = (2^23 + mantissa) * 2^(exponent - 150), so shift by 126 - exponent.
    const uint32_t shift = 126u - exponent;
    if (shift > 24u) // below 2^-25: rounds to zero (float subnormals too)
      return sign;
    return uint16_t(sign | shiftRightRoundEven(0x00800000u | mantissa, shift));
  }
  // Normal half. A mantissa carry correctly bumps the exponent; the inf
  // check above guarantees it never reaches 0x7C00.
  const uint32_t halfBits = ((exponent - 112u) << 10) | (mantissa >> 13);
  const uint32_t rest = mantissa & 0x1FFFu;
  const uint32_t rounded =
      (rest > 0x1000u || (rest == 0x1000u && (halfBits & 1u))) ? halfBits + 1u : halfBits;
  return uint16_t(sign | rounded);
}

float halfToFloat(uint16_t bits) {
  const uint32_t sign = uint32_t(bits & 0x8000u) << 16;
  const uint32_t exponent = (bits >> 10) & 0x1Fu;
  const uint32_t mantissa = bits & 0x03FFu;
  if (exponent == 0) { // zero or subnormal: mantissa * 2^-24, exact in float
    const float magnitude = std::ldexp(float(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 31) // inf or NaN
    return floatOf(sign | 0x7F800000u | (mantissa << 13));
  return floatOf(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

uint16_t floatToBf16(float value) {
  const uint32_t bits = bitsOf(value);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) // NaN: truncation could give inf
    return uint16_t((bits >> 16) | 0x0040u);
  // Adding 0x7FFF plus the lowest kept bit rounds to nearest even; overflow
  // of the largest finite values correctly carries into inf.
  return uint16_t((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
}

float bf16ToFloat(uint16_t bits) { return floatOf(uint32_t(bits) << 16); }

double relativeFrobeniusError(const double *out, const double *ref, size_t n) {
  return relativeError(out, ref, n);
}

double relativeFrobeniusError(const float *out, const double *ref, size_t n) {
  return relativeError(out, ref, n);
}

void fillRandom(std::vector<double> &values, uint64_t seed, double lo, double hi) {
  if (!(lo < hi))
    throw std::invalid_argument("attn::testutil::fillRandom: need lo < hi");
  std::mt19937_64 engine(seed);
  for (double &x : values) {
    const double unit = double(engine() >> 11) * 0x1.0p-53; // [0, 1)
    x = lo + (hi - lo) * unit;
  }
  // Zero inputs hide bugs (SPEC section 4); make that impossible, not just unlikely.
  bool allZero = true;
  for (double x : values)
    allZero = allZero && x == 0.0;
  if (allZero && !values.empty())
    values[0] = lo != 0.0 ? lo : hi;
}

void poison(float *data, size_t n) {
  for (size_t i = 0; i < n; ++i)
    data[i] = std::numeric_limits<float>::quiet_NaN();
}

void poison(double *data, size_t n) {
  for (size_t i = 0; i < n; ++i)
    data[i] = std::numeric_limits<double>::quiet_NaN();
}

void poison(uint16_t *data, size_t n) {
  for (size_t i = 0; i < n; ++i)
    data[i] = kPoison16;
}

} // namespace attn::testutil
