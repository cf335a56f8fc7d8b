// Numeric series from CSV (contract in data/series_csv.h).
#include "recurrent/data/series_csv.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string_view>

#include "recurrent/core/error.h"
#include "recurrent/data/text_file.h"

namespace recurrent::data {

namespace {

std::string trimmed(std::string_view s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return std::string(s.substr(a, b - a));
}

bool is_blank(std::string_view s) { return trimmed(s).empty(); }

bool is_gap(const std::string& v) {
  if (v.empty()) return true;
  std::string l;
  for (char c : v) l += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return l == "na" || l == "nan";
}

// A finite decimal number, the whole field; else Error naming the line, column and the value.
double parse_value(const std::string& v, const std::string& where, const std::string& column) {
  if (is_gap(v)) return NAN;
  errno = 0;
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  RC_CHECK(end == v.c_str() + v.size() && errno != ERANGE && std::isfinite(x), where, "column '", column,
           "': expected a number (or an empty cell for a gap), got '", v, "'");
  return x;
}

struct Header {
  std::vector<std::string> names;
  int64_t line = 0;
};

int64_t column_index(const Header& h, const std::string& name, const std::string& source, const char* what) {
  for (size_t i = 0; i < h.names.size(); ++i)
    if (h.names[i] == name) return static_cast<int64_t>(i);
  std::string list;
  for (const std::string& n : h.names) list += (list.empty() ? "" : ", ") + n;
  throw Error(source + ":" + std::to_string(h.line), "no " + std::string(what) + " '" + name +
                                                         "' in the header (columns: " + list + ")");
}

}  // namespace

int64_t Series::gaps(size_t channel) const {
  int64_t n = 0;
  for (double v : values.at(channel)) n += std::isnan(v);
  return n;
}

std::vector<std::string> split_csv_line(const std::string& line, const std::string& where) {
  std::vector<std::string> out;
  size_t i = 0;
  const size_t n = line.size();
  while (true) {
    while (i < n && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::string field;
    if (i < n && line[i] == '"') {  // quoted: up to the closing quote; "" is a literal quote
      ++i;
      bool closed = false;
      while (i < n) {
        if (line[i] == '"') {
          if (i + 1 < n && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          closed = true;
          ++i;
          break;
        }
        field += line[i++];
      }
      RC_CHECK(closed, where, "unterminated quoted field (expected a closing \")");
      while (i < n && line[i] != ',') {
        RC_CHECK(std::isspace(static_cast<unsigned char>(line[i])), where,
                 "expected ',' after a quoted field, got '", line[i], "'");
        ++i;
      }
      out.push_back(field);
    } else {
      const size_t b = line.find(',', i);
      out.push_back(trimmed(std::string_view(line).substr(i, (b == std::string::npos ? n : b) - i)));
      i = b == std::string::npos ? n : b;
    }
    if (i >= n) break;
    ++i;  // the comma
    if (i == n) {  // a trailing comma: one more, empty field
      out.emplace_back();
      break;
    }
  }
  return out;
}

Series parse_series_csv(const std::string& text, const std::string& source, const SeriesCsvOptions& o) {
  RC_CHECK(!o.column.empty(), "--column", "give the name of the column to forecast");
  Series s;
  s.source = source;
  Header h;
  std::vector<int64_t> cols;  // [C] field index of the target, then the features
  int64_t time_col = -1;
  size_t a = 0;
  int64_t line_no = 0;
  while (a < text.size()) {
    size_t b = text.find('\n', a);
    if (b == std::string::npos) b = text.size();
    std::string line = text.substr(a, b - a);
    a = b + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (is_blank(line)) continue;
    const std::string where = source + ":" + std::to_string(line_no);
    std::vector<std::string> f = split_csv_line(line, where);
    if (h.line == 0) {  // the header
      h = {f, line_no};
      for (size_t i = 0; i < f.size(); ++i) {
        RC_CHECK(!f[i].empty(), where, "header: column ", i + 1, " has no name");
        for (size_t j = 0; j < i; ++j) RC_CHECK(f[j] != f[i], where, "header: duplicate column name '", f[i], "'");
      }
      cols.push_back(column_index(h, o.column, source, "column"));
      for (const std::string& name : o.features) cols.push_back(column_index(h, name, source, "feature column"));
      if (!o.time_column.empty()) time_col = column_index(h, o.time_column, source, "time column");
      s.names.push_back(o.column);
      s.names.insert(s.names.end(), o.features.begin(), o.features.end());
      s.values.resize(cols.size());
      continue;
    }
    RC_CHECK(f.size() == h.names.size(), where, "expected ", h.names.size(), " comma-separated fields (as in the header), got ",
             f.size());
    for (size_t c = 0; c < cols.size(); ++c) s.values[c].push_back(parse_value(f[cols[c]], where, s.names[c]));
    if (time_col >= 0) {
      RC_CHECK(!f[time_col].empty(), where, "time column '", o.time_column, "': empty");
      s.times.push_back(f[time_col]);
    }
    s.lines.push_back(line_no);
  }
  RC_CHECK(h.line > 0, source, "empty file (expected a header line with column names)");
  RC_CHECK(s.rows() > 0, source + ":" + std::to_string(h.line), "no data rows after the header");
  return s;
}

Series read_series_csv(const std::string& path, const SeriesCsvOptions& o) {
  return parse_series_csv(read_file(path), path, o);
}

std::vector<double> interpolate_gaps(const std::vector<double>& v, const std::string& where) {
  std::vector<double> out(v);
  const int64_t n = static_cast<int64_t>(v.size());
  int64_t prev = -1;  // last index with a value
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(v[i])) continue;
    if (prev < 0) {
      for (int64_t k = 0; k < i; ++k) out[k] = v[i];  // leading gap: the first value
    } else {
      for (int64_t k = prev + 1; k < i; ++k)
        out[k] = v[prev] + (v[i] - v[prev]) * static_cast<double>(k - prev) / static_cast<double>(i - prev);
    }
    prev = i;
  }
  RC_CHECK(prev >= 0, where, "no values at all (every cell is a gap)");
  for (int64_t k = prev + 1; k < n; ++k) out[k] = v[prev];  // trailing gap: the last value
  return out;
}

}  // namespace recurrent::data
