// recurrent/data/series_csv.h — numeric time series from a CSV file with a header (forecasting).
//
// Format: the first non-blank line is the header (column names); every further non-blank line is one
// time step, in time order, with as many comma-separated fields as the header. Fields may be quoted
// ("YEAR","SUNACTIVITY" as in statsmodels' sunspots.csv; "" inside quotes is one quote); surrounding
// spaces are trimmed. Blank lines are skipped (line numbers in messages stay those of the file).
//
// Selected columns: the target `column`, then the `features` (extra input columns, in the given
// order); `time_column` (optional) is kept as text for forecasts and plots.
// A value is a decimal number (strtod syntax, finite). An EMPTY cell, or NA / NaN (any case), is a
// GAP (stored as NaN): statsmodels' weekly CO2 has 59 empty cells. What happens to gaps is the
// caller's decision (interpolate_gaps below, or skipping what touches them), never silent here.
//
// Errors (recurrent::Error, one line) name the file, the 1-based line and what was expected: no
// header, a missing column (listing the columns there are), a duplicate column name, a row with the
// wrong number of fields, a non-numeric value (naming the column and quoting the value), an
// unterminated quote, no data rows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace recurrent::data {

struct SeriesCsvOptions {
  std::string column;                 // the series to forecast (required)
  std::string time_column;            // optional
  std::vector<std::string> features;  // optional extra input columns
};

struct Series {
  std::string source;                      // file name, for messages
  std::vector<std::string> names;          // [C]: the target column, then the features
  std::vector<std::vector<double>> values; // [C][N]; NaN = gap
  std::vector<std::string> times;          // [N] the time column's text (empty without one)
  std::vector<int64_t> lines;              // [N] the 1-based file line of each row
  int64_t rows() const { return lines.empty() ? 0 : static_cast<int64_t>(lines.size()); }
  int64_t gaps(size_t channel) const;      // NaN count of one channel
};

// Fields of one CSV line (quotes removed, spaces trimmed); `where` = "file:line" for errors.
std::vector<std::string> split_csv_line(const std::string& line, const std::string& where);

Series parse_series_csv(const std::string& text, const std::string& source, const SeriesCsvOptions& o);
Series read_series_csv(const std::string& path, const SeriesCsvOptions& o);

// Gaps filled by linear interpolation in the row index between the nearest values before and after
// (v[i] = v[a] + (v[b] − v[a])·(i − a)/(b − a)); leading / trailing gaps take the first / last value.
// A channel without any value throws Error(where, ...).
std::vector<double> interpolate_gaps(const std::vector<double>& v, const std::string& where);

}  // namespace recurrent::data
