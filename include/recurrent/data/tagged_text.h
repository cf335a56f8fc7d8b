// recurrent/data/tagged_text.h — tagged sentences for sequence labelling (part-of-speech, BIO spans).
//
// Two input formats, chosen by `format` or detected from the first non-blank line (a TAB → conll):
//   conll  one token per line, `token<TAB>tag` (more TAB-separated columns are allowed: the first is
//          the token, the last the tag, as in CoNLL-2003's files); a blank line ends a sentence;
//          `-DOCSTART-` lines are skipped
//   slash  one sentence per line of space-separated `word/tag` tokens; the tag is what follows the
//          LAST '/', so words such as "1/2" keep their slash (Brown's own format)
// Every error names the file and line and what was expected: a token line without a tag, an empty
// token or tag, invalid UTF-8. check_tagged: not empty, at least two different tags.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace recurrent::data {

enum class TagFormat { detect, conll, slash };
TagFormat parse_tag_format(const std::string& name);  // "auto" | "conll" | "slash"; throws on others

struct TaggedSentence {
  std::vector<std::string> words, tags;  // same length, >= 1
  int64_t line = 0;                      // 1-based line of the first token
};

struct TaggedSet {
  std::string source;  // file name, for messages
  std::vector<TaggedSentence> items;
  int64_t tokens() const;
};

TaggedSet parse_tagged(std::string_view content, const std::string& where, TagFormat format = TagFormat::detect);
TaggedSet read_tagged(const std::string& path, TagFormat format = TagFormat::detect);

// Throws Error(set.source, ...) when the set has no sentences or only one distinct tag.
void check_tagged(const TaggedSet& set, const std::string& role);

}  // namespace recurrent::data
