// POST /v1/forecast gives what `recurrent predict` prints for the same forecaster and series: the
// forecast from the series' last row (the CSV's last H rows), for a model with a feature column;
// histories of the wrong width or too short, and horizons past the model's, are refused with 400.
#include <cmath>
#include <sstream>

#include "recurrent/data/text_file.h"
#include "serve_fixture.h"

using namespace recurrent::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, sep);) out.push_back(part);
  if (!s.empty() && s.back() == sep) out.push_back("");
  return out;
}

}  // namespace

TEST(ForecastRoute, AsPredictFromTheLastRow) {
  const fs::path dir = fs::temp_directory_path() / ("recurrent-serve-forecast-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  // y: a noisy wave; x: a feature that leads it.
  std::string csv = "t,y,x\n";
  json history = json::array();
  for (int i = 0; i < 100; ++i) {
    const double y = 5 + std::sin(i * 0.6) + 0.01 * (i % 7), x = std::cos(i * 0.6) + 0.1 * (i % 3);
    csv += std::to_string(i) + "," + std::to_string(y) + "," + std::to_string(x) + "\n";
    history.push_back({std::stod(std::to_string(y)), std::stod(std::to_string(x))});  // the CSV's values
  }
  const std::string data = (dir / "s.csv").string(), model = (dir / "m").string();
  recurrent::data::write_file(data, csv);
  CmdResult r = run("train forecast --data " + data + " --column y --time-column t --features x --lookback 8 "
                    "--horizon 3 --hidden 8 --epochs 2 --quiet --threads 1 --out " + model);
  ASSERT_EQ(r.status, 0) << r.out;
  r = run("predict --threads 1 --model " + model + " --data " + data);
  ASSERT_EQ(r.status, 0) << r.out;
  const std::vector<std::string> rows = split(r.out, '\n');
  ASSERT_GE(rows.size(), 5u) << r.out;
  std::vector<double> want;  // the last 3 rows (before the trailing empty line): the future
  for (size_t i = rows.size() - 4; i + 1 < rows.size(); ++i) {
    const std::vector<std::string> f = split(rows[i], ',');
    ASSERT_GE(f.size(), 5u) << rows[i];
    EXPECT_EQ(f[3], "") << rows[i];  // no time: past the series
    want.push_back(std::stod(f[4]));
  }

  recurrent::serve::ServeOptions o = tiny_options();
  o.models = {{"fc", model}};
  RunningServer s(o);
  auto c = s.client();
  Reply got = post(*c, "/v1/forecast", json{{"history", history}}.dump());
  ASSERT_EQ(got.status, 200) << got.raw;
  ASSERT_EQ(got.body["forecast"].size(), 3u) << got.raw;
  for (size_t h = 0; h < 3; ++h)
    EXPECT_NEAR(got.body["forecast"][h].get<double>(), want[h], 1e-6 * std::max(1.0, std::fabs(want[h]))) << h;
  // Only the last L = 8 rows are read: the tail alone gives the same; a shorter horizon its prefix.
  json tail(history.end() - 8, history.end());
  Reply short_h = post(*c, "/v1/forecast", json{{"history", tail}, {"horizon", 1}, {"model", "fc"}}.dump());
  ASSERT_EQ(short_h.status, 200) << short_h.raw;
  ASSERT_EQ(short_h.body["forecast"].size(), 1u);
  EXPECT_EQ(short_h.body["forecast"][0], got.body["forecast"][0]);

  auto refused = [&](const json& body, const std::string& part) {
    const Reply e = post(*c, "/v1/forecast", body.dump());
    EXPECT_EQ(e.status, 400) << e.raw;
    EXPECT_NE(e.raw.find(part), std::string::npos) << e.raw;
  };
  refused({{"history", json(history.end() - 7, history.end())}}, "reads the last 8 rows (its lookback), got 7");
  refused({{"history", {1, 2, 3, 4, 5, 6, 7, 8}}}, "reads 2 value(s) a row (y, x), got 1");
  refused({{"history", history}, {"horizon", 4}}, "forecasts at most 3 steps");
  EXPECT_EQ(post(*c, "/v1/classify", R"({"text": "a"})").status, 404);  // no classifier served
  auto m = c->Get("/v1/models");
  ASSERT_TRUE(m);
  const json d = json::parse(m->body)["models"][0];
  EXPECT_EQ(d["task"], "forecast");
  EXPECT_EQ(d["lookback"], 8);
  EXPECT_EQ(d["columns"], json({"y", "x"}));
  fs::remove_all(dir);
}
