// recurrent/data/vocab.h — token vocabularies for language models: characters (Unicode code points)
// and words (whitespace tokens), with the rules for text the vocabulary has not seen.
//
// Ids: 0 is always `<unk>` (characters or words absent from the training text map to it; a model
// never sees it as a training target, so samplers exclude it). Word vocabularies have `<eos>` at
// id 1, appended after every non-empty line (the end-of-sentence token of Mikolov's PTB setup;
// Brown as prepared by scripts/data has one sentence per line). The rest is ordered
//   chars:  code points ascending (deterministic for a given text);
//   words:  count descending, ties by UTF-8 bytes ascending; `max_size` counts the two specials,
//           so max_size 10000 is PTB's "10k words including <unk> and <eos>".
// Literal "<unk>" / "<eos>" words in a corpus (PTB writes them) map to the special ids.
//
// Word tokenization: a line is split on ASCII whitespace (space, \t, \r, \v, \f); no punctuation
// splitting (Brown and PTB come tokenised). `lower` lower-cases ASCII and Latin-1 letters
// (U+00C0–U+00DE except U+00D7), which covers the corpora used here without a locale.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace recurrent::data {

enum class TokenLevel { chars, words };
const char* level_name(TokenLevel l);          // "char" | "word"
TokenLevel parse_level(const std::string& s);  // throws Error("--level", ...) on anything else

struct WordVocabOptions {
  int64_t min_count = 1;  // words seen fewer times in training become <unk>
  int64_t max_size = 0;   // 0: no limit; otherwise total size including <unk> and <eos>
  bool lower = false;
};

class Vocab {
 public:
  static constexpr int64_t kUnk = 0;
  static constexpr int64_t kEos = 1;  // word level only

  Vocab() = default;
  // From a saved token list (tokens[0] == "<unk>", and tokens[1] == "<eos>" for words). Checks it.
  Vocab(TokenLevel level, std::vector<std::string> tokens, bool lower);

  static Vocab build_chars(std::u32string_view train_text);
  static Vocab build_words(std::u32string_view train_text, const WordVocabOptions& o);

  TokenLevel level() const { return level_; }
  bool lower() const { return lower_; }
  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }
  const std::vector<std::string>& tokens() const { return tokens_; }
  const std::string& token(int64_t id) const;  // throws on an id outside [0, size)
  int64_t id(std::string_view token) const;    // kUnk when absent
  bool is_special(int64_t id) const { return id == kUnk || (level_ == TokenLevel::words && id == kEos); }

  // Text -> ids. chars: one id per code point; words: each non-empty line's words, then <eos>.
  std::vector<int64_t> encode(std::u32string_view text) const;
  // Only the words of one line, without <eos> (words level), or the code points (chars level).
  std::vector<int64_t> encode_line(std::u32string_view line) const;
  // How a token is written back as text: chars -> the character; words -> the word followed by a
  // space, <eos> -> "\n"; <unk> -> "<unk>" (words) or U+FFFD (chars).
  std::string render(int64_t id) const;

 private:
  TokenLevel level_ = TokenLevel::chars;
  bool lower_ = false;
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int64_t> index_;
};

// The vocabulary rule every task shares: `specials` first, then the tokens of `counts` seen
// `min_count` times or more, count descending, ties by UTF-8 bytes ascending (the map's order),
// at most `max_size` tokens in all (0: no limit). A counted token equal to a special is not repeated.
std::vector<std::string> frequent_tokens(const std::map<std::string, int64_t>& counts, std::vector<std::string> specials,
                                         int64_t min_count, int64_t max_size);

// Words of one line (split on ASCII whitespace), lower-cased when asked, as UTF-8 strings.
std::vector<std::string> split_words(std::u32string_view line, bool lower);
char32_t lower_latin(char32_t c);

// Contiguous split of a text into train / valid / test parts: cut at fractions train_frac and
// train_frac + valid_frac of the code points; with `at_lines`, each cut moves forward to just after
// the next '\n' (so word-level lines stay whole). Throws if a part would be empty.
struct TextSplit {
  std::u32string train, valid, test;
};
TextSplit split_text(std::u32string_view text, double train_frac, double valid_frac, bool at_lines,
                     const std::string& where);

}  // namespace recurrent::data
