// Forecasting (tasks/forecast.h):
//  * metrics against hand-computed values: MAE, RMSE, the in-sample naive MASE scale (gaps skipped),
//    naive and seasonal-naive forecasts, MASE and the per-step MAE;
//  * the chronological split, the windows of each part (targets inside the part, gaps), and the
//    normalisation fitted on the training part only;
//  * relative mode: forecasts move exactly with a level shift of the whole series;
//  * a small LSTM learns a noisy AR(2) series (quasi-periodic, like sunspots) to a test MASE well
//    below both baselines (the untrained model of the same shape fails that test);
//  * an interrupted and resumed run ends with the same weights as an uninterrupted one;
//  * the CLI: train → eval --json keys → predict CSV; bad inputs give one-line errors (file, line).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"
#include "recurrent/data/text_file.h"
#include "recurrent/io/safetensors.h"
#include "recurrent/tasks/forecast.h"
#include "run_cli.h"

using namespace recurrent;
using namespace recurrent::tasks;
namespace fs = std::filesystem;
using recurrent::testing::CmdResult;
using recurrent::testing::run;

namespace {

fs::path tmpdir_forecast(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("recurrent-fc-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

template <typename F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no Error thrown";
  return "";
}

// y_t = 1.6 y_{t−1} − 0.9 y_{t−2} + 0.3 ε_t + 5 (quasi-period ≈ 10 steps), as "t,y" CSV rows.
std::string ar2_csv(int n, uint64_t seed, double shift = 0.0) {
  Rng r(seed);
  std::string s = "t,y\n";
  double a = 0, b = 0;
  for (int i = 0; i < n + 50; ++i) {
    const double y = 1.6 * a - 0.9 * b + 0.3 * r.normal();
    b = a, a = y;
    if (i >= 50) s += std::to_string(i - 50) + "," + std::to_string(y + 5 + shift) + "\n";
  }
  return s;
}

ForecastConfig small_config_forecast(int64_t L, int64_t H, int64_t S) {
  ForecastConfig c;
  c.column = "y";
  c.time_column = "t";
  c.lookback = L, c.horizon = H, c.season = S;
  c.layers = {LayerSpec{CellType::lstm, 16, 0}};
  return c;
}

ForecastData data_of(const std::string& csv, ForecastConfig& c) {
  ForecastData d = prepare_forecast_data(data::parse_series_csv(csv, "mem.csv", c.csv_options()), c);
  fit_normalisation(c, d);
  return d;
}

ForecastTrainOptions train_opts(const std::string& data, const fs::path& out) {
  ForecastTrainOptions o;
  o.data = data, o.column = "y", o.time_column = "t";
  o.lookback = 16, o.horizon = 3, o.season = 10;
  o.hidden = "16";
  o.batch = 16, o.epochs = 25, o.lr = 1e-2;
  o.out = out.string();
  o.quiet = true;
  o.seed = 5;
  return o;
}

nlohmann::json results_forecast(const fs::path& out) {
  return nlohmann::json::parse(data::read_file((out / "results.json").string()));
}

}  // namespace

// ---- metrics by hand ---------------------------------------------------------------------------------

TEST(ForecastMetrics, MaeAndRmse) {
  const ErrorStats e = error_stats({1, 2, 3}, {2, 2, 5});  // errors −1, 0, −2
  EXPECT_EQ(e.n, 3);
  EXPECT_DOUBLE_EQ(e.mae, 1.0);                   // (1 + 0 + 2) / 3
  EXPECT_DOUBLE_EQ(e.rmse, std::sqrt(5.0 / 3.0));  // √((1 + 0 + 4) / 3)
  EXPECT_THROW(error_stats({1}, {1, 2}), Error);
}

TEST(ForecastMetrics, NaiveScaleSkipsPairsWithAGap) {
  const double g = NAN;
  // |3−1| = 2, |2−3| = 1, (2, gap) and (gap, 5) skipped, |4−5| = 1; the row at index 6 is past `end`.
  EXPECT_DOUBLE_EQ(naive_scale({1, 3, 2, g, 5, 4, 100}, 6, "t"), 4.0 / 3.0);
  EXPECT_THROW(naive_scale({2, 2, 2}, 3, "t"), Error);  // no change at all: MASE undefined
}

TEST(ForecastMetrics, NaiveAndSeasonalNaiveForecasts) {
  const std::vector<double> y = {10, 11, 12, 13, 14, 15, 16};
  EXPECT_EQ(naive_forecasts(y, {3, 4}, 2), (std::vector<double>{13, 13, 14, 14}));
  // S = 2, H = 3 from origin 5: h=1 → y[4], h=2 → y[5], h=3 → y[5+3−4] = y[4].
  EXPECT_EQ(seasonal_naive_forecasts(y, {5}, 3, 2), (std::vector<double>{14, 15, 14}));
  // S = 1 is the naive forecast.
  EXPECT_EQ(seasonal_naive_forecasts(y, {3, 4}, 2, 1), naive_forecasts(y, {3, 4}, 2));
  EXPECT_THROW(seasonal_naive_forecasts(y, {1}, 1, 4), Error);  // no value a season back
  EXPECT_EQ(window_truth(y, {3, 4}, 2), (std::vector<double>{14, 15, 15, 16}));
}

TEST(ForecastMetrics, MaseOfModelAndBaselines) {
  // Two windows of H = 2; truth 14 15 | 15 16.
  const std::vector<double> truth = {14, 15, 15, 16}, pred = {14.5, 15, 15, 17}, naive = {13, 13, 14, 14},
                            snaive = {12, 12, 13, 13};
  const ForecastEval e = forecast_metrics(pred, naive, snaive, truth, 2, 0.5);
  EXPECT_EQ(e.windows, 2);
  EXPECT_DOUBLE_EQ(e.model.mae, 1.5 / 4);             // (0.5 + 0 + 0 + 1) / 4
  EXPECT_DOUBLE_EQ(e.model.rmse, std::sqrt(1.25 / 4));  // (0.25 + 1) / 4
  EXPECT_DOUBLE_EQ(e.mase, 0.375 / 0.5);
  EXPECT_DOUBLE_EQ(e.naive.mae, 1.5);                 // (1 + 2 + 1 + 2) / 4
  EXPECT_DOUBLE_EQ(e.naive_mase, 3.0);
  EXPECT_DOUBLE_EQ(e.seasonal_naive_mase, 2.5 / 0.5);  // (2 + 3 + 2 + 3) / 4 = 2.5
  ASSERT_EQ(e.mae_by_step.size(), 2u);
  EXPECT_DOUBLE_EQ(e.mae_by_step[0], 0.25);  // h=1: (0.5 + 0) / 2
  EXPECT_DOUBLE_EQ(e.mae_by_step[1], 0.5);   // h=2: (0 + 1) / 2
}

// ---- split, windows, gaps, normalisation --------------------------------------------------------

TEST(ForecastData, ChronologicalSplitAndTooFewRows) {
  const SeriesSplit s = chronological_split(100, 0.15, 0.15, 10, 3, "f.csv");
  EXPECT_EQ(s.train_end, 70);
  EXPECT_EQ(s.valid_end, 85);
  const std::string m = error_of([] { chronological_split(20, 0.15, 0.15, 13, 2, "f.csv"); });
  EXPECT_NE(m.find("f.csv: 20 rows are too few: expected at least 15 training rows"), std::string::npos) << m;
  EXPECT_THROW(chronological_split(100, 0.5, 0.5, 1, 1, "f.csv"), Error);
}

TEST(ForecastData, WindowsKeepTheirTargetsInsideThePartAndSkipGappedTargets) {
  // 20 rows → train [0, 14), valid [14, 17), test [17, 20); L = 4, H = 2; gaps at rows 2 and 9.
  std::string csv = "t,y\n";
  for (int i = 0; i < 20; ++i) csv += std::to_string(i) + "," + (i == 2 || i == 9 ? std::string() : std::to_string(i % 5)) + "\n";
  ForecastConfig c = small_config_forecast(4, 2, 1);
  const ForecastData d = data_of(csv, c);
  // train origins t ∈ [3, 11], minus those whose targets t+1..t+2 hold row 9 (t = 7, 8).
  EXPECT_EQ(d.origins[0], (std::vector<int64_t>{3, 4, 5, 6, 9, 10, 11}));
  EXPECT_EQ(d.origins[1], (std::vector<int64_t>{13, 14}));  // targets 14..16
  EXPECT_EQ(d.origins[2], (std::vector<int64_t>{16, 17}));  // targets 17..19
  EXPECT_DOUBLE_EQ(d.filled[0][9], 1.5);                    // (row 8 = 3 + row 10 = 0) / 2
  c.gaps = GapPolicy::drop;  // also no gap among the inputs t−3..t
  const ForecastData dd = prepare_forecast_data(data::parse_series_csv(csv, "mem.csv", c.csv_options()), c);
  EXPECT_EQ(dd.origins[0], (std::vector<int64_t>{6}));
  EXPECT_EQ(dd.origins[1], (std::vector<int64_t>{13, 14}));
}

TEST(ForecastData, NormalisationIsFittedOnTheTrainingPartOnly) {
  std::string csv = "t,y\n";
  for (int i = 0; i < 40; ++i) csv += std::to_string(i) + "," + std::to_string(i < 28 ? (i % 2 ? 3.0 : 1.0) : 1000.0) + "\n";
  ForecastConfig c = small_config_forecast(4, 1, 1);
  data_of(csv, c);
  EXPECT_DOUBLE_EQ(c.mean[0], 2.0);  // rows 0..27 alternate 1, 3; the 1000s are valid/test
  EXPECT_DOUBLE_EQ(c.stdev[0], 1.0);
}

TEST(ForecastData, RelativeModeScalesTheTargetByItsChanges) {
  // A trend 10·t plus 0, 2, 0, 2, …: changes alternate 12, 8 (std 2) while the levels spread by ~80;
  // a relative model sees changes, so its target channel is scaled by theirs (the feature keeps its own).
  std::string csv = "t,y,x\n";
  for (int i = 0; i < 40; ++i)
    csv += std::to_string(i) + "," + std::to_string(10 * i + (i % 2 ? 2 : 0)) + "," + std::to_string(i % 3) + "\n";
  for (bool relative : {false, true}) {
    ForecastConfig c = small_config_forecast(4, 1, 1);
    c.features = {"x"};
    c.relative = relative;
    const ForecastData d = data_of(csv, c);
    ASSERT_EQ(d.split.train_end, 28);
    double m = 0, v = 0;  // levels of rows 0..27
    for (int i = 0; i < 28; ++i) m += (10 * i + (i % 2 ? 2 : 0)) / 28.0;
    for (int i = 0; i < 28; ++i) v += std::pow(10 * i + (i % 2 ? 2 : 0) - m, 2) / 28.0;
    EXPECT_DOUBLE_EQ(c.mean[0], m);  // the mean cancels in relative mode; kept as it was
    const double want = relative ? 2.0 * std::sqrt(1.0 - 1.0 / (27.0 * 27.0)) : std::sqrt(v);  // 27 changes: 14 of 12, 13 of 8
    EXPECT_NEAR(c.stdev[0], want, 1e-9) << relative;
    EXPECT_NEAR(c.stdev[1], std::sqrt(45.0 / 28.0 - (27.0 / 28.0) * (27.0 / 28.0)), 1e-12);  // 0, 1, 2, 0, …: 10, 9, 9 of each
  }
  const double g = NAN;  // pairs with a gap are skipped: changes 2, 2, 6 → mean 10/3
  EXPECT_NEAR(relative_scale({1, 3, 5, g, 9, 15, 100}, 6), std::sqrt((4 + 4 + 36) / 3.0 - 100.0 / 9.0), 1e-12);
  EXPECT_EQ(relative_scale({4, 4, 4}, 3), 0.0);  // no change: fit_normalisation keeps the level scale
}

TEST(ForecastData, TooFewWindowsAfterGaps) {
  std::string csv = "t,y\n";
  for (int i = 0; i < 20; ++i) csv += std::to_string(i) + "," + (i >= 17 ? std::string() : std::to_string(i)) + "\n";
  ForecastConfig c = small_config_forecast(4, 1, 1);
  const std::string m = error_of([&] { data_of(csv, c); });
  EXPECT_NE(m.find("mem.csv: no window of the test part has all its targets observed (rows 18..20)"), std::string::npos) << m;
}

// ---- the model -------------------------------------------------------------------------------------

TEST(Forecaster, InputsAndTargetsByHand) {
  // y = 0, 1, 2, …; feature x = 10·y; normalisation set by hand: y (m 1, s 2), x (m 10, s 5).
  std::string csv = "t,y,x\n";
  for (int i = 0; i < 20; ++i) csv += std::to_string(i) + "," + std::to_string(i) + "," + std::to_string(10 * i) + "\n";
  for (bool relative : {false, true}) {
    ForecastConfig c = small_config_forecast(3, 2, 1);
    c.features = {"x"};
    c.relative = relative;
    const ForecastData d = data_of(csv, c);
    c.mean = {1, 10}, c.stdev = {2, 5};
    Rng r(1);
    Forecaster m(c, r);
    const Tensor x = m.inputs(d, {5, 6}), z = m.targets(d, {5, 6});  // [L=3, B=2, C=2], [B=2, H=2]
    ASSERT_EQ(x.shape(), (Shape{3, 2, 2}));
    ASSERT_EQ(z.shape(), (Shape{2, 2}));
    const float base5 = relative ? 2.0f : 0.0f;  // z(y_5) = (5 − 1) / 2
    for (int64_t l = 0; l < 3; ++l) {
      EXPECT_FLOAT_EQ(x.at({l, 0, 0}), (3 + l - 1) / 2.0f - base5) << l;  // rows 3, 4, 5 for origin 5
      EXPECT_FLOAT_EQ(x.at({l, 0, 1}), (10 * (3 + l) - 10) / 5.0f) << l;  // features stay absolute
    }
    EXPECT_FLOAT_EQ(x.at({0, 1, 0}), (4 - 1) / 2.0f - (relative ? 2.5f : 0.0f));  // origin 6 starts at row 4
    EXPECT_FLOAT_EQ(z.at({0, 0}), 2.5f - base5);  // row 6
    EXPECT_FLOAT_EQ(z.at({0, 1}), 3.0f - base5);  // row 7
    EXPECT_FLOAT_EQ(z.at({1, 1}), 3.5f - (relative ? 2.5f : 0.0f));  // row 8 from origin 6
  }
}

TEST(Forecaster, UsesFeatureColumns) {
  // y_t = x_{t−1} with x i.i.d.: only the feature's past predicts y; without it nothing beats a guess.
  set_num_threads(1);
  const fs::path d = tmpdir_forecast("features");
  const std::string csv = (d / "xy.csv").string();
  Rng r(21);
  std::string s = "t,y,x\n";
  double prev = 0;
  for (int i = 0; i < 300; ++i) {
    const double x = r.normal();
    s += std::to_string(i) + "," + std::to_string(prev) + "," + std::to_string(x) + "\n";
    prev = x;
  }
  data::write_file(csv, s);
  double mase[2], naive = 0;
  for (int with = 0; with < 2; ++with) {
    ForecastTrainOptions o = train_opts(csv, d / ("run" + std::to_string(with)));
    o.lookback = 4, o.horizon = 1, o.season = 1, o.epochs = 15;
    if (with) o.features = "x";
    ASSERT_EQ(train_forecaster(o), ForecastOutcome::finished);
    const nlohmann::json t = results_forecast(d / ("run" + std::to_string(with))).at("test");
    mase[with] = t.at("mase").get<double>();
    naive = t.at("naive_mase").get<double>();
  }
  EXPECT_LT(mase[1], 0.3 * naive) << "with the feature";
  EXPECT_GT(mase[0], 0.6 * naive) << "without it";
  fs::remove_all(d);
}

TEST(Forecaster, RelativeForecastsMoveWithALevelShift) {
  // One model (normalisation fitted on the original series) applied to the series shifted by +250,
  // far outside the training range: relative forecasts shift by exactly 250, absolute ones do not.
  for (bool relative : {true, false}) {
    ForecastConfig c = small_config_forecast(8, 3, 1);
    c.relative = relative;
    const ForecastData d0 = data_of(ar2_csv(80, 3), c);
    const ForecastData d1 = prepare_forecast_data(data::parse_series_csv(ar2_csv(80, 3, 250.0), "s.csv", c.csv_options()), c);
    Rng r(9);
    Forecaster m(c, r);
    const std::vector<double> f0 = m.forecast(d0, d0.origins[2]), f1 = m.forecast(d1, d1.origins[2]);
    ASSERT_EQ(f0.size(), f1.size());
    double worst = 0;
    for (size_t i = 0; i < f0.size(); ++i) worst = std::max(worst, std::fabs(f1[i] - f0[i] - 250.0));
    if (relative) EXPECT_LT(worst, 1e-6);
    else EXPECT_GT(worst, 1.0);
  }
}

TEST(Forecaster, LearnsAnAr2SeriesBelowBothBaselines) {
  set_num_threads(1);
  const fs::path d = tmpdir_forecast("ar2");
  const std::string csv = (d / "ar2.csv").string();
  data::write_file(csv, ar2_csv(400, 11));
  ForecastTrainOptions o = train_opts(csv, d / "run");
  ASSERT_EQ(train_forecaster(o), ForecastOutcome::finished);
  const nlohmann::json t = results_forecast(d / "run").at("test");
  // The AR(2) noise floor is 0.3 per step; naive and seasonal naive (S = 10) are far above it.
  EXPECT_LT(t.at("mase").get<double>(), 0.8 * t.at("naive_mase").get<double>()) << t.dump();
  EXPECT_LT(t.at("mase").get<double>(), 0.8 * t.at("seasonal_naive_mase").get<double>()) << t.dump();
  // Control: the untrained model of the same shape and seed fails the same test.
  ForecastConfig c = small_config_forecast(16, 3, 10);
  const ForecastData fd = data_of(data::read_file(csv), c);
  Rng init(5);
  Forecaster untrained(c, init);
  const ForecastEval u = evaluate_forecaster(untrained, fd, Part::test);
  EXPECT_FALSE(u.mase < 0.8 * u.naive_mase) << u.mase << " vs naive " << u.naive_mase;
  EXPECT_EQ(u.naive_mase, t.at("naive_mase").get<double>());  // same windows, same baseline
  fs::remove_all(d);
}

TEST(Forecaster, InterruptedAndResumedEqualsUninterrupted) {
  set_num_threads(1);
  const fs::path d = tmpdir_forecast("resume");
  const std::string csv = (d / "ar2.csv").string();
  data::write_file(csv, ar2_csv(200, 4));
  ForecastTrainOptions a = train_opts(csv, d / "a");
  a.epochs = 3;
  a.dropout = 0.2, a.layers = 2;  // dropout between layers and before the output: RNG state must resume
  ForecastTrainOptions b = a;
  b.out = (d / "b").string();
  b.max_steps = 11;  // inside epoch 2 (8 batches per epoch)
  ASSERT_EQ(train_forecaster(a), ForecastOutcome::finished);
  ASSERT_EQ(train_forecaster(b), ForecastOutcome::stopped);
  b.max_steps = 0;
  b.resume = b.out;
  ASSERT_EQ(train_forecaster(b), ForecastOutcome::finished);
  const io::SafeTensors wa = io::read_safetensors((d / "a" / "last.safetensors").string());
  const io::SafeTensors wb = io::read_safetensors((d / "b" / "last.safetensors").string());
  for (const std::string& n : wa.names()) {
    const std::vector<float> x = wa.get_f32(n).to_vector(), y = wb.get_f32(n).to_vector();
    EXPECT_EQ(x, y) << n;
  }
  EXPECT_EQ(results_forecast(d / "a").at("test").dump(), results_forecast(d / "b").at("test").dump());
  fs::remove_all(d);
}

// ---- CLI ------------------------------------------------------------------------------------------------

TEST(ForecastCli, TrainEvalJsonAndPredictCsv) {
  const fs::path d = tmpdir_forecast("cli");
  const std::string csv = (d / "s.csv").string(), out = (d / "run").string();
  data::write_file(csv, ar2_csv(120, 2));
  CmdResult r = run("train forecast --quiet --data " + csv + " --column y --time-column t --lookback 8 --horizon 2 "
                    "--season 10 --hidden 8 --epochs 2 --out " + out + " --threads 1");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("test: MAE"), std::string::npos) << r.out;
  r = run("eval --model " + out + " --data " + csv + " --json --threads 1");
  ASSERT_EQ(r.status, 0) << r.out;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  for (const char* k : {"mae", "rmse", "mase", "naive_mase", "seasonal_naive_mase"}) EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_DOUBLE_EQ(j.at("mase").get<double>(), results_forecast(out).at("test").at("mase").get<double>());
  // The naive baseline by hand: ŷ_{t+h} = y_t over the 17 test origins 101…117 and h = 1, 2, scaled by the
  // training part's (rows 0…83: 120 − 18 − 18) mean |y_t − y_{t−1}|.
  std::vector<double> y;
  for (const std::string& line : data::read_lines(csv))
    if (line[0] != 't') y.push_back(std::stod(line.substr(line.find(',') + 1)));
  ASSERT_EQ(y.size(), 120u);
  double scale = 0, mae = 0;
  for (int t = 1; t < 84; ++t) scale += std::fabs(y[t] - y[t - 1]) / 83;
  for (int t = 101; t <= 117; ++t)
    for (int h = 1; h <= 2; ++h) mae += std::fabs(y[t + h] - y[t]) / 34;
  EXPECT_NEAR(j.at("baselines").at("naive").at("mase").get<double>(), mae / scale, 1e-9 * mae / scale) << j.dump();
  EXPECT_NEAR(j.at("baselines").at("naive").at("mae").get<double>(), mae, 1e-9 * mae);
  EXPECT_EQ(j.at("baselines").at("seasonal_naive").at("season").get<int64_t>(), 10);
  r = run("predict --model " + out + " --data " + csv + " --out " + (d / "f.csv").string() + " --threads 1");
  ASSERT_EQ(r.status, 0) << r.out;
  const std::vector<std::string> lines = data::read_lines((d / "f.csv").string());
  // 120 rows → test rows 102..119: origins 101..117 (17 windows) × 2 steps, + 2 future rows, + header.
  ASSERT_EQ(lines.size(), 1u + 17 * 2 + 2);
  EXPECT_EQ(lines[0], "index,origin_time,step,time,forecast,actual,naive,seasonal_naive");
  EXPECT_EQ(lines[1].substr(0, 12), "102,101,1,10");
  EXPECT_EQ(lines.back().substr(0, 11), "121,119,2,,");  // the future: no time, no actual
  fs::remove_all(d);
}

