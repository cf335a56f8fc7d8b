// Numeric series from CSV (data/series_csv.h): the statsmodels layouts (quoted header, empty cells),
// features and time columns, gap interpolation by hand, and one test per malformed input, each a
// one-line Error naming the file, the line and what was expected.
#include <gtest/gtest.h>

#include <cmath>

#include "recurrent/core/error.h"
#include "recurrent/data/series_csv.h"

using namespace recurrent;
using namespace recurrent::data;

namespace {

// The message of the Error that f throws (fails the test if none is thrown).
template <typename F>
std::string error_of_series_csv(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no Error thrown";
  return "";
}

void expect_series_has(const std::string& msg, const std::string& part) {
  EXPECT_NE(msg.find(part), std::string::npos) << "'" << part << "' not in: " << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << "not one line: " << msg;
}

}  // namespace

TEST(SeriesCsv, QuotedHeaderAsInStatsmodelsSunspots) {
  const Series s = parse_series_csv("\"YEAR\",\"SUNACTIVITY\"\n1700,5\n1701,11\n1702,16.5\n", "sun.csv",
                                    {"SUNACTIVITY", "YEAR", {}});
  ASSERT_EQ(s.rows(), 3);
  EXPECT_EQ(s.names, std::vector<std::string>{"SUNACTIVITY"});
  EXPECT_EQ(s.values[0], (std::vector<double>{5, 11, 16.5}));
  EXPECT_EQ(s.times, (std::vector<std::string>{"1700", "1701", "1702"}));
  EXPECT_EQ(s.lines, (std::vector<int64_t>{2, 3, 4}));
}

TEST(SeriesCsv, EmptyCellsAreGapsAndBlankLinesAreSkipped) {
  // CRLF, a blank line (line 4) and gaps: empty, NA, nan; the line numbers stay the file's.
  const Series s = parse_series_csv("date,co2\r\n19580329,316.1\r\n19580405,\r\n\r\n19580412, NA \r\n19580419,nan\r\n"
                                    "19580426,317.5\r\n", "co2.csv", {"co2", "", {}});
  ASSERT_EQ(s.rows(), 5);
  EXPECT_EQ(s.gaps(0), 3);
  EXPECT_TRUE(std::isnan(s.values[0][1]) && std::isnan(s.values[0][2]) && std::isnan(s.values[0][3]));
  EXPECT_EQ(s.lines, (std::vector<int64_t>{2, 3, 5, 6, 7}));
  EXPECT_TRUE(s.times.empty());
}

TEST(SeriesCsv, FeaturesFollowTheTargetInTheGivenOrder) {
  const Series s = parse_series_csv("a,b,c\n1,2,3\n4,5,6\n", "f.csv", {"b", "", {"c", "a"}});
  EXPECT_EQ(s.names, (std::vector<std::string>{"b", "c", "a"}));
  EXPECT_EQ(s.values[0], (std::vector<double>{2, 5}));
  EXPECT_EQ(s.values[1], (std::vector<double>{3, 6}));
  EXPECT_EQ(s.values[2], (std::vector<double>{1, 4}));
}

TEST(SeriesCsv, SplitsQuotedFieldsWithCommasAndQuotes) {
  EXPECT_EQ(split_csv_line(R"("a,b", "say ""hi""" ,c,)", "x:1"),
            (std::vector<std::string>{"a,b", "say \"hi\"", "c", ""}));
  expect_series_has(error_of_series_csv([] { split_csv_line("\"open,1", "x.csv:3"); }), "x.csv:3: unterminated quoted field");
}

TEST(SeriesCsv, InterpolatesGapsLinearlyAndHoldsTheEnds) {
  const double g = NAN;
  // interior: 2 → 8 over three steps: 4, 6; leading gap takes 2, trailing takes 9.
  EXPECT_EQ(interpolate_gaps({g, 2, g, g, 8, 9, g}, "t"), (std::vector<double>{2, 2, 4, 6, 8, 9, 9}));
  EXPECT_EQ(interpolate_gaps({1, 2}, "t"), (std::vector<double>{1, 2}));
  expect_series_has(error_of_series_csv([&] { interpolate_gaps({g, g}, "f.csv: column 'y'"); }), "f.csv: column 'y': no values");
}

// ---- one test per malformed input ----------------------------------------------------------------

TEST(SeriesCsvErrors, MissingColumnListsTheColumns) {
  const std::string m = error_of_series_csv([] { parse_series_csv("\n\nYEAR,SUN\n1,2\n", "s.csv", {"sun", "", {}}); });
  expect_series_has(m, "s.csv:3: no column 'sun' in the header (columns: YEAR, SUN)");
}

TEST(SeriesCsvErrors, MissingFeatureAndTimeColumns) {
  expect_series_has(error_of_series_csv([] { parse_series_csv("a,b\n1,2\n", "s.csv", {"a", "", {"z"}}); }),
             "s.csv:1: no feature column 'z'");
  expect_series_has(error_of_series_csv([] { parse_series_csv("a,b\n1,2\n", "s.csv", {"a", "when", {}}); }),
             "s.csv:1: no time column 'when'");
}

TEST(SeriesCsvErrors, NonNumericValueNamesLineColumnAndValue) {
  const std::string m = error_of_series_csv([] { parse_series_csv("t,y\n1,2.5\n2,3..1\n", "s.csv", {"y", "", {}}); });
  expect_series_has(m, "s.csv:3: column 'y': expected a number (or an empty cell for a gap), got '3..1'");
  expect_series_has(error_of_series_csv([] { parse_series_csv("t,y\n1,inf\n", "s.csv", {"y", "", {}}); }), "s.csv:2: column 'y'");
  expect_series_has(error_of_series_csv([] { parse_series_csv("t,y\n1,1e999\n", "s.csv", {"y", "", {}}); }), "got '1e999'");
}

TEST(SeriesCsvErrors, WrongFieldCount) {
  expect_series_has(error_of_series_csv([] { parse_series_csv("t,y\n1,2\n2,3,4\n", "s.csv", {"y", "", {}}); }),
             "s.csv:3: expected 2 comma-separated fields (as in the header), got 3");
}

TEST(SeriesCsvErrors, EmptyFileAndNoDataRows) {
  expect_series_has(error_of_series_csv([] { parse_series_csv("\n \n", "e.csv", {"y", "", {}}); }),
             "e.csv: empty file (expected a header line with column names)");
  expect_series_has(error_of_series_csv([] { parse_series_csv("t,y\n", "h.csv", {"y", "", {}}); }), "h.csv:1: no data rows");
}

TEST(SeriesCsvErrors, HeaderProblems) {
  expect_series_has(error_of_series_csv([] { parse_series_csv("y,y\n1,2\n", "d.csv", {"y", "", {}}); }),
             "d.csv:1: header: duplicate column name 'y'");
  expect_series_has(error_of_series_csv([] { parse_series_csv("y,\n1,2\n", "d.csv", {"y", "", {}}); }),
             "d.csv:1: header: column 2 has no name");
  expect_series_has(error_of_series_csv([] { parse_series_csv("t,y\n,2\n", "d.csv", {"y", "t", {}}); }),
             "d.csv:2: time column 't': empty");
}

TEST(SeriesCsvErrors, MissingFile) {
  expect_series_has(error_of_series_csv([] { read_series_csv("/nonexistent/x.csv", {"y", "", {}}); }), "/nonexistent/x.csv");
}
