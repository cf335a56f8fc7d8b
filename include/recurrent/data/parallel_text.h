// recurrent/data/parallel_text.h — sentence pairs for encoder-decoder tasks (translation).
//
// Format: one pair per line, `source<TAB>target` (UTF-8, exactly one tab; a trailing '\r' is
// dropped; blank lines are skipped). Every error names the file and line and what was expected:
// no tab, more than one tab, an empty side, invalid UTF-8 (named by line), no pairs at all.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace recurrent::data {

struct TextPair {
  std::string source, target;
  int64_t line = 0;  // 1-based line in the file
};

struct ParallelSet {
  std::string source;  // file name, for messages
  std::vector<TextPair> pairs;
};

// Parse text already in memory; `where` names it in errors. An empty result is an error.
ParallelSet parse_parallel(std::string_view content, const std::string& where);
ParallelSet read_parallel(const std::string& path);

}  // namespace recurrent::data