TEST(ForecastCli, PlotWritesAPng) {
  // scripts/install-deps.sh installs python3-matplotlib, so a missing matplotlib is a failure, not a skip.
  ASSERT_EQ(std::system("/usr/bin/python3 -c 'import matplotlib' >/dev/null 2>&1"), 0)
      << "Debian's python3-matplotlib is not installed (scripts/install-deps.sh installs it)";
  const fs::path d = tmpdir_forecast("plot");
  const std::string csv = (d / "s.csv").string(), out = (d / "run").string(), png = (d / "p.png").string();
  data::write_file(csv, ar2_csv(120, 2));
  ASSERT_EQ(run("train forecast --quiet --data " + csv + " --column y --lookback 8 --horizon 3 --hidden 4 --epochs 1 "
                "--out " + out + " --threads 1").status, 0);
  CmdResult r = run("predict --model " + out + " --data " + csv + " --plot " + png + " --threads 1 >/dev/null");
  ASSERT_EQ(r.status, 0) << r.out;
  const std::string bytes = data::read_file(png);
  ASSERT_GT(bytes.size(), 1000u);
  EXPECT_EQ(bytes.substr(1, 3), "PNG");
  fs::remove_all(d);
}

TEST(ForecastCli, BadInputsGiveOneLineErrors) {
  const fs::path d = tmpdir_forecast("errors");
  const std::string good = (d / "g.csv").string(), bad = (d / "b.csv").string(), tiny = (d / "t.csv").string();
  data::write_file(good, ar2_csv(60, 1));
  data::write_file(bad, "t,y\n0,1\n1,2\n2,x7\n");
  data::write_file(tiny, "t,y\n0,1\n1,2\n2,3\n");
  const std::string base = "train forecast --quiet --lookback 4 --horizon 1 --hidden 4 --epochs 1 --threads 1 --out " +
                           (d / "x").string();
  struct Case {
    std::string args, want;
  } cases[] = {
      {"--data " + good + " --column nope", good + ":1: no column 'nope' in the header (columns: t, y)"},
      {"--data " + good + " --column y --time-column when", good + ":1: no time column 'when'"},
      {"--data " + good + " --column y --features t,zz", good + ":1: no feature column 'zz'"},
      {"--data " + bad + " --column y", bad + ":4: column 'y': expected a number (or an empty cell for a gap), got 'x7'"},
      {"--data " + tiny + " --column y", tiny + ": 3 rows are too few"},
      {"--data " + good + " --column y --gaps fill", "--gaps: expected one of interpolate, drop, got fill"},
      {"--data " + good + " --column y --season 0", "--season: expected a positive integer, got 0"},
  };
  for (const Case& c : cases) {
    const CmdResult r = run(base + " " + c.args);
    EXPECT_NE(r.status, 0) << c.args;
    EXPECT_NE(r.out.find(c.want), std::string::npos) << c.args << "\n" << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  }
  const CmdResult r = run("eval --model " + (d / "missing").string() + " --data " + good + " --json");
  EXPECT_NE(r.status, 0);
  fs::remove_all(d);
}

