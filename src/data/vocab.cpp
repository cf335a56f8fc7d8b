// Character and word vocabularies (contract in include/recurrent/data/vocab.h).
#include "recurrent/data/vocab.h"

#include <algorithm>
#include <map>

#include "recurrent/core/error.h"
#include "recurrent/data/utf8.h"

namespace recurrent::data {

namespace {

const char* kUnkTok = "<unk>";
const char* kEosTok = "<eos>";

bool is_space(char32_t c) { return c == U' ' || c == U'\t' || c == U'\r' || c == U'\v' || c == U'\f' || c == U'\n'; }

std::string cp_str(char32_t c) {
  std::string s;
  utf8_append(s, c);
  return s;
}

}  // namespace

const char* level_name(TokenLevel l) { return l == TokenLevel::chars ? "char" : "word"; }

TokenLevel parse_level(const std::string& s) {
  if (s == "char" || s == "chars") return TokenLevel::chars;
  if (s == "word" || s == "words") return TokenLevel::words;
  throw Error("--level", "expected 'char' or 'word', got '" + s + "'");
}

char32_t lower_latin(char32_t c) {
  if (c >= U'A' && c <= U'Z') return c + 32;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;  // Latin-1 capitals -> small (À -> à)
  return c;
}

std::vector<std::string> split_words(std::u32string_view line, bool lower) {
  std::vector<std::string> words;
  std::string cur;
  for (char32_t c : line) {
    if (is_space(c)) {
      if (!cur.empty()) words.push_back(std::move(cur)), cur.clear();
      continue;
    }
    utf8_append(cur, lower ? lower_latin(c) : c);
  }
  if (!cur.empty()) words.push_back(std::move(cur));
  return words;
}

Vocab::Vocab(TokenLevel level, std::vector<std::string> tokens, bool lower)
    : level_(level), lower_(lower), tokens_(std::move(tokens)) {
  const size_t specials = level == TokenLevel::words ? 2 : 1;
  RC_CHECK(tokens_.size() > specials, "vocabulary", "expected at least one token besides the specials, got ",
           tokens_.size(), " tokens");
  RC_CHECK(tokens_[0] == kUnkTok, "vocabulary", "token 0 must be <unk>, got '", tokens_[0], "'");
  RC_CHECK(level == TokenLevel::chars || tokens_[1] == kEosTok, "vocabulary", "token 1 of a word vocabulary must be <eos>");
  for (size_t i = 0; i < tokens_.size(); ++i) {
    if (level == TokenLevel::chars && i > 0)
      RC_CHECK(utf8_decode(tokens_[i], "vocabulary").size() == 1, "vocabulary", "character token ", i,
               " must be one code point, got '", tokens_[i], "'");
    RC_CHECK(index_.emplace(tokens_[i], static_cast<int64_t>(i)).second, "vocabulary", "token '", tokens_[i],
             "' appears twice");
  }
}

Vocab Vocab::build_chars(std::u32string_view train_text) {
  std::vector<char32_t> seen(train_text.begin(), train_text.end());
  std::sort(seen.begin(), seen.end());
  seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
  std::vector<std::string> tokens{kUnkTok};
  for (char32_t c : seen) tokens.push_back(cp_str(c));
  RC_CHECK(tokens.size() > 1, "vocabulary", "the training text is empty");
  return Vocab(TokenLevel::chars, std::move(tokens), false);
}

std::vector<std::string> frequent_tokens(const std::map<std::string, int64_t>& counts, std::vector<std::string> specials,
                                         int64_t min_count, int64_t max_size) {
  std::vector<std::pair<std::string, int64_t>> order(counts.begin(), counts.end());  // bytes ascending
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::vector<std::string> tokens = std::move(specials);
  const auto special_end = static_cast<std::ptrdiff_t>(tokens.size());
  for (const auto& [tok, n] : order) {
    if (n < min_count || (max_size > 0 && static_cast<int64_t>(tokens.size()) >= max_size)) break;
    if (std::find(tokens.begin(), tokens.begin() + special_end, tok) == tokens.begin() + special_end) tokens.push_back(tok);
  }
  return tokens;
}

Vocab Vocab::build_words(std::u32string_view train_text, const WordVocabOptions& o) {
  RC_CHECK(o.min_count >= 1, "--min-count", "expected >= 1, got ", o.min_count);
  RC_CHECK(o.max_size == 0 || o.max_size >= 3, "--max-vocab", "expected 0 (no limit) or >= 3, got ", o.max_size);
  std::map<std::string, int64_t> counts;
  for (const std::string& w : split_words(train_text, o.lower))
    if (w != kUnkTok && w != kEosTok) ++counts[w];
  std::vector<std::string> tokens = frequent_tokens(counts, {kUnkTok, kEosTok}, o.min_count, o.max_size);
  RC_CHECK(tokens.size() > 2, "vocabulary", "no word of the training text occurs ", o.min_count, " times or more");
  return Vocab(TokenLevel::words, std::move(tokens), o.lower);
}

const std::string& Vocab::token(int64_t id) const {
  RC_CHECK(id >= 0 && id < size(), "vocabulary", "token id ", id, " outside [0, ", size(), ")");
  return tokens_[static_cast<size_t>(id)];
}

int64_t Vocab::id(std::string_view token) const {
  auto it = index_.find(std::string(token));
  return it == index_.end() ? kUnk : it->second;
}

std::vector<int64_t> Vocab::encode_line(std::u32string_view line) const {
  std::vector<int64_t> ids;
  if (level_ == TokenLevel::chars) {
    ids.reserve(line.size());
    std::string buf;
    for (char32_t c : line) {
      buf.clear();
      utf8_append(buf, c);
      ids.push_back(id(buf));
    }
    return ids;
  }
  for (const std::string& w : split_words(line, lower_)) ids.push_back(id(w));
  return ids;
}

std::vector<int64_t> Vocab::encode(std::u32string_view text) const {
  if (level_ == TokenLevel::chars) return encode_line(text);
  std::vector<int64_t> ids;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(U'\n', start);
    if (end == std::u32string_view::npos) end = text.size();
    std::vector<int64_t> line = encode_line(text.substr(start, end - start));
    if (!line.empty()) {
      ids.insert(ids.end(), line.begin(), line.end());
      ids.push_back(kEos);
    }
    start = end + 1;
  }
  return ids;
}

