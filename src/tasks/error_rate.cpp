// Edit distance, WER and CER (contract in include/recurrent/tasks/error_rate.h).
#include "recurrent/tasks/error_rate.h"

#include <algorithm>

#include "recurrent/core/error.h"
#include "recurrent/data/utf8.h"

namespace recurrent::tasks {

double EditCounts::rate() const {
  if (reference == 0) return static_cast<double>(insertions);
  return static_cast<double>(edits()) / static_cast<double>(reference);
}

EditCounts& EditCounts::operator+=(const EditCounts& o) {
  substitutions += o.substitutions;
  deletions += o.deletions;
  insertions += o.insertions;
  reference += o.reference;
  return *this;
}

namespace {

// d[i][j] = distance between r[0, i) and h[0, j):
//   d[i][j] = min(d[i−1][j−1] + [r_i ≠ h_j], d[i−1][j] + 1 (delete r_i), d[i][j−1] + 1 (insert h_j))
// then a walk back from (|r|, |h|) counts the kinds of edit.
template <typename T>
EditCounts levenshtein(const std::vector<T>& r, const std::vector<T>& h) {
  const size_t n = r.size(), m = h.size(), w = m + 1;
  std::vector<int64_t> d((n + 1) * w);
  for (size_t i = 0; i <= n; ++i) d[i * w] = static_cast<int64_t>(i);
  for (size_t j = 0; j <= m; ++j) d[j] = static_cast<int64_t>(j);
  for (size_t i = 1; i <= n; ++i)
    for (size_t j = 1; j <= m; ++j)
      d[i * w + j] = std::min({d[(i - 1) * w + j - 1] + (r[i - 1] == h[j - 1] ? 0 : 1), d[(i - 1) * w + j] + 1,
                               d[i * w + j - 1] + 1});
  EditCounts e;
  e.reference = static_cast<int64_t>(n);
  size_t i = n, j = m;
  while (i > 0 || j > 0) {
    const int64_t here = d[i * w + j];
    if (i > 0 && j > 0 && here == d[(i - 1) * w + j - 1] + (r[i - 1] == h[j - 1] ? 0 : 1)) {
      e.substitutions += r[i - 1] == h[j - 1] ? 0 : 1;
      --i, --j;
    } else if (i > 0 && here == d[(i - 1) * w + j] + 1) {
      ++e.deletions;
      --i;
    } else {
      ++e.insertions;
      --j;
    }
  }
  return e;
}

}  // namespace

EditCounts edit_distance(const std::vector<int64_t>& reference, const std::vector<int64_t>& hypothesis) {
  return levenshtein(reference, hypothesis);
}

EditCounts edit_distance(const std::vector<std::string>& reference, const std::vector<std::string>& hypothesis) {
  return levenshtein(reference, hypothesis);
}

std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> out;
  size_t i = 0;
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (i < text.size()) {
    while (i < text.size() && space(text[i])) ++i;
    const size_t start = i;
    while (i < text.size() && !space(text[i])) ++i;
    if (i > start) out.emplace_back(text.substr(start, i - start));
  }
  return out;
}

EditCounts word_errors(std::string_view reference, std::string_view hypothesis) {
  return levenshtein(split_words(reference), split_words(hypothesis));
}

EditCounts char_errors(std::string_view reference, std::string_view hypothesis) {
  const std::u32string r = data::utf8_decode(reference, "char_errors reference");
  const std::u32string h = data::utf8_decode(hypothesis, "char_errors hypothesis");
  return levenshtein(std::vector<char32_t>(r.begin(), r.end()), std::vector<char32_t>(h.begin(), h.end()));
}

namespace {
template <typename F>
double corpus_rate(const std::vector<std::string>& refs, const std::vector<std::string>& hyps, const char* where,
                   F&& errors) {
  RC_CHECK(refs.size() == hyps.size(), where, "got ", hyps.size(), " hypotheses for ", refs.size(), " references");
  EditCounts total;
  for (size_t i = 0; i < refs.size(); ++i) total += errors(refs[i], hyps[i]);
  return total.rate();
}
}  // namespace

double wer(const std::vector<std::string>& references, const std::vector<std::string>& hypotheses) {
  return corpus_rate(references, hypotheses, "wer", word_errors);
}

double cer(const std::vector<std::string>& references, const std::vector<std::string>& hypotheses) {
  return corpus_rate(references, hypotheses, "cer", char_errors);
}

}  // namespace recurrent::tasks
