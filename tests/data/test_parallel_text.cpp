// Sentence pairs `source<TAB>target` (data/parallel_text.h): parsing and one error per malformed
// case, each naming the file and line and what was expected.
#include <gtest/gtest.h>

#include <string>

#include "recurrent/core/error.h"
#include "recurrent/data/parallel_text.h"

using namespace recurrent;
using namespace recurrent::data;

namespace {

std::string error_of_parallel_text(const std::string& content) {
  try {
    parse_parallel(content, "pairs.tsv");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ParallelText, ParsesPairsSkipsBlankLinesAndCarriageReturns) {
  const ParallelSet s = parse_parallel("In the beginning\tEn el principio\r\n\n  \nLet there be light.\tSea la luz.", "p");
  ASSERT_EQ(s.pairs.size(), 2u);
  EXPECT_EQ(s.pairs[0].source, "In the beginning");
  EXPECT_EQ(s.pairs[0].target, "En el principio");
  EXPECT_EQ(s.pairs[1].line, 4);
  EXPECT_EQ(s.pairs[1].target, "Sea la luz.");
}

TEST(ParallelText, EachMalformedCaseIsOneErrorWithFileAndLine) {
  EXPECT_EQ(error_of_parallel_text("a\tb\nno tab here\n"), "pairs.tsv:2: expected 'source<TAB>target', found no tab");
  EXPECT_EQ(error_of_parallel_text("a\tb\tc\n"), "pairs.tsv:1: expected 'source<TAB>target' with exactly one tab, found more");
  EXPECT_EQ(error_of_parallel_text("a\tb\n\tb\n"), "pairs.tsv:2: expected 'source<TAB>target', the source is empty");
  EXPECT_EQ(error_of_parallel_text("a\t  \n"), "pairs.tsv:1: expected 'source<TAB>target', the target is empty");
  EXPECT_EQ(error_of_parallel_text(""), "pairs.tsv: no sentence pairs (expected 'source<TAB>target' lines)");
  EXPECT_EQ(error_of_parallel_text("\n \n"), "pairs.tsv: no sentence pairs (expected 'source<TAB>target' lines)");
  EXPECT_NE(error_of_parallel_text("a\tb\nc\t\xff\n").find("pairs.tsv:2"), std::string::npos);  // invalid UTF-8
}

TEST(ParallelText, MissingFileIsAnError) { EXPECT_THROW(read_parallel("/nonexistent/pairs.tsv"), Error); }

}  // namespace
