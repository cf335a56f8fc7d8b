// explore/patterns.h — patterns of a text that a unit may follow, and the units that follow them best.
//
// A pattern is one number per character, the value a unit tracking it would hold after reading that
// character (Karpathy, Johnson & Fei-Fei 2015, section 4.1; LSTMVis's selections, Strobelt et al. 2017):
//   quotes     1 inside a quotation (“ opens, ” closes; a straight " toggles), 0 outside
//   line       the position in the line: characters since the last '\n' (0 right after it)
//   brackets   1 inside ( ), [ ] or { } (nesting counted), 0 outside
//   spans      1 inside the spans [begin, end) the user marked, 0 elsewhere
// Units are ranked by |Pearson correlation| between their row of activations and the pattern.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "explore/activations.h"

namespace recurrent::explore {

// Error("pattern", ...) for an unknown name.
std::vector<float> builtin_pattern(const std::string& name, const std::vector<std::string>& chars);
std::vector<float> spans_pattern(const std::vector<std::pair<int64_t, int64_t>>& spans, size_t n);
double pearson(const float* x, int64_t stride, const std::vector<float>& y);  // 0 when either is constant

struct UnitScore {
  size_t layer = 0;
  int64_t index = 0;
  std::string kind;
  double r = 0.0;
};
// The `top` units of `kinds` (all kinds when empty) with the largest |r|, best first.
std::vector<UnitScore> rank_units(const Activations& a, const std::vector<float>& pattern,
                                  const std::vector<std::string>& kinds, size_t top);

}  // namespace recurrent::explore
