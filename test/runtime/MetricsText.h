//===- MetricsText.h - reading samples out of Prometheus text -----*- C++ -*-===//
#ifndef ATTN_TEST_RUNTIME_METRICSTEXT_H
#define ATTN_TEST_RUNTIME_METRICSTEXT_H

#include <cmath>
#include <cstdlib>
#include <sstream>
#include <string>

namespace attn::rttest {

/// The value of the sample whose name and labels are exactly `series` ("name{a=\"x\"}"); NaN
/// when the text has no such sample.
inline double sample(const std::string &text, const std::string &series) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line))
    if (line.compare(0, series.size() + 1, series + " ") == 0)
      return std::strtod(line.c_str() + series.size() + 1, nullptr);
  return std::nan("");
}

} // namespace attn::rttest

#endif // ATTN_TEST_RUNTIME_METRICSTEXT_H
