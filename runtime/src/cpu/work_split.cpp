//===- work_split.cpp - how a softmax launch is cut into work items -------===//

#include "cpu/work_split.h"

#include <algorithm>

namespace attn::rt {

namespace {
// For a >= 0, b >= 1; never overflows (a + b - 1 would, for a near INT64_MAX).
int64_t ceilDiv(int64_t a, int64_t b) { return a / b + (a % b != 0); }
} // namespace

int64_t softmaxItems(int64_t batch, int64_t headsKv, int64_t seqQ, int64_t blockQ) {
  return batch * headsKv * ceilDiv(seqQ, blockQ);
}

bool usesDecode(int64_t seqQ, int64_t headsQ, int64_t decodeMaxRows, bool wantsEntropy) {
  int64_t rows;
  if (wantsEntropy || __builtin_mul_overflow(seqQ, headsQ, &rows))
    return false;
  return rows <= decodeMaxRows;
}

int64_t chooseDecodeSplits(int64_t batch, int32_t threads, int64_t seqKv, int64_t splitKeys) {
  if (threads <= 1)
    return 1;
  const int64_t wanted = 2 * static_cast<int64_t>(threads); // two items per thread balances
  const int64_t maxSplits = std::max<int64_t>(1, ceilDiv(seqKv, splitKeys));
  return std::clamp<int64_t>(ceilDiv(wanted, batch), 1, maxSplits);
}

} // namespace attn::rt