TEST(SeriesShape, SeasonLookbackAndRelativeFromTheTrainingPart) {
  Rng r(4);
  std::vector<double> seasonal, walk, noise;
  double level = 0;
  for (int t = 0; t < 400; ++t) {
    seasonal.push_back(10 * std::sin(2 * M_PI * t / 12.0) + r.normal());
    level += 0.5 + r.normal();
    walk.push_back(level + 3 * std::sin(2 * M_PI * t / 7.0));
    noise.push_back(r.normal());
  }
  const SeriesShape s = series_shape(seasonal, 300);
  EXPECT_FALSE(s.relative);
  EXPECT_EQ(s.season, 12);
  EXPECT_EQ(s.lookback, 24);
  EXPECT_TRUE(s.seasonal_residual);  // last year's value is far closer than last month's
  const SeriesShape w = series_shape(walk, 300);  // trending: relative, and the season of its differences
  EXPECT_TRUE(w.relative);
  EXPECT_EQ(w.season, 7);
  EXPECT_EQ(w.lookback, 14);
  EXPECT_FALSE(w.seasonal_residual);  // relative already
  const SeriesShape n = series_shape(noise, 300);
  EXPECT_FALSE(n.relative);
  EXPECT_EQ(n.season, 1);
  EXPECT_EQ(n.lookback, 8);
  EXPECT_FALSE(n.seasonal_residual);
  // Only the training part counts: the same noise followed by a huge trend gives the same shape.
  for (int t = 300; t < 400; ++t) noise[t] = 1000.0 * t;
  EXPECT_EQ(series_shape(noise, 300).lookback, 8);
  EXPECT_FALSE(series_shape(noise, 300).relative);
  const std::vector<double> ac = autocorrelation({1, 2, 3, 4}, 2);  // mean 2.5: c0 = 5, c1 = 1.25, c2 = −1.5
  EXPECT_DOUBLE_EQ(ac[0], 1.0);
  EXPECT_DOUBLE_EQ(ac[1], 0.25);
  EXPECT_DOUBLE_EQ(ac[2], -0.3);
}