std::string Vocab::render(int64_t id) const {
  if (level_ == TokenLevel::chars) return id == kUnk ? cp_str(0xFFFD) : token(id);
  if (id == kEos) return "\n";
  return token(id) + " ";
}

TextSplit split_text(std::u32string_view text, double train_frac, double valid_frac, bool at_lines,
                     const std::string& where) {
  RC_CHECK(train_frac > 0 && valid_frac > 0 && train_frac + valid_frac < 1, where,
           "split fractions must be positive and leave a test part");
  const size_t n = text.size();
  auto cut = [&](double f) {
    size_t c = static_cast<size_t>(static_cast<double>(n) * f);
    if (at_lines) {
      size_t nl = text.find(U'\n', c);
      c = nl == std::u32string_view::npos ? n : nl + 1;
    }
    return c;
  };
  const size_t a = cut(train_frac), b = std::max(a, cut(train_frac + valid_frac));
  RC_CHECK(a > 0 && b > a && n > b, where, "text too short to split ", train_frac, "/", valid_frac, "/",
           1 - train_frac - valid_frac, " (", n, " characters", at_lines ? ", cuts at line ends" : "",
           "); give --valid and --test files or more text");
  return {std::u32string(text.substr(0, a)), std::u32string(text.substr(a, b - a)), std::u32string(text.substr(b))};
}

}  // namespace recurrent::data
