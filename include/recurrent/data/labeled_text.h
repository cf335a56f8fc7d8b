// recurrent/data/labeled_text.h — labelled sentences for classification (and genre-conditioned text).
//
// Three input formats, chosen by `format` or detected from the content (first non-blank byte):
//   tsv         `label<TAB>text` per line; blank lines are skipped; the label is everything before
//               the FIRST tab (text may contain further tabs, kept as is)
//   jsonl       one JSON object per line: {"text": "...", "label": L}; "class" is accepted for
//               "label"; L is a string or an integer (kept as its decimal text)
//   json_array  one JSON array of such objects (the UCI sentiment fixtures of npm sentiment@5.0.2,
//               whose LAST element is empty {"text": ""} with no class: that one element is
//               skipped, an empty element anywhere else is an error)
// Detection: '[' → json_array, '{' → jsonl, anything else → tsv.
//
// Every error names the file and line (for json_array: the element index) and what was expected.
// Checks a data set must pass before training (check_classes): not empty, at least two classes.
// A label that appears only in a test file is an error (LabelSet::id).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace recurrent::data {

enum class TextFormat { detect, tsv, jsonl, json_array };
TextFormat parse_text_format(const std::string& name);  // "auto"|"tsv"|"jsonl"|"json"; throws on others

struct LabeledText {
  std::string label;
  std::string text;
  int64_t line = 0;  // 1-based line (json_array: 1-based element index)
};

struct LabeledSet {
  std::string source;  // file name, for messages
  std::vector<LabeledText> items;
};

// Parse text already in memory; `where` names the source in errors ("train.tsv").
LabeledSet parse_labeled(std::string_view content, const std::string& where, TextFormat format = TextFormat::detect);
// Read a UTF-8 file (validated) and parse it.
LabeledSet read_labeled(const std::string& path, TextFormat format = TextFormat::detect);

// Throws Error(source, ...) when the set is empty or holds a single class (role: "training data").
void check_classes(const LabeledSet& set, const std::string& role);

// The label vocabulary of a training set: labels sorted (std::string order), ids 0..C-1.
class LabelSet {
 public:
  LabelSet() = default;
  static LabelSet from(const LabeledSet& train);
  static LabelSet from_names(std::vector<std::string> names);  // kept in the given order; no duplicates

  int64_t size() const { return static_cast<int64_t>(names_.size()); }
  const std::vector<std::string>& names() const { return names_; }
  const std::string& name(int64_t id) const;
  bool contains(const std::string& label) const { return index_.count(label) != 0; }
  // Id of a label; an unseen label throws Error(where, "label 'x' does not occur in the training data ...").
  int64_t id(const std::string& label, const std::string& where) const;
  // Ids of every item of a set, errors naming set.source:line.
  std::vector<int64_t> ids(const LabeledSet& set) const;

 private:
  std::vector<std::string> names_;
  std::map<std::string, int64_t> index_;
};

// Concatenate sets (cross-domain training: train on two domains, test on the third).
LabeledSet concat_sets(const std::vector<LabeledSet>& sets, const std::string& name);

// Deterministic split of a set into (first, second) by item position: item i goes to `second` when
// (i mod folds) == fold. folds = 5, fold = 4 is an 80/20 split; all folds give k-fold CV.
std::pair<LabeledSet, LabeledSet> split_folds(const LabeledSet& set, int folds, int fold);

}  // namespace recurrent::data