TEST(Forecaster, StopsByItselfWhenValidationRisesWhileTrainingFalls) {
  // A short noisy series (AR(2) observed through noise of sd 2.5, 120 rows): a 64-unit LSTM memorises the
  // 60 training windows (training loss falls) while the validation loss rises after a few epochs;
  // --patience 10 ends the run long before --epochs 300 and keeps the best epoch's weights.
  set_num_threads(1);
  const fs::path d = tmpdir_forecast("overfit");
  const std::string csv = (d / "noisy.csv").string();
  Rng r(8);
  std::string s = "t,y\n";
  double y1 = 0, y2 = 0;
  for (int i = 0; i < 170; ++i) {
    const double y = 1.6 * y1 - 0.9 * y2 + r.normal();
    y2 = y1, y1 = y;
    if (i >= 50) s += std::to_string(i - 50) + "," + std::to_string(y + 2.5 * r.normal()) + "\n";
  }
  data::write_file(csv, s);
  ForecastTrainOptions o = train_opts(csv, d / "run");
  o.lookback = 24, o.horizon = 1, o.season = 1, o.hidden = "64", o.lr = 3e-3, o.batch = 8, o.epochs = 300;
  o.patience = 10;
  ASSERT_EQ(train_forecaster(o), ForecastOutcome::finished);
  const nlohmann::json res = results_forecast(d / "run");
  const int64_t epochs = res.at("epochs_completed").get<int64_t>(), best = res.at("best_epoch").get<int64_t>();
  EXPECT_TRUE(res.at("stopped_early").get<bool>());
  EXPECT_LT(epochs, 100);
  EXPECT_EQ(epochs, best + 10);
  // metrics.csv: the training loss fell, the validation loss rose past its best, and the model is the best.
  std::vector<double> train_loss, valid_loss, valid_mae;
  const std::string csvm = data::read_file((d / "run" / "metrics.csv").string());
  size_t a = csvm.find('\n') + 1;
  while (a < csvm.size()) {
    const size_t b = csvm.find('\n', a);
    std::vector<double> v;
    size_t p = a;
    for (int k = 0; k < 5; ++k) {
      const size_t q = csvm.find(',', p);
      v.push_back(std::stod(csvm.substr(p, q - p)));
      p = q + 1;
    }
    train_loss.push_back(v[2]), valid_loss.push_back(v[3]), valid_mae.push_back(v[4]);
    a = b + 1;
  }
  ASSERT_EQ(static_cast<int64_t>(train_loss.size()), epochs);
  EXPECT_LT(train_loss.back(), 0.9 * train_loss.front());
  EXPECT_GT(valid_loss.back(), *std::min_element(valid_loss.begin(), valid_loss.end()));
  EXPECT_NEAR(res.at("valid").at("mae").get<double>(), valid_mae[static_cast<size_t>(best - 1)], 1e-5 * valid_mae[0]);
  fs::remove_all(d);
}

