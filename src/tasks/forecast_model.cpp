// The forecaster: configuration (JSON), module, evaluation, loading and the forecasts CSV
// (contract in tasks/forecast.h).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/tasks/forecast.h"
#include "recurrent/tasks/load_model.h"
#include "recurrent/train/checkpoint.h"
#include "recurrent/io/json_int.h"
#include "tasks/layer_options.h"

namespace recurrent::tasks {

using nlohmann::json;

RNNOptions ForecastConfig::rnn_options() const {
  RNNOptions o;
  o.input_size = channels();
  o.layers = layers;
  o.bidirectional = bidirectional;
  o.dropout = dropout;
  return o;
}

int64_t ForecastConfig::state_features() const { return (bidirectional ? 2 : 1) * layers.back().out_size(); }

void ForecastConfig::validate() const {
  RC_CHECK(!column.empty(), "--column", "give the name of the column to forecast");
  RC_CHECK(lookback >= 1, "--lookback", "expected >= 1, got ", lookback);
  RC_CHECK(horizon >= 1, "--horizon", "expected >= 1, got ", horizon);
  RC_CHECK(season >= 1, "--season", "expected >= 1 (1: no season), got ", season);
  RC_CHECK(!(relative && seasonal_residual), "--seasonal-residual", "and --relative are two references; give one");
  RC_CHECK(!seasonal_residual || (season >= 2 && lookback >= season), "--seasonal-residual",
           "needs a --season >= 2 and a --lookback of at least one season, got season ", season, ", lookback ", lookback);
  RC_CHECK(!layers.empty(), "--layers", "expected at least one layer");
  RC_CHECK(dropout >= 0.0f && dropout < 1.0f, "--dropout", "expected a value in [0, 1), got ", dropout);
  for (const std::string& f : features) {
    RC_CHECK(!f.empty(), "--features", "empty column name in the list");
    RC_CHECK(f != column, "--features", "'", f, "' is the --column itself (its past is always an input)");
  }
  rnn_options().validate();
}

std::string ForecastConfig::to_json() const {
  json ls = json::array();
  for (const LayerSpec& l : layers) ls.push_back(layer_json(l));
  json j = {{"task", "forecast"},      {"column", column},           {"time_column", time_column},
            {"features", features},    {"lookback", lookback},       {"horizon", horizon},
            {"season", season},        {"relative", relative},       {"gaps", gap_policy_name(gaps)},
            {"valid_frac", valid_frac}, {"test_frac", test_frac},    {"mean", mean},
            {"stdev", stdev},          {"layers", ls},               {"bidirectional", bidirectional},
            {"dropout", dropout},      {"multi_step", "direct"},     {"seasonal_residual", seasonal_residual}};
  return j.dump();
}

ForecastConfig ForecastConfig::from_json(const std::string& text, const std::string& where) {
  try {
    json j = json::parse(text);
    RC_CHECK(j.value("task", "") == "forecast", where, "not a forecaster (task '", j.value("task", ""), "')");
    ForecastConfig c;
    c.column = j.at("column").get<std::string>();
    c.time_column = j.at("time_column").get<std::string>();
    c.features = j.at("features").get<std::vector<std::string>>();
    c.lookback = io::json_int_at<int64_t>(j, "lookback");
    c.horizon = io::json_int_at<int64_t>(j, "horizon");
    c.season = io::json_int_at<int64_t>(j, "season");
    c.relative = j.at("relative").get<bool>();
    c.seasonal_residual = j.value("seasonal_residual", false);  // absent in models saved before it existed
    c.gaps = parse_gap_policy(j.at("gaps").get<std::string>());
    c.valid_frac = j.at("valid_frac").get<double>();
    c.test_frac = j.at("test_frac").get<double>();
    c.mean = j.at("mean").get<std::vector<double>>();
    c.stdev = j.at("stdev").get<std::vector<double>>();
    for (const json& l : j.at("layers"))
      c.layers.push_back(layer_from_json(l));
    c.bidirectional = j.at("bidirectional").get<bool>();
    c.dropout = j.at("dropout").get<float>();
    c.validate();
    RC_CHECK(static_cast<int64_t>(c.mean.size()) == c.channels() && c.stdev.size() == c.mean.size(), where,
             "expected one mean and standard deviation per channel");
    return c;
  } catch (const json::exception& e) {
    throw Error(where, std::string("bad model configuration: ") + e.what());
  } catch (const Error& e) {
    throw Error(where, "bad model configuration: " + std::string(e.what()));
  }
}

Forecaster::Forecaster(ForecastConfig cfg, Rng& rng) : cfg_(std::move(cfg)), dropout_rng_(rng.fork(0x666373)) {
  cfg_.validate();
  RC_CHECK(static_cast<int64_t>(cfg_.mean.size()) == cfg_.channels() && cfg_.stdev.size() == cfg_.mean.size(),
           "forecaster", "normalisation not fitted (expected ", cfg_.channels(), " means)");
  rnn_ = register_module("rnn", std::make_shared<RNN>(cfg_.rnn_options(), rng));
  const int64_t F = cfg_.state_features(), H = cfg_.horizon;
  const float k = 1.0f / std::sqrt(static_cast<float>(F));  // torch.nn.Linear default
  Tensor w({H, F}), b({H});
  rng.fill_uniform(w, -k, k);
  rng.fill_uniform(b, -k, k);
  out_w_ = register_parameter("output.weight", w);
  out_b_ = register_parameter("output.bias", b);
}

Tensor Forecaster::inputs(const ForecastData& d, const std::vector<int64_t>& origins) const {
  const int64_t L = cfg_.lookback, B = static_cast<int64_t>(origins.size()), C = cfg_.channels();
  Tensor x({L, B, C});  // x[l, b, c] = z_c(row t_b − L + 1 + l)
  float* p = x.data();
  for (int64_t b = 0; b < B; ++b) {
    const int64_t t = origins[b];
    for (int64_t c = 0; c < C; ++c) {
      const std::vector<double>& v = d.filled[c];
      const double m = cfg_.mean[c], s = cfg_.stdev[c];
      const double base = c == 0 && cfg_.relative ? (v[t] - m) / s : 0.0;
      for (int64_t l = 0; l < L; ++l) p[(l * B + b) * C + c] = static_cast<float>((v[t - L + 1 + l] - m) / s - base);
    }
  }
  return x;
}

double Forecaster::reference(const ForecastData& d, int64_t t, int64_t h) const {
  const std::vector<double>& y = d.filled[0];
  if (cfg_.relative) return (y[t] - cfg_.mean[0]) / cfg_.stdev[0];
  if (!cfg_.seasonal_residual) return 0.0;
  const int64_t S = cfg_.season;
  return (y[t + h - S * ((h + S - 1) / S)] - cfg_.mean[0]) / cfg_.stdev[0];  // the seasonal-naive forecast
}

Tensor Forecaster::targets(const ForecastData& d, const std::vector<int64_t>& origins) const {
  const int64_t B = static_cast<int64_t>(origins.size()), H = cfg_.horizon;
  const double m = cfg_.mean[0], s = cfg_.stdev[0];
  Tensor z({B, H});  // z[b, h−1] = z(y_{t+h}) − reference(t, h)
  for (int64_t b = 0; b < B; ++b) {
    const int64_t t = origins[b];
    for (int64_t h = 1; h <= H; ++h)
      z.data()[b * H + h - 1] = static_cast<float>((d.y()[t + h] - m) / s - reference(d, t, h));
  }
  return z;
}

Var Forecaster::forward(const Tensor& x) {
  RC_CHECK(x.dim() == 3 && x.size(0) == cfg_.lookback && x.size(2) == cfg_.channels(), "forecaster",
           "expected inputs [L, B, C] = [", cfg_.lookback, ", B, ", cfg_.channels(), "], got ", shape_str(x.shape()));
  const int64_t B = x.size(1);
  RNNOutput out = rnn_->forward(Var(x));
  const Var& h = out.final_state.h.back();  // [D, B, R]
  const int64_t D = h.value().shape()[0], R = h.value().shape()[2];
  Var state = D == 1 ? reshape(h, {B, R}) : reshape(transpose(h, 0, 1), {B, D * R});  // [B, F]
  return linear(dropout(state, cfg_.dropout, is_training(), dropout_rng_), out_w_, out_b_);  // [B, H]
}

std::vector<double> Forecaster::forecast(const ForecastData& d, const std::vector<int64_t>& origins, int64_t batch) {
  NoGradGuard ng;
  const bool was_training = is_training();
  eval();
  const int64_t H = cfg_.horizon;
  const double m = cfg_.mean[0], s = cfg_.stdev[0];
  std::vector<double> out;
  for (size_t a = 0; a < origins.size(); a += static_cast<size_t>(batch)) {
    const std::vector<int64_t> o(origins.begin() + a, origins.begin() + std::min(origins.size(), a + batch));
    const Var y = forward(inputs(d, o));  // [B, H]
    for (size_t b = 0; b < o.size(); ++b)
      for (int64_t h = 0; h < H; ++h) out.push_back((y.value().data()[b * H + h] + reference(d, o[b], h + 1)) * s + m);
  }
  train(was_training);
  return out;
}

ForecastEval evaluate_forecaster(Forecaster& m, const ForecastData& d, Part part) {
  const ForecastConfig& c = m.config();
  const std::vector<int64_t>& o = d.origins[static_cast<int>(part)];
  const std::vector<double> pred = m.forecast(d, o), truth = window_truth(d.y(), o, c.horizon);
  ForecastEval e = forecast_metrics(pred, naive_forecasts(d.filled[0], o, c.horizon),
                                    seasonal_naive_forecasts(d.filled[0], o, c.horizon, c.season), truth, c.horizon,
                                    naive_scale(d.y(), d.split.train_end, d.series.source));
  e.part = part;
  double sq = 0;
  for (size_t i = 0; i < pred.size(); ++i) sq += (pred[i] - truth[i]) * (pred[i] - truth[i]);
  e.loss = sq / static_cast<double>(pred.size()) / (c.stdev[0] * c.stdev[0]);
  return e;
}

std::unique_ptr<Forecaster> load_forecaster(const std::string& model_path) {
  return load_trained<Forecaster, ForecastConfig>(model_path);
}

namespace {
std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}
std::string csv_text(const std::string& s) {  // quoted when it holds a comma or a quote
  if (s.find_first_of(",\"") == std::string::npos) return s;
  std::string q = "\"";
  for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}
}  // namespace

