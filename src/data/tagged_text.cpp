// Tagged sentences: CoNLL columns and word/tag lines (contract in data/tagged_text.h).
#include "recurrent/data/tagged_text.h"

#include <set>

#include "recurrent/core/error.h"
#include "recurrent/data/text_file.h"
#include "recurrent/data/utf8.h"
#include "data/at_line.h"

namespace recurrent::data {

namespace {

using detail::at_line;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Calls f(line_number, line) for every line (without '\n' and a trailing '\r').
template <typename F>
void for_lines(std::string_view s, F f) {
  size_t a = 0;
  int64_t n = 0;
  while (a < s.size()) {
    size_t b = s.find('\n', a);
    if (b == std::string_view::npos) b = s.size();
    std::string_view l = s.substr(a, b - a);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    f(++n, l);
    a = b + 1;
  }
}

void parse_conll(std::string_view content, TaggedSet& set) {
  TaggedSentence cur;
  auto flush = [&] {
    if (!cur.words.empty()) set.items.push_back(std::move(cur));
    cur = {};
  };
  for_lines(content, [&](int64_t n, std::string_view l) {
    if (trim(l).empty()) return flush();
    std::string_view t = l;  // keep edge tabs: "\tY" has an empty token, "x\t" an empty tag
    while (!t.empty() && (t.front() == ' ' || t.back() == ' ' || t.back() == '\r'))
      t = t.front() == ' ' ? t.substr(1) : t.substr(0, t.size() - 1);
    const std::string w = at_line(set.source, n);
    utf8_decode(l, w);
    const size_t first = t.find('\t'), last = t.rfind('\t');
    RC_CHECK(first != std::string_view::npos, w, "expected 'token<TAB>tag', found no tab in '", t, "'");
    const std::string_view tok = trim(t.substr(0, first)), tag = trim(t.substr(last + 1));
    RC_CHECK(!tok.empty(), w, "expected 'token<TAB>tag', the token is empty");
    RC_CHECK(!tag.empty(), w, "expected 'token<TAB>tag', the tag is empty");
    if (tok == "-DOCSTART-") return flush();
    if (cur.words.empty()) cur.line = n;
    cur.words.emplace_back(tok);
    cur.tags.emplace_back(tag);
  });
  flush();
}

void parse_slash(std::string_view content, TaggedSet& set) {
  for_lines(content, [&](int64_t n, std::string_view l) {
    const std::string w = at_line(set.source, n);
    utf8_decode(l, w);
    TaggedSentence s;
    s.line = n;
    size_t a = 0;
    while (a < l.size()) {
      while (a < l.size() && is_space(l[a])) ++a;
      size_t b = a;
      while (b < l.size() && !is_space(l[b])) ++b;
      if (b == a) break;
      const std::string_view tok = l.substr(a, b - a);
      const size_t cut = tok.rfind('/');
      RC_CHECK(cut != std::string_view::npos && cut > 0 && cut + 1 < tok.size(), w,
               "expected 'word/tag' tokens separated by spaces, got '", tok, "'");
      s.words.emplace_back(tok.substr(0, cut));
      s.tags.emplace_back(tok.substr(cut + 1));
      a = b;
    }
    if (!s.words.empty()) set.items.push_back(std::move(s));
  });
}

}  // namespace

TagFormat parse_tag_format(const std::string& name) {
  if (name == "auto") return TagFormat::detect;
  if (name == "conll") return TagFormat::conll;
  if (name == "slash") return TagFormat::slash;
  throw Error("--format", "expected auto, conll (token<TAB>tag lines) or slash (word/tag lines), got '" + name + "'");
}

int64_t TaggedSet::tokens() const {
  int64_t n = 0;
  for (const TaggedSentence& s : items) n += static_cast<int64_t>(s.words.size());
  return n;
}

TaggedSet parse_tagged(std::string_view content, const std::string& where, TagFormat format) {
  if (format == TagFormat::detect) {  // the first non-blank line decides
    format = TagFormat::slash;
    bool found = false;
    for_lines(content, [&](int64_t, std::string_view l) {
      if (found || trim(l).empty()) return;
      found = true;
      if (trim(l).find('\t') != std::string_view::npos) format = TagFormat::conll;
    });
  }
  TaggedSet set;
  set.source = where;
  if (format == TagFormat::conll) parse_conll(content, set);
  else parse_slash(content, set);
  return set;
}

TaggedSet read_tagged(const std::string& path, TagFormat format) { return parse_tagged(read_file(path), path, format); }

void check_tagged(const TaggedSet& set, const std::string& role) {
  RC_CHECK(!set.items.empty(), set.source, role, " is empty (no tagged sentences)");
  std::set<std::string> tags;
  for (const TaggedSentence& s : set.items) tags.insert(s.tags.begin(), s.tags.end());
  RC_CHECK(tags.size() >= 2, set.source, role, " has a single tag ('", *tags.begin(), "'): a tagger needs at least two");
}

}  // namespace recurrent::data
