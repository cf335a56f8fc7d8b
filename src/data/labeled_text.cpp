// Labelled sentences: TSV, JSON lines and JSON arrays (contract in data/labeled_text.h).
#include "recurrent/data/labeled_text.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "recurrent/core/error.h"
#include "recurrent/data/text_file.h"
#include "recurrent/data/utf8.h"
#include "data/at_line.h"

namespace recurrent::data {

namespace {

using nlohmann::json;

using detail::at_line;

// The label of a JSON object: "label" or "class", a string or an integer.
std::string json_label(const json& o, const std::string& where) {
  const json* l = o.contains("label") ? &o.at("label") : o.contains("class") ? &o.at("class") : nullptr;
  RC_CHECK(l != nullptr, where, "expected a \"label\" (or \"class\") field");
  if (l->is_string()) return l->get<std::string>();
  if (l->is_number_integer()) return std::to_string(l->get<int64_t>());
  throw Error(where, "expected the label to be a string or an integer, got " + l->dump());
}

LabeledText json_item(const json& o, const std::string& where, int64_t line) {
  RC_CHECK(o.is_object(), where, "expected a JSON object {\"text\": ..., \"label\": ...}");
  RC_CHECK(o.contains("text") && o.at("text").is_string(), where, "expected a string \"text\" field");
  LabeledText it{json_label(o, where), o.at("text").get<std::string>(), line};
  RC_CHECK(!it.label.empty(), where, "empty label");
  return it;
}

std::vector<std::string_view> split_lines(std::string_view s) {
  std::vector<std::string_view> out;
  size_t a = 0;
  while (a < s.size()) {
    size_t b = s.find('\n', a);
    if (b == std::string_view::npos) b = s.size();
    std::string_view l = s.substr(a, b - a);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    out.push_back(l);
    a = b + 1;
  }
  return out;
}

bool blank(std::string_view l) {
  return std::all_of(l.begin(), l.end(), [](char c) { return c == ' ' || c == '\t'; });
}

void parse_tsv(std::string_view content, LabeledSet& set) {
  int64_t n = 0;
  for (std::string_view l : split_lines(content)) {
    ++n;
    if (blank(l)) continue;
    const size_t tab = l.find('\t');
    const std::string w = at_line(set.source, n);
    RC_CHECK(tab != std::string_view::npos, w, "expected 'label<TAB>text', found no tab");
    RC_CHECK(tab > 0, w, "expected 'label<TAB>text', the label is empty");
    set.items.push_back({std::string(l.substr(0, tab)), std::string(l.substr(tab + 1)), n});
  }
}

void parse_jsonl(std::string_view content, LabeledSet& set) {
  int64_t n = 0;
  for (std::string_view l : split_lines(content)) {
    ++n;
    if (blank(l)) continue;
    const std::string w = at_line(set.source, n);
    json o;
    try {
      o = json::parse(l);
    } catch (const json::exception& e) {
      throw Error(w, std::string("expected one JSON object per line: ") + e.what());
    }
    set.items.push_back(json_item(o, w, n));
  }
}

void parse_json_array(std::string_view content, LabeledSet& set) {
  json a;
  try {
    a = json::parse(content);
  } catch (const json::exception& e) {
    throw Error(set.source, std::string("expected a JSON array of {\"text\", \"label\"} objects: ") + e.what());
  }
  RC_CHECK(a.is_array(), set.source, "expected a JSON array of {\"text\", \"label\"} objects");
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string w = set.source + ": element " + std::to_string(i + 1);
    const json& o = a[i];
    // The UCI fixtures end with {"text": ""} (no class): skip exactly that trailing element.
    const bool empty = o.is_object() && !o.contains("label") && !o.contains("class") &&
                       (!o.contains("text") || (o.at("text").is_string() && o.at("text").get<std::string>().empty()));
    if (empty && i + 1 == a.size()) continue;
    set.items.push_back(json_item(o, w, static_cast<int64_t>(i + 1)));
  }
}

}  // namespace

