// Echo state network forecasting: the series, its normalisation, the inputs and one-step targets, and
// the evaluation of one-step (teacher-forced) and free-run (fed-back) predictions on a part of the
// chronological split (recurrent/tasks/esn.h has the protocol).
#include <cmath>
#include <cstdio>

#include "recurrent/core/error.h"
#include "recurrent/tasks/esn.h"

namespace recurrent::tasks {

EsnSeries load_esn_series(const std::string& csv_path, const EsnConfig& cfg) {
  EsnSeries d;
  d.series = data::read_series_csv(csv_path, cfg.csv_options());
  for (size_t c = 0; c < d.series.values.size(); ++c)
    d.filled.push_back(data::interpolate_gaps(d.series.values[c], csv_path + ": column " + d.series.names[c]));
  const int64_t n = d.series.rows();
  d.split = chronological_split(n, cfg.valid_frac, cfg.test_frac, 1, cfg.horizon, csv_path);
  // The fit needs at least one step after the washout whose next value is in the training part.
  RC_CHECK(cfg.washout + 1 < d.split.train_end, "--washout", "expected fewer steps than the training part's ",
           d.split.train_end, " rows minus one (", csv_path, " has ", n, " rows; the training part is the first ",
           d.split.train_end, "), got ", cfg.washout);
  return d;
}

namespace {
// The target channel as the model reads it: the gap-filled series, or its first differences (0 at t = 0).
std::vector<double> modelled_target(const EsnConfig& cfg, const EsnSeries& d) {
  std::vector<double> v = d.filled[0];
  if (!cfg.difference) return v;
  for (size_t t = v.size(); t-- > 1;) v[t] -= v[t - 1];
  v[0] = 0.0;
  return v;
}
}  // namespace

void fit_esn_normalisation(EsnConfig& cfg, const EsnSeries& d) {
  cfg.mean.clear(), cfg.stdev.clear();
  std::vector<std::vector<double>> channels = d.series.values;
  if (cfg.difference) {  // Δy over the training rows whose two values are observed
    const std::vector<double>& y = d.y();
    channels[0].assign(y.size(), std::nan(""));
    for (size_t t = 1; t < y.size(); ++t) channels[0][t] = y[t] - y[t - 1];
  }
  for (const std::vector<double>& v : channels) {
    double s = 0, ss = 0;
    int64_t k = 0;
    for (int64_t t = 0; t < d.split.train_end; ++t)
      if (!std::isnan(v[t])) s += v[t], ss += v[t] * v[t], ++k;
    const double mean = k ? s / static_cast<double>(k) : 0.0;
    const double var = k ? ss / static_cast<double>(k) - mean * mean : 0.0;
    cfg.mean.push_back(mean);
    cfg.stdev.push_back(var > 1e-24 ? std::sqrt(var) : 1.0);
  }
}

std::vector<double> esn_inputs(const EsnConfig& cfg, const EsnSeries& d) {
  const int64_t n = d.series.rows(), K = cfg.inputs;
  std::vector<double> u(static_cast<size_t>(n * K));
  const std::vector<double> y0 = modelled_target(cfg, d);
  for (int64_t t = 0; t < n; ++t) {
    int64_t k = 0;
    for (size_t c = cfg.target_input ? 0 : 1; c < d.filled.size(); ++c, ++k)
      u[t * K + k] = ((c == 0 ? y0[t] : d.filled[c][t]) - cfg.mean[c]) / cfg.stdev[c];
  }
  return u;
}

std::vector<double> esn_targets(const EsnConfig& cfg, const EsnSeries& d) {
  const int64_t n = d.series.rows();
  std::vector<double> z(static_cast<size_t>(n), std::nan(""));
  for (int64_t t = 0; t + 1 < n; ++t)
    if (!std::isnan(d.y()[t + 1]))
      z[t] = (d.y()[t + 1] - (cfg.difference ? d.filled[0][t] : 0.0) - cfg.mean[0]) / cfg.stdev[0];
  return z;
}

namespace {

struct PartRows {
  int64_t a = 0, b = 0;
};
PartRows part_rows(const SeriesSplit& s, Part p) {
  if (p == Part::train) return {0, s.train_end};
  if (p == Part::valid) return {s.train_end, s.valid_end};
  return {s.valid_end, s.n};
}

// Origins t of the part for horizon H: t ≥ washout and ≥ season − 1, targets t+1 … t+H inside the part
// and observed.
std::vector<int64_t> esn_origins(const EsnConfig& c, const EsnSeries& d, Part p, int64_t H) {
  const PartRows r = part_rows(d.split, p);
  std::vector<int64_t> out;
  for (int64_t t = std::max({r.a - 1, c.washout, c.season - 1}); t + H <= r.b - 1; ++t) {
    bool ok = true;
    for (int64_t k = t + 1; ok && k <= t + H; ++k) ok = !std::isnan(d.y()[k]);
    if (ok) out.push_back(t);
  }
  return out;
}

// Predictions [origins × H] in original units: step 1 from the teacher-forced state x(t), later steps
// with each prediction fed back as the next input.
std::vector<double> predict(const EchoStateNetwork& m, const EsnSeries& d, const std::vector<double>& u,
                            const std::vector<double>& states, const std::vector<int64_t>& origins, int64_t H) {
  const EsnConfig& c = m.config();
  const int64_t N = c.reservoir, K = c.inputs;
  std::vector<double> out;
  out.reserve(origins.size() * static_cast<size_t>(H));
  std::vector<double> x(static_cast<size_t>(N)), in(static_cast<size_t>(K));
  for (int64_t t : origins) {
    std::copy(states.begin() + t * N, states.begin() + (t + 1) * N, x.begin());
    std::copy(u.begin() + t * K, u.begin() + (t + 1) * K, in.begin());
    double level = c.difference ? d.filled[0][t] : 0.0;  // difference: forecasts accumulate from y_t
    for (int64_t h = 1; h <= H; ++h) {
      double z = 0;
      m.readout(in.data(), x, &z);
      const double v = z * c.stdev[0] + c.mean[0];
      out.push_back(c.difference ? (level += v) : v);
      if (h == H) break;
      in[0] = z;  // horizon > 1 only with the target as the only input (EsnConfig::validate)
      m.step(in.data(), x);
    }
  }
  return out;
}

double part_variance(const EsnSeries& d, Part p) {
  const PartRows r = part_rows(d.split, p);
  double s = 0, ss = 0;
  int64_t k = 0;
  for (int64_t t = r.a; t < r.b; ++t)
    if (!std::isnan(d.y()[t])) s += d.y()[t], ss += d.y()[t] * d.y()[t], ++k;
  const double mean = s / static_cast<double>(k);
  return ss / static_cast<double>(k) - mean * mean;
}

ForecastEval metrics(const EsnConfig& c, const EsnSeries& d, const std::vector<int64_t>& origins,
                     const std::vector<double>& pred, int64_t H) {
  RC_CHECK(!origins.empty(), "--washout", "no forecast origin left in a part after the washout of ", c.washout,
           " steps: lower --washout or change --valid-frac/--test-frac");
  const std::vector<double>& y = d.filled[0];
  return forecast_metrics(pred, naive_forecasts(y, origins, H), seasonal_naive_forecasts(y, origins, H, c.season),
                          window_truth(d.y(), origins, H), H, naive_scale(d.y(), d.split.train_end, d.series.source));
}

}  // namespace

EsnEval evaluate_esn(const EchoStateNetwork& m, const EsnSeries& d, Part part) {
  const EsnConfig& c = m.config();
  const std::vector<double> u = esn_inputs(c, d);
  const std::vector<double> states = m.run(u, d.series.rows());
  EsnEval e;
  e.part = part;
  const double var = part_variance(d, part);
  const std::vector<int64_t> o1 = esn_origins(c, d, part, 1);
  const std::vector<double> p1 = predict(m, d, u, states, o1, 1);
  e.one_step = metrics(c, d, o1, p1, 1);
  e.one_step.part = part;
  e.nmse_one_step = e.one_step.model.rmse * e.one_step.model.rmse / var;
  e.nrmse_horizon = std::sqrt(e.nmse_one_step);
  if (c.horizon > 1) {
    const int64_t H = c.horizon;
    const std::vector<int64_t> oh = esn_origins(c, d, part, H);
    const std::vector<double> ph = predict(m, d, u, states, oh, H);
    e.free_run = metrics(c, d, oh, ph, H);
    e.free_run.part = part;
    double se = 0;
    for (size_t i = 0; i < oh.size(); ++i) {
      const double err = ph[i * H + H - 1] - d.y()[oh[i] + H];
      se += err * err;
    }
    e.nrmse_horizon = std::sqrt(se / static_cast<double>(oh.size()) / var);
  }
  return e;
}

namespace {
std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}
std::string csv_text(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}
}  // namespace

