// The forecaster settings a user may leave out, read off the TRAINING part of the series only (issue 29:
// defaults that hold on series nobody tuned for). The rules (tasks/forecast.h, SeriesShape):
//   relative  lag-1 autocorrelation of the levels ≥ 0.95: a persistent (trending, random-walk-like)
//             series is modelled relative to its last value, so forecasts may leave the training range;
//   season    the smallest lag k ∈ [2, n/3] at a local maximum of the autocorrelation of the levels minus
//             their least-squares line (sunspots: 11 years; weekly CO2: 52) that reaches 0.8 of the highest such
//             peak (a season, not one of its multiples), if that highest peak is ≥ 0.2; else 1;
//   lookback  2·season when there is a season (two cycles), else twice the last lag before the
//             autocorrelation (of the first differences when relative, of the detrended levels otherwise)
//             first falls inside ±2/√n (white-noise band); clamped to [8, 128] and to
//             a third of the training rows;
//   seasonal residual  (not relative, season ≥ 2) when the seasonal-naive forecast's in-sample MAE is below
//             the naive one's: the model predicts corrections to the seasonal-naive forecast.
#include <algorithm>
#include <cmath>

#include "recurrent/core/error.h"
#include "recurrent/tasks/forecast.h"

namespace recurrent::tasks {

std::vector<double> autocorrelation(const std::vector<double>& x, int64_t max_lag) {
  const auto n = static_cast<int64_t>(x.size());
  std::vector<double> r(static_cast<size_t>(std::max<int64_t>(max_lag, 0) + 1), 0.0);
  if (n < 2) return r;
  double mean = 0;
  for (double v : x) mean += v;
  mean /= static_cast<double>(n);
  double c0 = 0;
  for (double v : x) c0 += (v - mean) * (v - mean);
  if (c0 <= 0) return r;
  for (int64_t k = 0; k <= max_lag && k < n; ++k) {
    double c = 0;
    for (int64_t t = k; t < n; ++t) c += (x[t] - mean) * (x[t - k] - mean);
    r[k] = c / c0;
  }
  return r;
}

namespace {

// x minus its least-squares line a + b·t.
std::vector<double> detrended(const std::vector<double>& x) {
  const auto n = static_cast<double>(x.size());
  double st = 0, sx = 0, stt = 0, stx = 0;
  for (size_t t = 0; t < x.size(); ++t) st += t, sx += x[t], stt += double(t) * t, stx += t * x[t];
  const double den = n * stt - st * st, b = den > 0 ? (n * stx - st * sx) / den : 0.0, a = (sx - b * st) / n;
  std::vector<double> out(x.size());
  for (size_t t = 0; t < x.size(); ++t) out[t] = x[t] - a - b * static_cast<double>(t);
  return out;
}

}  // namespace

SeriesShape series_shape(const std::vector<double>& y, int64_t train_end) {
  RC_CHECK(train_end >= 4 && train_end <= static_cast<int64_t>(y.size()), "series_shape", "needs >= 4 training rows");
  const std::vector<double> levels(y.begin(), y.begin() + train_end);
  SeriesShape s;
  s.lag1 = autocorrelation(levels, 1)[1];
  s.relative = s.lag1 >= 0.95;
  // The season: from the levels with their least-squares line removed (a trend would hide the cycle;
  // first differences would drown it in noise).
  const auto n = static_cast<int64_t>(levels.size());
  const int64_t max_lag = std::max<int64_t>(2, n / 3);
  const std::vector<double> r = autocorrelation(detrended(levels), max_lag + 1);
  double top = 0;  // the highest local maximum at lag ≥ 2
  auto peak = [&](int64_t k) { return r[k] >= r[k - 1] && r[k] >= r[k + 1]; };
  for (int64_t k = 2; k <= max_lag; ++k)
    if (peak(k)) top = std::max(top, r[k]);
  s.season = 1;
  s.season_acf = 0;
  if (top >= 0.2)  // the first peak close to the highest: the season, not one of its multiples
    for (int64_t k = 2; k <= max_lag && s.season == 1; ++k)
      if (peak(k) && r[k] >= 0.8 * top) s.season = k, s.season_acf = r[k];
  int64_t lookback = 2 * s.season;
  if (s.season == 1) {  // the reach of what the model sees: differences when relative, else the levels
    std::vector<double> x = detrended(levels);
    if (s.relative) {
      x.clear();
      for (int64_t t = 1; t < n; ++t) x.push_back(levels[t] - levels[t - 1]);
    }
    const std::vector<double> rx = autocorrelation(x, max_lag);
    const double band = 2.0 / std::sqrt(static_cast<double>(x.size()));
    int64_t k = 1;
    while (k < max_lag && std::fabs(rx[k]) >= band) ++k;
    lookback = 2 * (k - 1);
  }
  // Residual to the seasonal-naive forecast when that beats the naive one in-sample (the season carries more
  // of the signal than the last value does).
  if (!s.relative && s.season > 1) {
    double naive = 0, seasonal = 0;
    for (int64_t t = s.season; t < n; ++t)
      naive += std::fabs(levels[t] - levels[t - 1]), seasonal += std::fabs(levels[t] - levels[t - s.season]);
    s.seasonal_residual = seasonal < naive;
  }
  s.lookback = std::clamp<int64_t>(lookback, 8, 128);
  s.lookback = std::max<int64_t>(1, std::min(s.lookback, train_end / 3));
  return s;
}

}  // namespace recurrent::tasks
