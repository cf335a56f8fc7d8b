// Edit distance, WER and CER (src/tasks/error_rate.cpp) against hand-counted alignments.
#include <gtest/gtest.h>

#include "autograd/op_test_util.h"
#include "recurrent/tasks/error_rate.h"

using namespace recurrent;
using namespace recurrent::tasks;
using recurrent::testing::throws_error;

namespace {

void expect_counts(const EditCounts& e, int64_t s, int64_t d, int64_t i, int64_t n) {
  EXPECT_EQ(e.substitutions, s);
  EXPECT_EQ(e.deletions, d);
  EXPECT_EQ(e.insertions, i);
  EXPECT_EQ(e.reference, n);
}

TEST(EditDistance, CountsEachKindOfEdit) {
  expect_counts(edit_distance(std::vector<int64_t>{1, 2, 3}, {1, 2, 3}), 0, 0, 0, 3);
  expect_counts(edit_distance(std::vector<int64_t>{1, 2, 3}, {1, 4, 3}), 1, 0, 0, 3);
  expect_counts(edit_distance(std::vector<int64_t>{1, 2, 3}, {1, 3}), 0, 1, 0, 3);
  expect_counts(edit_distance(std::vector<int64_t>{1, 2, 3}, {1, 2, 5, 3}), 0, 0, 1, 3);
  expect_counts(edit_distance(std::vector<int64_t>{}, {7, 7}), 0, 0, 2, 0);
  expect_counts(edit_distance(std::vector<int64_t>{7, 7}, {}), 0, 2, 0, 2);
  // kitten → sitting: k→s, e→i, +g (3 edits)
  const std::vector<int64_t> kitten = {'k', 'i', 't', 't', 'e', 'n'}, sitting = {'s', 'i', 't', 't', 'i', 'n', 'g'};
  expect_counts(edit_distance(kitten, sitting), 2, 0, 1, 6);
}

TEST(ErrorRates, WordErrorRateByHand) {
  // ref: "the cat sat on the mat" (6 words); hyp: "oh the cat sit on mat"
  // "oh" inserted (I), sat→sit (S), "the" before mat deleted (D): WER = 3/6
  const EditCounts e = word_errors("the cat sat on the mat", "oh the  cat sit on mat\n");
  expect_counts(e, 1, 1, 1, 6);
  EXPECT_DOUBLE_EQ(e.rate(), 0.5);
  // corpus rate: edits and lengths summed first: (3 + 1) / (6 + 2), not the mean of 0.5 and 0.5
  EXPECT_DOUBLE_EQ(wer({"the cat sat on the mat", "one two"}, {"oh the cat sit on mat", "one"}), 4.0 / 8.0);
  EXPECT_DOUBLE_EQ(wer({"", ""}, {"", ""}), 0.0);
  EXPECT_TRUE(throws_error([] { wer({"a"}, {}); }, "wer", "0 hypotheses for 1 references"));
}

TEST(ErrorRates, CharacterErrorRateCountsCodePointsAndSpaces) {
  // "zwölf" vs "zwolf": one substituted code point out of 5 (ö is 2 bytes in UTF-8, one character)
  expect_counts(char_errors("zwölf", "zwolf"), 1, 0, 0, 5);
  // "one two" (7 characters with the space) vs "onetwo": the space deleted
  expect_counts(char_errors("one two", "onetwo"), 0, 1, 0, 7);
  EXPECT_DOUBLE_EQ(cer({"one two", "six"}, {"onetwo", "sex"}), 2.0 / 10.0);
  EXPECT_THROW(char_errors("ok", "\xff"), Error);
  EXPECT_EQ(split_words("  a\tb \n c  "), (std::vector<std::string>{"a", "b", "c"}));
}

}  // namespace
