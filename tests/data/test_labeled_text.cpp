// Labelled-sentence files (data/labeled_text.h): the three formats, format detection, the UCI
// fixtures' empty last element, and one-line errors naming the file and line for malformed input.
#include <gtest/gtest.h>

#include <functional>

#include "recurrent/core/error.h"
#include "recurrent/data/labeled_text.h"

using namespace recurrent;
using namespace recurrent::data;

namespace {

std::string labeled_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(LabeledText, TsvKeepsTextAfterTheFirstTabAndSkipsBlankLines) {
  LabeledSet s = parse_labeled("1\tGood case.\n\n0\tbad\tvery bad\r\n", "t.tsv");
  ASSERT_EQ(s.items.size(), 2u);
  EXPECT_EQ(s.items[0].label, "1");
  EXPECT_EQ(s.items[0].text, "Good case.");
  EXPECT_EQ(s.items[1].text, "bad\tvery bad");
  EXPECT_EQ(s.items[1].line, 3);
}

TEST(LabeledText, JsonLinesAcceptLabelOrClassStringOrInteger) {
  LabeledSet s = parse_labeled("{\"text\": \"a\", \"label\": \"pos\"}\n{\"text\": \"b\", \"class\": 0}\n", "t.jsonl");
  ASSERT_EQ(s.items.size(), 2u);
  EXPECT_EQ(s.items[0].label, "pos");
  EXPECT_EQ(s.items[1].label, "0");
  EXPECT_EQ(s.items[1].text, "b");
}

TEST(LabeledText, JsonArraySkipsOnlyATrailingEmptyElement) {
  LabeledSet s = parse_labeled(R"([{"text": "x", "class": 1}, {"text": "y", "class": 0}, {"text": ""}])", "a.json");
  ASSERT_EQ(s.items.size(), 2u);
  EXPECT_EQ(s.items[1].label, "0");
  EXPECT_NE(labeled_error_of([] { parse_labeled(R"([{"text": ""}, {"text": "y", "class": 0}])", "a.json"); })
                .find("a.json: element 1"),
            std::string::npos);
}

TEST(LabeledText, MalformedInputNamesFileAndLine) {
  EXPECT_NE(labeled_error_of([] { parse_labeled("1\tok\nno tab here\n", "f.tsv"); }).find("f.tsv:2: expected 'label<TAB>text'"),
            std::string::npos);
  EXPECT_NE(labeled_error_of([] { parse_labeled("\tno label\n", "f.tsv"); }).find("f.tsv:1: expected 'label<TAB>text', the label is empty"),
            std::string::npos);
  EXPECT_NE(labeled_error_of([] { parse_labeled("{\"text\": \"a\", \"label\": 1}\n{\"text\": \n", "f.jsonl"); }).find("f.jsonl:2"),
            std::string::npos);
  EXPECT_NE(labeled_error_of([] { parse_labeled("{\"text\": \"a\"}\n", "f.jsonl"); }).find("f.jsonl:1: expected a \"label\""),
            std::string::npos);
  EXPECT_NE(labeled_error_of([] { parse_labeled("{\"text\": \"a\", \"label\": 1.5}\n", "f.jsonl"); }).find("string or an integer"),
            std::string::npos);
  EXPECT_NE(labeled_error_of([] { parse_labeled("1\t\xff\n", "f.tsv"); }).find("invalid UTF-8"), std::string::npos);
  EXPECT_NE(labeled_error_of([] { parse_text_format("csv"); }).find("--format"), std::string::npos);
}

TEST(LabeledText, EmptyAndOneClassSetsAreRejected) {
  EXPECT_NE(labeled_error_of([] { check_classes(parse_labeled("\n\n", "e.tsv"), "the training data"); }).find("e.tsv: the training data is empty"),
            std::string::npos);
  EXPECT_NE(labeled_error_of([] { check_classes(parse_labeled("1\ta\n1\tb\n", "o.tsv"), "the training data"); })
                .find("single class ('1')"),
            std::string::npos);
  EXPECT_NO_THROW(check_classes(parse_labeled("1\ta\n0\tb\n", "ok.tsv"), "the training data"));
}

TEST(LabeledText, LabelsAreSortedAndUnseenTestLabelsNamed) {
  LabelSet l = LabelSet::from(parse_labeled("pos\ta\nneg\tb\npos\tc\n", "tr.tsv"));
  ASSERT_EQ(l.size(), 2);
  EXPECT_EQ(l.name(0), "neg");
  EXPECT_EQ(l.ids(parse_labeled("pos\tx\nneg\ty\n", "te.tsv")), (std::vector<int64_t>{1, 0}));
  EXPECT_NE(labeled_error_of([&] { l.ids(parse_labeled("pos\tx\nneutral\ty\n", "te.tsv")); })
                .find("te.tsv:2: label 'neutral' does not occur in the training data"),
            std::string::npos);
  EXPECT_THROW(LabelSet::from_names({"a", "a"}), Error);
}

TEST(LabeledText, FoldsPartitionByPosition) {
  LabeledSet s = parse_labeled("a\t0\nb\t1\na\t2\nb\t3\na\t4\nb\t5\na\t6\n", "s.tsv");
  auto [tr, te] = split_folds(s, 5, 4);
  ASSERT_EQ(te.items.size(), 1u);
  EXPECT_EQ(te.items[0].text, "4");
  EXPECT_EQ(tr.items.size(), 6u);
  EXPECT_EQ(concat_sets({tr, te}, "both").items.size(), 7u);
  EXPECT_THROW(split_folds(s, 5, 5), Error);
}

}  // namespace
