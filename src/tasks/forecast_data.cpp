// Forecasting data and metrics: the chronological split, windows (origins), gaps, normalisation,
// MAE / RMSE / MASE and the naive baselines (contract in tasks/forecast.h).
#include <algorithm>
#include <cmath>

#include "recurrent/core/error.h"
#include "recurrent/tasks/forecast.h"

namespace recurrent::tasks {

GapPolicy parse_gap_policy(const std::string& s) {
  if (s == "interpolate") return GapPolicy::interpolate;
  if (s == "drop") return GapPolicy::drop;
  throw Error("--gaps", "expected interpolate or drop, got '" + s + "'");
}
const char* gap_policy_name(GapPolicy g) { return g == GapPolicy::interpolate ? "interpolate" : "drop"; }

const char* part_name(Part p) { return p == Part::train ? "train" : p == Part::valid ? "valid" : "test"; }
Part parse_part(const std::string& s) {
  if (s == "train") return Part::train;
  if (s == "valid") return Part::valid;
  if (s == "test") return Part::test;
  throw Error("--part", "expected train, valid or test, got '" + s + "'");
}

SeriesSplit chronological_split(int64_t n, double valid_frac, double test_frac, int64_t L, int64_t H,
                                const std::string& where) {
  RC_CHECK(valid_frac > 0 && test_frac > 0 && valid_frac + test_frac < 1, "--valid-frac/--test-frac",
           "expected two fractions > 0 with a sum < 1, got ", valid_frac, " and ", test_frac);
  const int64_t n_test = std::llround(static_cast<double>(n) * test_frac);
  const int64_t n_valid = std::llround(static_cast<double>(n) * valid_frac);
  SeriesSplit s{n, n - n_valid - n_test, n - n_test};
  RC_CHECK(s.train_end >= L + H && n_valid >= H && n_test >= H, where, n, " rows are too few: expected at least ",
           L + H, " training rows (--lookback ", L, " + --horizon ", H, ") and ", H,
           " rows in each of the validation and test parts; the split gives ", s.train_end, " / ", n_valid, " / ", n_test);
  return s;
}

namespace {

// Origins t of `part`: targets t+1 … t+H all inside the part and observed; inputs t−L+1 ≥ 0 (and,
// under GapPolicy::drop, observed in every channel).
std::vector<int64_t> part_origins(const ForecastData& d, const ForecastConfig& c, int64_t a, int64_t b) {
  const int64_t L = c.lookback, H = c.horizon;
  std::vector<int64_t> out;
  for (int64_t t = std::max(a - 1, L - 1); t + H <= b - 1; ++t) {
    bool ok = true;
    for (int64_t k = t + 1; ok && k <= t + H; ++k) ok = !std::isnan(d.y()[k]);
    if (c.gaps == GapPolicy::drop)
      for (const std::vector<double>& ch : d.series.values)
        for (int64_t k = t - L + 1; ok && k <= t; ++k) ok = !std::isnan(ch[k]);
    if (ok) out.push_back(t);
  }
  return out;
}

}  // namespace

ForecastData prepare_forecast_data(data::Series s, const ForecastConfig& cfg) {
  ForecastData d;
  d.series = std::move(s);
  const std::string& src = d.series.source;
  RC_CHECK(static_cast<int64_t>(d.series.values.size()) == cfg.channels(), src, "expected ", cfg.channels(),
           " columns (target and features)");
  d.split = chronological_split(d.series.rows(), cfg.valid_frac, cfg.test_frac, cfg.lookback, cfg.horizon, src);
  RC_CHECK(cfg.season <= d.split.train_end, "--season", "expected a season of at most the ", d.split.train_end,
           " training rows, got ", cfg.season);
  for (size_t c = 0; c < d.series.values.size(); ++c)
    d.filled.push_back(data::interpolate_gaps(d.series.values[c], src + ": column '" + d.series.names[c] + "'"));
  const int64_t bounds[4] = {0, d.split.train_end, d.split.valid_end, d.split.n};
  for (int p = 0; p < 3; ++p) {
    d.origins[p] = part_origins(d, cfg, bounds[p], bounds[p + 1]);
    RC_CHECK(!d.origins[p].empty(), src, "no window of the ", part_name(static_cast<Part>(p)),
             " part has all its targets observed", cfg.gaps == GapPolicy::drop ? " and no gap in its inputs" : "",
             " (rows ", bounds[p] + 1, "..", bounds[p + 1], ")");
  }
  return d;
}

ForecastData load_forecast_data(const std::string& csv_path, const ForecastConfig& cfg) {
  return prepare_forecast_data(data::read_series_csv(csv_path, cfg.csv_options()), cfg);
}

void fit_normalisation(ForecastConfig& cfg, const ForecastData& d) {
  cfg.mean.clear(), cfg.stdev.clear();
  for (size_t c = 0; c < d.series.values.size(); ++c) {
    double s = 0, s2 = 0;
    int64_t n = 0;
    for (int64_t i = 0; i < d.split.train_end; ++i) {
      const double v = d.series.values[c][i];
      if (std::isnan(v)) continue;
      s += v, s2 += v * v, ++n;
    }
    RC_CHECK(n > 0, d.series.source, "column '", d.series.names[c], "' has no value in the training part");
    const double m = s / static_cast<double>(n);
    const double var = std::max(0.0, s2 / static_cast<double>(n) - m * m);
    cfg.mean.push_back(m);
    cfg.stdev.push_back(var > 0 ? std::sqrt(var) : 1.0);  // a constant column: leave its scale
  }
  if (cfg.relative) {  // the target channel is seen as changes: scale it by theirs, not by the levels'
    const double r = relative_scale(d.y(), d.split.train_end);
    if (r > 0) cfg.stdev[0] = r;
  }
}

double relative_scale(const std::vector<double>& y, int64_t train_end) {
  double s = 0, s2 = 0;
  int64_t n = 0;
  for (int64_t t = 1; t < train_end; ++t) {
    const double c = y[t] - y[t - 1];
    if (std::isnan(c)) continue;
    s += c, s2 += c * c, ++n;
  }
  if (n == 0) return 0.0;
  const double m = s / static_cast<double>(n);
  return std::sqrt(std::max(0.0, s2 / static_cast<double>(n) - m * m));
}

// ---- metrics --------------------------------------------------------------------------------------

ErrorStats error_stats(const std::vector<double>& pred, const std::vector<double>& truth) {
  RC_CHECK(pred.size() == truth.size() && !pred.empty(), "metrics", "expected as many forecasts as true values (",
           truth.size(), "), got ", pred.size());
  double abs = 0, sq = 0;
  for (size_t i = 0; i < pred.size(); ++i) {
    const double e = pred[i] - truth[i];
    abs += std::fabs(e), sq += e * e;
  }
  const double n = static_cast<double>(pred.size());
  return {static_cast<int64_t>(pred.size()), abs / n, std::sqrt(sq / n)};
}

double naive_scale(const std::vector<double>& y, int64_t end, const std::string& where) {
  double s = 0;
  int64_t n = 0;
  for (int64_t t = 1; t < end; ++t) {
    if (std::isnan(y[t]) || std::isnan(y[t - 1])) continue;
    s += std::fabs(y[t] - y[t - 1]), ++n;
  }
  RC_CHECK(n > 0 && s > 0, where, "the training part has no two consecutive different values: MASE is undefined");
  return s / static_cast<double>(n);
}

std::vector<double> naive_forecasts(const std::vector<double>& y, const std::vector<int64_t>& origins, int64_t H) {
  std::vector<double> out;
  for (int64_t t : origins)
    for (int64_t h = 1; h <= H; ++h) out.push_back(y[t]);
  return out;
}

std::vector<double> seasonal_naive_forecasts(const std::vector<double>& y, const std::vector<int64_t>& origins,
                                             int64_t H, int64_t S) {
  std::vector<double> out;
  for (int64_t t : origins)
    for (int64_t h = 1; h <= H; ++h) {
      const int64_t k = t + h - S * ((h + S - 1) / S);  // the same season, one (or more) seasons back
      RC_CHECK(k >= 0, "--season", "origin ", t, " has no value one season (", S, ") before step ", h);
      out.push_back(y[k]);
    }
  return out;
}

std::vector<double> window_truth(const std::vector<double>& y, const std::vector<int64_t>& origins, int64_t H) {
  std::vector<double> out;
  for (int64_t t : origins)
    for (int64_t h = 1; h <= H; ++h) out.push_back(y[t + h]);
  return out;
}

ForecastEval forecast_metrics(const std::vector<double>& pred, const std::vector<double>& naive,
                              const std::vector<double>& snaive, const std::vector<double>& truth, int64_t H,
                              double scale) {
  RC_CHECK(H >= 1 && truth.size() % static_cast<size_t>(H) == 0, "metrics", "expected a multiple of H = ", H,
           " values, got ", truth.size());
  ForecastEval e;
  e.windows = static_cast<int64_t>(truth.size()) / H;
  e.scale = scale;
  e.model = error_stats(pred, truth);
  e.naive = error_stats(naive, truth);
  e.seasonal_naive = error_stats(snaive, truth);
  e.mase = e.model.mae / scale;
  e.naive_mase = e.naive.mae / scale;
  e.seasonal_naive_mase = e.seasonal_naive.mae / scale;
  e.mae_by_step.assign(static_cast<size_t>(H), 0.0);
  for (size_t i = 0; i < truth.size(); ++i) e.mae_by_step[i % H] += std::fabs(pred[i] - truth[i]);
  for (double& v : e.mae_by_step) v /= static_cast<double>(e.windows);
  return e;
}

}  // namespace recurrent::tasks
