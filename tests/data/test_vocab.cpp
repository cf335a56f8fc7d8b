// Vocabularies, word splitting, text splits and truncated-BPTT batches for language models.
#include <gtest/gtest.h>

#include <set>

#include "recurrent/core/error.h"
#include "recurrent/data/lm_batches.h"
#include "recurrent/data/utf8.h"
#include "recurrent/data/vocab.h"

using namespace recurrent;
using namespace recurrent::data;

namespace {
std::u32string u(const std::string& s) { return utf8_decode(s, "test"); }
}  // namespace

TEST(CharVocab, CodePointsSortedUnseenIsUnk) {
  Vocab v = Vocab::build_chars(u("bab\xC3\xA9\n"));  // b a b é \n
  ASSERT_EQ(v.size(), 5);                            // <unk> \n a b é
  EXPECT_EQ(v.token(0), "<unk>");
  EXPECT_EQ(v.token(1), "\n");
  EXPECT_EQ(v.token(4), "\xC3\xA9");
  std::vector<int64_t> ids = v.encode(u("ab\xC3\xA9z"));
  EXPECT_EQ(ids, (std::vector<int64_t>{2, 3, 4, Vocab::kUnk}));
  EXPECT_EQ(v.render(4), "\xC3\xA9");
  EXPECT_EQ(v.render(Vocab::kUnk), "\xEF\xBF\xBD");  // U+FFFD
}

TEST(CharVocab, RoundTripsThroughTokenList) {
  Vocab v = Vocab::build_chars(u("hello, world"));
  Vocab w(TokenLevel::chars, v.tokens(), false);
  EXPECT_EQ(w.encode(u("low")), v.encode(u("low")));
  EXPECT_THROW(Vocab(TokenLevel::chars, {"<unk>", "ab"}, false), Error);  // a char token of two code points
  EXPECT_THROW(Vocab(TokenLevel::chars, {"x", "a"}, false), Error);       // no <unk> first
  EXPECT_THROW(Vocab(TokenLevel::chars, {"<unk>", "a", "a"}, false), Error);
}

TEST(WordVocab, CountOrderMinCountMaxSizeEos) {
  const std::u32string text = u("the cat sat\nthe dog sat\n\nthe end\n");
  WordVocabOptions o;
  Vocab v = Vocab::build_words(text, o);
  // the:3, sat:2, then cat, dog, end (count 1, bytes ascending)
  EXPECT_EQ(v.tokens(), (std::vector<std::string>{"<unk>", "<eos>", "the", "sat", "cat", "dog", "end"}));
  EXPECT_EQ(v.encode(u("the cow sat\n\n  \nend")), (std::vector<int64_t>{2, 0, 3, 1, 6, 1}));
  o.min_count = 2;
  EXPECT_EQ(Vocab::build_words(text, o).size(), 4);
  o.min_count = 1;
  o.max_size = 3;
  EXPECT_EQ(Vocab::build_words(text, o).tokens(), (std::vector<std::string>{"<unk>", "<eos>", "the"}));
  EXPECT_EQ(v.render(2), "the ");
  EXPECT_EQ(v.render(Vocab::kEos), "\n");
}

// The shared rule of every task's vocabulary: specials lead and are not repeated, count descending,
// ties by bytes, min_count and max_size (counting the specials).
TEST(FrequentTokens, SpecialsCountOrderTiesMinCountMaxSize) {
  const std::map<std::string, int64_t> counts = {{"b", 3}, {"a", 3}, {"<unk>", 9}, {"c", 5}, {"d", 1}, {"e", 2}};
  EXPECT_EQ(frequent_tokens(counts, {"<unk>"}, 1, 0), (std::vector<std::string>{"<unk>", "c", "a", "b", "e", "d"}));
  EXPECT_EQ(frequent_tokens(counts, {"<unk>"}, 2, 0), (std::vector<std::string>{"<unk>", "c", "a", "b", "e"}));
  EXPECT_EQ(frequent_tokens(counts, {"<unk>", "<eos>"}, 1, 4), (std::vector<std::string>{"<unk>", "<eos>", "c", "a"}));
  EXPECT_EQ(frequent_tokens({}, {"<unk>"}, 1, 0), (std::vector<std::string>{"<unk>"}));
}