std::string forecast_csv(Forecaster& m, const ForecastData& d, Part part) {
  const ForecastConfig& c = m.config();
  const int64_t H = c.horizon, N = d.split.n;
  auto time = [&](int64_t i) { return i >= N ? std::string() : d.series.times.empty() ? std::to_string(i) : csv_text(d.series.times[i]); };
  std::vector<int64_t> o = d.origins[static_cast<int>(part)];
  o.push_back(N - 1);  // the future: from the last row
  const std::vector<double> pred = m.forecast(d, o);
  std::string out = "index,origin_time,step,time,forecast,actual,naive,seasonal_naive\n";
  for (size_t b = 0; b < o.size(); ++b) {
    const int64_t t = o[b];
    for (int64_t h = 1; h <= H; ++h) {
      const int64_t k = t + h - c.season * ((h + c.season - 1) / c.season);
      const bool known = t + h < N;
      out += std::to_string(t + h) + "," + time(t) + "," + std::to_string(h) + "," + time(t + h) + "," +
             num(pred[b * H + h - 1]) + "," + (known && !std::isnan(d.y()[t + h]) ? num(d.y()[t + h]) : "") + "," +
             num(d.filled[0][t]) + "," + (k >= 0 ? num(d.filled[0][k]) : "") + "\n";
    }
  }
  return out;
}

}  // namespace recurrent::tasks
