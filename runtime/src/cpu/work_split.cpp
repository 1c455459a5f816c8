//===- work_split.cpp - how a softmax launch is cut into work items -------===//

#include "cpu/work_split.h"

#include <algorithm>

namespace attn::rt {

int64_t softmaxItems(int64_t batch, int64_t headsKv, int64_t seqQ, int64_t blockQ) {
  return batch * headsKv * ((seqQ + blockQ - 1) / blockQ);
}

int64_t chooseNumSplits(int64_t items, int32_t threads, int64_t seqKv, bool wantsEntropy) {
  const int64_t wanted = 2 * static_cast<int64_t>(threads); // two items per thread balances
  if (wantsEntropy || threads <= 1 || items >= wanted || seqKv < 2 * kMinKeysPerSplit)
    return 1;
  int64_t splits = (wanted + items - 1) / items;
  return std::clamp<int64_t>(splits, 2, seqKv / kMinKeysPerSplit);
}

} // namespace attn::rt