TextFormat parse_text_format(const std::string& name) {
  if (name == "auto") return TextFormat::detect;
  if (name == "tsv") return TextFormat::tsv;
  if (name == "jsonl") return TextFormat::jsonl;
  if (name == "json") return TextFormat::json_array;
  throw Error("--format", "expected auto, tsv, jsonl or json, got '" + name + "'");
}

LabeledSet parse_labeled(std::string_view content, const std::string& where, TextFormat format) {
  utf8_decode(content, where);  // strict validation; errors name the byte offset
  LabeledSet set;
  set.source = where;
  if (format == TextFormat::detect) {
    const size_t p = content.find_first_not_of(" \t\r\n");
    const char c = p == std::string_view::npos ? ' ' : content[p];
    format = c == '[' ? TextFormat::json_array : c == '{' ? TextFormat::jsonl : TextFormat::tsv;
  }
  switch (format) {
    case TextFormat::tsv: parse_tsv(content, set); break;
    case TextFormat::jsonl: parse_jsonl(content, set); break;
    default: parse_json_array(content, set); break;
  }
  return set;
}

LabeledSet read_labeled(const std::string& path, TextFormat format) {
  return parse_labeled(read_file(path), path, format);
}

void check_classes(const LabeledSet& set, const std::string& role) {
  RC_CHECK(!set.items.empty(), set.source, role, " is empty (no labelled lines)");
  std::set<std::string> labels;
  for (const LabeledText& it : set.items) labels.insert(it.label);
  RC_CHECK(labels.size() >= 2, set.source, role, " has a single class ('", *labels.begin(),
           "'): a classifier needs at least two");
}

LabelSet LabelSet::from(const LabeledSet& train) {
  std::set<std::string> labels;
  for (const LabeledText& it : train.items) labels.insert(it.label);
  return from_names({labels.begin(), labels.end()});
}

LabelSet LabelSet::from_names(std::vector<std::string> names) {
  LabelSet s;
  for (size_t i = 0; i < names.size(); ++i) {
    RC_CHECK(s.index_.emplace(names[i], static_cast<int64_t>(i)).second, "labels", "duplicate label '", names[i], "'");
  }
  s.names_ = std::move(names);
  return s;
}

const std::string& LabelSet::name(int64_t id) const {
  RC_CHECK(id >= 0 && id < size(), "labels", "label id ", id, " outside [0, ", size(), ")");
  return names_[static_cast<size_t>(id)];
}

int64_t LabelSet::id(const std::string& label, const std::string& where) const {
  auto it = index_.find(label);
  RC_CHECK(it != index_.end(), where, "label '", label, "' does not occur in the training data (known: ",
           names_.size() <= 10 ? [&] {
             std::string k;
             for (const auto& n : names_) k += (k.empty() ? "" : ", ") + n;
             return k;
           }() : std::to_string(names_.size()) + " labels",
           ")");
  return it->second;
}

std::vector<int64_t> LabelSet::ids(const LabeledSet& set) const {
  std::vector<int64_t> out;
  out.reserve(set.items.size());
  for (const LabeledText& it : set.items) out.push_back(id(it.label, at_line(set.source, it.line)));
  return out;
}

LabeledSet concat_sets(const std::vector<LabeledSet>& sets, const std::string& name) {
  LabeledSet out;
  out.source = name;
  for (const LabeledSet& s : sets) out.items.insert(out.items.end(), s.items.begin(), s.items.end());
  return out;
}

std::pair<LabeledSet, LabeledSet> split_folds(const LabeledSet& set, int folds, int fold) {
  RC_CHECK(folds >= 2, "--folds", "expected >= 2, got ", folds);
  RC_CHECK(fold >= 0 && fold < folds, "--fold", "expected a value in [0, ", folds, "), got ", fold);
  std::pair<LabeledSet, LabeledSet> out;
  out.first.source = out.second.source = set.source;
  for (size_t i = 0; i < set.items.size(); ++i)
    (static_cast<int>(i % static_cast<size_t>(folds)) == fold ? out.second : out.first).items.push_back(set.items[i]);
  return out;
}

}  // namespace recurrent::data