std::string esn_forecast_csv(const EchoStateNetwork& m, const EsnSeries& d, Part part) {
  const EsnConfig& c = m.config();
  const int64_t H = c.horizon, N = d.series.rows(), S = c.season;
  const std::vector<double> u = esn_inputs(c, d);
  const std::vector<double> states = m.run(u, N);
  std::vector<int64_t> o = esn_origins(c, d, part, H);
  o.push_back(N - 1);  // the future: from the last row
  const std::vector<double> pred = predict(m, d, u, states, o, H);
  auto time = [&](int64_t i) {
    return i >= N ? std::string() : d.series.times.empty() ? std::to_string(i) : csv_text(d.series.times[i]);
  };
  std::string out = "index,origin_time,step,time,forecast,actual,naive,seasonal_naive\n";
  for (size_t b = 0; b < o.size(); ++b) {
    const int64_t t = o[b];
    for (int64_t h = 1; h <= H; ++h) {
      const int64_t k = t + h - S * ((h + S - 1) / S);
      const bool known = t + h < N && !std::isnan(d.y()[t + h]);
      out += std::to_string(t + h) + "," + time(t) + "," + std::to_string(h) + "," + time(t + h) + "," +
             num(pred[b * H + h - 1]) + "," + (known ? num(d.y()[t + h]) : "") + "," + num(d.filled[0][t]) + "," +
             (k >= 0 ? num(d.filled[0][k]) : "") + "\n";
    }
  }
  return out;
}

}  // namespace recurrent::tasks