TEST(Forecaster, SeasonalResidualForecastsAreCorrectionsToSeasonalNaive) {
  // With the output layer at zero the model's correction is 0: its forecasts ARE the seasonal-naive ones,
  // for every step of the horizon (h ≤ S and h > S); the same model without the mode forecasts the mean.
  for (bool residual : {true, false}) {
    ForecastConfig c = small_config_forecast(12, 8, 5);
    c.seasonal_residual = residual;
    const ForecastData d = data_of(ar2_csv(120, 3), c);
    Rng r(9);
    Forecaster m(c, r);
    for (auto& [name, p] : m.named_parameters())
      if (name.rfind("output.", 0) == 0) p.value().fill_(0.0f);
    const std::vector<int64_t>& o = d.origins[2];
    const std::vector<double> f = m.forecast(d, o), sn = seasonal_naive_forecasts(d.filled[0], o, 8, 5);
    ASSERT_EQ(f.size(), sn.size());
    double worst = 0;
    for (size_t i = 0; i < f.size(); ++i)
      worst = std::max(worst, std::fabs(f[i] - (residual ? sn[i] : c.mean[0])));
    EXPECT_LT(worst, 1e-4) << (residual ? "residual" : "plain");
  }
  ForecastConfig bad = small_config_forecast(4, 1, 5);
  bad.seasonal_residual = true;
  EXPECT_NE(error_of([&] { bad.validate(); }).find("--seasonal-residual"), std::string::npos);
}
