// libFuzzer harness: CSV series (data/series_csv.h). The columns asked for come from the input's own
// header (target: the last column, time: the first, features: the ones between), so real files
// reach the data rows; then every channel's gaps are interpolated.
#include "fuzz_util.h"
#include "recurrent/data/series_csv.h"

using namespace recurrent;

namespace {

void parse(const std::string& text) {
  const std::string first = text.substr(0, text.find('\n'));
  const std::vector<std::string> cols = data::split_csv_line(first, "fuzz.csv:1");
  data::SeriesCsvOptions o;
  o.column = cols.empty() ? "value" : cols.back();
  if (cols.size() >= 2) o.time_column = cols.front();
  for (size_t i = 1; i + 1 < cols.size() && i < 4; ++i) o.features.push_back(cols[i]);
  const data::Series s = data::parse_series_csv(text, "fuzz.csv", o);
  if (s.values.size() != s.names.size()) fuzz::fail("s.values.size() != s.names.size()");
  for (size_t c = 0; c < s.values.size(); ++c) {
    if (static_cast<int64_t>(s.values[c].size()) != s.rows()) fuzz::fail("static_cast<int64_t>(s.values[c].size()) != s.rows()");
    (void)s.gaps(c);
    RECURRENT_FUZZ_EXPECT_ERRORS(data::interpolate_gaps(s.values[c], "fuzz.csv"));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  RECURRENT_FUZZ_EXPECT_ERRORS(parse(std::string(fuzz::as_text(data, size))));
  return 0;
}
