// Corpus BLEU and the 13a tokenizer (tasks/bleu.h) against values computed by hand (the n-gram
// counts are written out in the comments) and against scripts/seq2seq/bleu_ref.py --oracle, an
// independent Python transcription of sacrebleu's defaults using Python's own regular expressions.
#include <gtest/gtest.h>

#include <cmath>

#include "recurrent/core/error.h"
#include "recurrent/tasks/bleu.h"

using namespace recurrent;
using namespace recurrent::tasks;

namespace {

TEST(Tokenize13a, MatchesThePythonRegexTranscription) {
  // Outputs of `scripts/seq2seq/bleu_ref.py --oracle` (Python re.sub semantics).
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"It costs $3.50, ok.", "It costs $ 3.50 , ok ."},
      {"e.g. 1990-2000 a.,b", "e . g . 1990 - 2000 a . , b"},
      {"\u00bfQu\u00e9? \u00a1S\u00ed!", "\u00bfQu\u00e9 ? \u00a1S\u00ed !"},
      {"x&amp;y &lt;z&gt;", "x & y < z >"},
      {"don't (stop) [now] {a|b} ~c^d_e`f", "don't ( stop ) [ now ] { a | b } ~ c ^ d _ e ` f"},
      {"3,000.5 km/h -- 5-6", "3,000.5 km / h -- 5 - 6"},
      {"tab\there  new-\nline", "tab here newline"},
      {"", ""},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(tokenize_13a(in), want) << in;
}

TEST(Bleu, OneSentenceByHand) {
  // hyp: the cat sat on the mat   ref: the cat is on the mat   (6 and 6 tokens, BP = 1)
  // 1-grams: the×2 cat on mat match → 5/6; 2-grams: "the cat" "on the" "the mat" → 3/5;
  // 3-grams: "on the mat" → 1/4; 4-grams: 0/3 → exp smoothing 1/(2·3).
  const BleuStats s = corpus_bleu({"the cat sat on the mat"}, {"the cat is on the mat"});
  EXPECT_EQ(s.correct, (std::array<int64_t, 4>{5, 3, 1, 0}));
  EXPECT_EQ(s.total, (std::array<int64_t, 4>{6, 5, 4, 3}));
  EXPECT_DOUBLE_EQ(s.brevity_penalty(), 1.0);
  EXPECT_NEAR(s.precision(4), 100.0 / 6.0, 1e-12);
  EXPECT_NEAR(s.score(), 100.0 * std::pow(5.0 / 6 * 3.0 / 5 * 1.0 / 4 * 1.0 / 6, 0.25), 1e-9);
}

TEST(Bleu, ClippedCountsAndRepeatedSmoothing) {
  // hyp: the the the the   ref: the cat. 1-grams: min(4, 1) = 1 of 4; "the the" ×3, "the the the" ×2,
  // "the the the the" ×1 never match → 1/(2·3), 1/(4·2), 1/(8·1). |hyp| 4 ≥ |ref| 2: BP = 1.
  const BleuStats s = corpus_bleu({"the the the the"}, {"the cat"});
  EXPECT_NEAR(s.score(), 100.0 * std::pow(1.0 / 4 * 1.0 / 6 * 1.0 / 8 * 1.0 / 8, 0.25), 1e-9);
}

TEST(Bleu, BrevityPenaltyIsCorpusLevel) {
  // Every n-gram matches (p_n = 100%) but c = 5 + 4 = 9 < r = 7 + 4 = 11: BLEU = 100·exp(1 − 11/9).
  const BleuStats s = corpus_bleu({"a b c d e", "x y z w"}, {"a b c d e f g", "x y z w"});
  EXPECT_EQ(s.hyp_len, 9);
  EXPECT_EQ(s.ref_len, 11);
  EXPECT_NEAR(s.score(), 100.0 * std::exp(1.0 - 11.0 / 9.0), 1e-9);
}

TEST(Bleu, EdgeCases) {
  EXPECT_EQ(corpus_bleu({"x y z"}, {"a b c"}).score(), 0.0);                 // nothing matches
  EXPECT_NEAR(corpus_bleu({"the cat"}, {"the cat"}).score(), 0.0, 1e-12);     // no 3-grams at all: p_3 = 0
  EXPECT_NEAR(corpus_bleu({"a b c d"}, {"a b c d"}).score(), 100.0, 1e-9);   // identical
  EXPECT_EQ(corpus_bleu({""}, {"a b"}).score(), 0.0);                         // empty hypothesis
  // Tokenisation happens inside: "luz." and "luz ." are the same tokens.
  EXPECT_NEAR(corpus_bleu({"sea la luz ."}, {"sea la luz."}).score(), 100.0, 1e-9);
  EXPECT_NEAR(corpus_bleu({"sea la luz ."}, {"Sea la luz."}, true).score(), 100.0, 1e-9);  // -lc
  EXPECT_THROW(corpus_bleu({"a"}, {"a", "b"}), Error);
}

TEST(Bleu, CorpusMatchesThePythonTranscription) {
  // scripts/seq2seq/bleu_ref.py --oracle: correct [16, 10, 6, 4], total [21, 17, 13, 9], 21 vs 27
  // tokens, BLEU 41.3794914515, precisions 76.19/58.82/46.15/44.44, BP 0.7514772931.
  const BleuStats s = corpus_bleu({"the cat sat on the mat", "there is a cat here", "y dijo dios : sea la luz", "a b c"},
                                  {"the cat is on the mat", "a cat is here", "y dijo dios : sea la luz : y fue la luz .",
                                   "d e f g"});
  EXPECT_EQ(s.correct, (std::array<int64_t, 4>{16, 10, 6, 4}));
  EXPECT_EQ(s.total, (std::array<int64_t, 4>{21, 17, 13, 9}));
  EXPECT_EQ(s.hyp_len, 21);
  EXPECT_EQ(s.ref_len, 27);
  EXPECT_NEAR(s.score(), 41.3794914515, 1e-8);
  EXPECT_NEAR(s.precision(2), 58.8235294118, 1e-8);
  EXPECT_NEAR(s.brevity_penalty(), 0.7514772931, 1e-9);
}

}  // namespace
