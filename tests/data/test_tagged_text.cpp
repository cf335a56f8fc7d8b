// Tagged sentences (data/tagged_text.h): CoNLL columns and word/tag lines, format detection, and
// errors that name the file and line.
#include <gtest/gtest.h>

#include "recurrent/core/error.h"
#include "recurrent/data/tagged_text.h"

using namespace recurrent;
using namespace recurrent::data;

namespace {

std::string error_of_tagged_text(const std::string& content, TagFormat f = TagFormat::detect) {
  try {
    parse_tagged(content, "f.txt", f);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(TaggedText, ConllSentencesColumnsDocstartAndCrlf) {
  const TaggedSet s = parse_tagged("-DOCSTART-\tO\n\nThe\tDT\tB-NP\tO\r\ncat\tNN\t\tB-X\n\n\n1/2\tCD\n", "f.conll");
  ASSERT_EQ(s.items.size(), 2u);
  EXPECT_EQ(s.items[0].words, (std::vector<std::string>{"The", "cat"}));
  EXPECT_EQ(s.items[0].tags, (std::vector<std::string>{"O", "B-X"}));  // the LAST column is the tag
  EXPECT_EQ(s.items[0].line, 3);
  EXPECT_EQ(s.items[1].words, (std::vector<std::string>{"1/2"}));
  EXPECT_EQ(s.items[1].line, 7);
  EXPECT_EQ(s.tokens(), 3);
}

TEST(TaggedText, SlashLinesSplitAtTheLastSlash) {
  const TaggedSet s = parse_tagged("The/at 1/2/cd  cats/nns\n\n  \nran/vbd ./.\n", "f.txt");
  ASSERT_EQ(s.items.size(), 2u);
  EXPECT_EQ(s.items[0].words, (std::vector<std::string>{"The", "1/2", "cats"}));
  EXPECT_EQ(s.items[0].tags, (std::vector<std::string>{"at", "cd", "nns"}));
  EXPECT_EQ(s.items[1].tags, (std::vector<std::string>{"vbd", "."}));
  EXPECT_EQ(s.items[1].line, 4);
  // forced conll on slash text: the first line has no tab
  EXPECT_NE(error_of_tagged_text("The/at\n", TagFormat::conll).find("f.txt:1: expected 'token<TAB>tag'"), std::string::npos);
}

TEST(TaggedText, ErrorsNameFileLineAndWhatWasExpected) {
  EXPECT_NE(error_of_tagged_text("a\tX\nb\n").find("f.txt:2: expected 'token<TAB>tag', found no tab in 'b'"), std::string::npos);
  EXPECT_NE(error_of_tagged_text("a\tX\n\tY\n").find("f.txt:2: expected 'token<TAB>tag', the token is empty"), std::string::npos);
  EXPECT_NE(error_of_tagged_text("a/X b/Y\nc/Z d\n").find("f.txt:2: expected 'word/tag' tokens separated by spaces, got 'd'"),
            std::string::npos);
  EXPECT_NE(error_of_tagged_text("/X\n").find("f.txt:1: expected 'word/tag'"), std::string::npos);
  EXPECT_NE(error_of_tagged_text("a/X b/\n").find("got 'b/'"), std::string::npos);
  EXPECT_NE(error_of_tagged_text("a/X \xc3\n").find("f.txt:1: invalid UTF-8"), std::string::npos);
  EXPECT_THROW(parse_tag_format("csv"), Error);
  EXPECT_EQ(parse_tag_format("slash"), TagFormat::slash);
}

TEST(TaggedText, CheckTaggedRejectsEmptyAndOneTagSets) {
  EXPECT_THROW(check_tagged(parse_tagged("\n\n", "e.txt"), "the training data"), Error);
  try {
    check_tagged(parse_tagged("a/X b/X\nc/X\n", "one.txt"), "the training data");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("one.txt: the training data has a single tag ('X')"), std::string::npos);
  }
  EXPECT_NO_THROW(check_tagged(parse_tagged("a/X b/Y\n", "ok.txt"), "the training data"));
}

}  // namespace
