// Sentence pairs `source<TAB>target` (contract in data/parallel_text.h).
#include "recurrent/data/parallel_text.h"

#include <algorithm>

#include "recurrent/core/error.h"
#include "recurrent/data/text_file.h"
#include "recurrent/data/utf8.h"

namespace recurrent::data {

ParallelSet parse_parallel(std::string_view content, const std::string& where) {
  ParallelSet set;
  set.source = where;
  int64_t n = 0;
  size_t a = 0;
  while (a < content.size()) {
    size_t b = content.find('\n', a);
    if (b == std::string_view::npos) b = content.size();
    std::string_view l = content.substr(a, b - a);
    a = b + 1;
    ++n;
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (std::all_of(l.begin(), l.end(), [](char c) { return c == ' ' || c == '\t'; })) continue;
    const std::string w = where + ":" + std::to_string(n);
    utf8_decode(l, w);  // strict: names the line (and byte offset) of invalid UTF-8
    const size_t tab = l.find('\t');
    RC_CHECK(tab != std::string_view::npos, w, "expected 'source<TAB>target', found no tab");
    RC_CHECK(l.find('\t', tab + 1) == std::string_view::npos, w,
             "expected 'source<TAB>target' with exactly one tab, found more");
    TextPair p{std::string(l.substr(0, tab)), std::string(l.substr(tab + 1)), n};
    auto empty = [](const std::string& s) { return s.find_first_not_of(' ') == std::string::npos; };
    RC_CHECK(!empty(p.source), w, "expected 'source<TAB>target', the source is empty");
    RC_CHECK(!empty(p.target), w, "expected 'source<TAB>target', the target is empty");
    set.pairs.push_back(std::move(p));
  }
  RC_CHECK(!set.pairs.empty(), where, "no sentence pairs (expected 'source<TAB>target' lines)");
  return set;
}

ParallelSet read_parallel(const std::string& path) { return parse_parallel(read_file(path), path); }

}  // namespace recurrent::data