TEST(WordVocab, LowerCaseAndLiteralSpecials) {
  WordVocabOptions o;
  o.lower = true;
  Vocab v = Vocab::build_words(u("The THE the \xC3\x89t\xC3\xA9 <unk> <eos>"), o);  // Été
  EXPECT_EQ(v.tokens(), (std::vector<std::string>{"<unk>", "<eos>", "the", "\xC3\xA9t\xC3\xA9"}));
  EXPECT_EQ(v.encode_line(u("tHe <unk> <eos>")), (std::vector<int64_t>{2, Vocab::kUnk, Vocab::kEos}));
  EXPECT_EQ(split_words(u(" a\tb  c\r"), false), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(WordVocab, BadOptionsThrow) {
  WordVocabOptions o;
  o.min_count = 0;
  EXPECT_THROW(Vocab::build_words(u("a b"), o), Error);
  o.min_count = 5;
  EXPECT_THROW(Vocab::build_words(u("a b"), o), Error);  // nothing left
  EXPECT_THROW(parse_level("byte"), Error);
  EXPECT_EQ(parse_level("word"), TokenLevel::words);
}

TEST(SplitText, ContiguousFractionsAndLineCuts) {
  std::u32string t;
  for (int i = 0; i < 100; ++i) t += U'a' + (i % 26);
  TextSplit s = split_text(t, 0.9, 0.05, false, "t");
  EXPECT_EQ(s.train.size(), 90u);
  EXPECT_EQ(s.valid.size(), 5u);
  EXPECT_EQ(s.test.size(), 5u);
  EXPECT_EQ(s.train + s.valid + s.test, t);
  std::u32string lines = u("one two\nthree\nfour five six\nseven\neight\nnine ten\n");
  TextSplit l = split_text(lines, 0.5, 0.2, true, "t");
  EXPECT_EQ(l.train + l.valid + l.test, lines);
  EXPECT_EQ(l.train.back(), U'\n');
  EXPECT_EQ(l.valid.back(), U'\n');
  EXPECT_THROW(split_text(u("ab"), 0.9, 0.05, false, "t"), Error);
}

TEST(LmBatcher, RowsAreContiguousAndChunksContinueThem) {
  std::vector<int64_t> s(103);
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<int64_t>(i);
  const int64_t B = 4, T = 7, off = 2;
  LmBatcher b(s, B, T, off, "s");
  EXPECT_EQ(b.row_len(), (103 - 2 - 1) / 4);  // 25
  EXPECT_EQ(b.num_chunks(), 4);               // 7 + 7 + 7 + 4
  EXPECT_EQ(b.tokens(), 100);
  std::set<int64_t> seen;
  for (int64_t k = 0; k < b.num_chunks(); ++k) {
    LmChunk c = b.chunk(k);
    EXPECT_EQ(c.T, k < 3 ? 7 : 4);
    for (int64_t t = 0; t < c.T; ++t)
      for (int64_t r = 0; r < B; ++r) {
        const int64_t x = c.inputs[t * B + r];
        EXPECT_EQ(x, off + r * 25 + k * T + t);
        EXPECT_EQ(c.targets[t * B + r], x + 1);
        seen.insert(x);
      }
  }
  EXPECT_EQ(seen.size(), 100u);  // every position once
  EXPECT_THROW(LmBatcher(s, 200, T, 0, "s"), Error);
  EXPECT_THROW(b.chunk(4), Error);
}

// A data-parallel rank's rows of a chunk (train/dist.h): the same tokens at the same steps.
TEST(LmBatcher, ColumnsAreTheRowsOfAChunk) {
  std::vector<int64_t> s(103);
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<int64_t>(i);
  const LmChunk c = LmBatcher(s, 4, 7, 2, "s").chunk(1);
  const LmChunk m = c.columns(1, 3);
  EXPECT_EQ(m.T, c.T);
  EXPECT_EQ(m.B, 2);
  for (int64_t t = 0; t < c.T; ++t)
    for (int64_t r = 0; r < 2; ++r) {
      EXPECT_EQ(m.inputs[t * 2 + r], c.inputs[t * 4 + 1 + r]);
      EXPECT_EQ(m.targets[t * 2 + r], c.targets[t * 4 + 1 + r]);
    }
  EXPECT_EQ(c.columns(0, 4).inputs, c.inputs);
  EXPECT_EQ(c.columns(2, 2).inputs.size(), 0u);
  EXPECT_THROW(c.columns(3, 5), Error);
}
