// recurrent/tasks/forecast.h — time-series forecasting (numbers in, numbers out), direct multi-step.
//
// Windows: a forecast ORIGIN t (0-based row) reads the lookback window of rows t−L+1 … t and
// forecasts rows t+1 … t+H. Inputs x [L, B, C] per step: the target column and the --features
// columns, each z-scored with the mean / standard deviation of its TRAINING-part values. With
// `relative`, the target channel (inputs and outputs) is taken relative to the window's last value
// z_t: the model sees z_{t−L+1..t} − z_t and predicts z_{t+h} − z_t (for trends that leave the
// training range, like CO2), and the target's z-score divides by the standard deviation of its training
// part's one-step CHANGES instead of its levels' (relative_scale: the changes are what the model sees). With `seasonal_residual` the model sees the window as it is and predicts the
// correction to the seasonal-naive forecast, z_{t+h} − z_{t+h−S·⌈h/S⌉} (for series whose season is the
// strongest part of the signal).
//
//   x [L, B, C] → RNN stack (any cell per layer; bidirectional reads the window both ways) →
//   final state of the last layer [B, F] (F = D·R) → dropout → linear [H, F] → ŷ [B, H]
//   loss = mean over B·H of (ŷ − z_target)²   (normalised units)
// Direct ("multi-output") multi-step: all H outputs from the last state in one pass, no feedback of
// forecasts (Taieb et al. 2012 call it MIMO), so the h-step error does not compound through a loop.
//
// Chronological split of the N rows: the last round(N·test_frac) rows are the test part, the
// round(N·valid_frac) before them the validation part, the rest the training part. A window belongs
// to the part that holds ALL its targets t+1 … t+H (its inputs may reach back into earlier parts:
// that history is known at forecast time). Rolling origins: every such t is one window.
//
// Gaps (empty cells): inputs are always complete — gaps filled by linear interpolation
// (data::interpolate_gaps); a window whose targets include a gap is never used (loss or metrics).
// GapPolicy::drop also skips windows whose inputs include a gap.
//
// Metrics (original units, over every (window, h) pair of a part): MAE, RMSE and MASE = MAE / scale,
// scale = the in-sample naive one-step MAE on the training part, (1/#pairs) Σ_{t=1}^{n_train−1}
// |y_t − y_{t−1}| over the pairs where both values are observed (Hyndman & Koehler 2006). Beside them
// the baselines: naive ŷ_{t+h} = y_t, seasonal naive ŷ_{t+h} = y_{t+h−S·⌈h/S⌉} (S = season; the
// interpolated value where y is a gap, as the model sees it).
//
// Legend: L lookback, H horizon, B batch, C channels (1 + features), R, F as above.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "recurrent/core/rng.h"
#include "recurrent/data/series_csv.h"
#include "recurrent/nn/module.h"
#include "recurrent/nn/rnn.h"
#include "recurrent/train/run.h"
#include "recurrent/train/search.h"

namespace recurrent::tasks {

enum class GapPolicy { interpolate, drop };
GapPolicy parse_gap_policy(const std::string& s);  // "interpolate" | "drop"; throws Error("--gaps", ...)
const char* gap_policy_name(GapPolicy g);

struct ForecastConfig {
  std::string column, time_column;
  std::vector<std::string> features;
  int64_t lookback = 0, horizon = 1, season = 1;
  bool relative = false;
  bool seasonal_residual = false;  // outputs: corrections to the seasonal-naive forecast (needs L ≥ S ≥ 2)
  GapPolicy gaps = GapPolicy::interpolate;
  double valid_frac = 0.15, test_frac = 0.15;
  std::vector<double> mean, stdev;  // [C] fitted on the training part
  std::vector<LayerSpec> layers;
  bool bidirectional = false;
  float dropout = 0.0f;

  int64_t channels() const { return 1 + static_cast<int64_t>(features.size()); }
  RNNOptions rnn_options() const;
  int64_t state_features() const;  // F
  data::SeriesCsvOptions csv_options() const { return {column, time_column, features}; }
  std::string to_json() const;
  static ForecastConfig from_json(const std::string& json, const std::string& where);
  void validate() const;
};

enum class Part { train = 0, valid = 1, test = 2 };
const char* part_name(Part p);
Part parse_part(const std::string& s);  // "train" | "valid" | "test"

// Rows [0, train_end) train, [train_end, valid_end) valid, [valid_end, n) test.
struct SeriesSplit {
  int64_t n = 0, train_end = 0, valid_end = 0;
};
// Throws Error(where, ...) when a part is too short: train needs ≥ L + H rows, valid and test ≥ H.
SeriesSplit chronological_split(int64_t n, double valid_frac, double test_frac, int64_t lookback, int64_t horizon,
                                const std::string& where);

// A series read for a forecaster: the rows, gaps filled for inputs, the split and each part's origins.
struct ForecastData {
  data::Series series;
  std::vector<std::vector<double>> filled;  // [C][N] gaps interpolated
  SeriesSplit split;
  std::vector<int64_t> origins[3];          // per Part, ascending
  const std::vector<double>& y() const { return series.values[0]; }  // the target with gaps (NaN)
};
ForecastData prepare_forecast_data(data::Series s, const ForecastConfig& cfg);
ForecastData load_forecast_data(const std::string& csv_path, const ForecastConfig& cfg);

// Mean and standard deviation (population; 1 when 0) of each channel's observed training values; with
// cfg.relative the target channel's scale is relative_scale instead (what the model sees are changes: a
// trending series' level spread would shrink them to a few hundredths).
void fit_normalisation(ForecastConfig& cfg, const ForecastData& d);
// Standard deviation (population) of the one-step changes y_t − y_{t−1}, t < train_end, over the pairs
// where both are observed: the scale of a relative model's inputs and targets. 0 when there is none.
double relative_scale(const std::vector<double>& y, int64_t train_end);

class Forecaster : public Module {
 public:
  Forecaster(ForecastConfig cfg, Rng& rng);  // PyTorch defaults: RNN U(±1/√H), linear U(±1/√F)
  const ForecastConfig& config() const { return cfg_; }

  Tensor inputs(const ForecastData& d, const std::vector<int64_t>& origins) const;   // x [L, B, C]
  Tensor targets(const ForecastData& d, const std::vector<int64_t>& origins) const;  // z [B, H] (as ŷ is)
  Var forward(const Tensor& x);                                                      // ŷ [B, H]
  // Forecasts in original units, [B·H] row-major (window b, step h at b·H + h−1).
  std::vector<double> forecast(const ForecastData& d, const std::vector<int64_t>& origins, int64_t batch = 256);
  RNN& rnn() { return *rnn_; }
  Rng& dropout_rng() { return dropout_rng_; }

 private:
  // What the output for step h from origin t is relative to (normalised units): z(y_t) when relative,
  // the seasonal-naive forecast z(y_{t+h−S·⌈h/S⌉}) with seasonal_residual, else 0.
  double reference(const ForecastData& d, int64_t t, int64_t h) const;
  ForecastConfig cfg_;
  std::shared_ptr<RNN> rnn_;
  Var out_w_, out_b_;
  Rng dropout_rng_;
};

// ---- settings read off the training part (src/tasks/forecast_auto.cpp has the rules) -------------------
// Autocorrelation r_0 … r_max_lag of x (r_0 = 1; all 0 for a constant series).
std::vector<double> autocorrelation(const std::vector<double>& x, int64_t max_lag);
struct SeriesShape {
  bool relative = false;   // lag-1 autocorrelation ≥ 0.95
  int64_t season = 1;      // first autocorrelation peak (lag ≥ 2) within 0.8 of the highest, if that is ≥ 0.2
  int64_t lookback = 8;    // 2·season, or twice the autocorrelation's reach; in [8, 128] and ≤ rows/3
  bool seasonal_residual = false;  // not relative, and seasonal naive beats naive in-sample
  double lag1 = 0.0, season_acf = 0.0;
};
// From y[0, train_end) (gaps filled). Throws when train_end < 4.
SeriesShape series_shape(const std::vector<double>& y, int64_t train_end);

// ---- metrics --------------------------------------------------------------------------------------
struct ErrorStats {
  int64_t n = 0;
  double mae = 0.0, rmse = 0.0;
};
ErrorStats error_stats(const std::vector<double>& pred, const std::vector<double>& truth);  // same sizes, n ≥ 1
// In-sample naive one-step MAE of y[0, end) (NaN pairs skipped); throws if no pair or if it is 0.
double naive_scale(const std::vector<double>& y, int64_t end, const std::string& where);
// Baselines at the given origins, [B·H] like Forecaster::forecast, from the gap-filled series.
std::vector<double> naive_forecasts(const std::vector<double>& y, const std::vector<int64_t>& origins, int64_t H);
std::vector<double> seasonal_naive_forecasts(const std::vector<double>& y, const std::vector<int64_t>& origins,
                                             int64_t H, int64_t season);
std::vector<double> window_truth(const std::vector<double>& y, const std::vector<int64_t>& origins, int64_t H);

struct ForecastEval {
  Part part = Part::test;
  int64_t windows = 0;
  double scale = 0.0;  // MASE denominator
  ErrorStats model, naive, seasonal_naive;
  double mase = 0.0, naive_mase = 0.0, seasonal_naive_mase = 0.0;
  std::vector<double> mae_by_step;  // [H] the model's MAE at h = 1 … H
  double loss = 0.0;                // mean squared error in normalised units (the training loss)
};
// Metrics of a set of forecasts (pred, naive, snaive, truth: [B·H]) with the given MASE scale.
ForecastEval forecast_metrics(const std::vector<double>& pred, const std::vector<double>& naive,
                              const std::vector<double>& snaive, const std::vector<double>& truth, int64_t H,
                              double scale);
ForecastEval evaluate_forecaster(Forecaster& m, const ForecastData& d, Part part);

std::unique_ptr<Forecaster> load_forecaster(const std::string& model_path);  // file or run directory

// ---- predictions -------------------------------------------------------------------------------------
// CSV rows `index,origin_time,step,time,forecast,actual,naive,seasonal_naive` for every window of the
// part, then the forecast from the last row into the future (time/actual empty). Returns the text.
std::string forecast_csv(Forecaster& m, const ForecastData& d, Part part);

// ---- training ----------------------------------------------------------------------------------------
// The run options (out, resume, force, epochs, time_budget, max_steps, seed, quiet, log_every,
// command) are train::RunOptions's, shared by every task.
struct ForecastTrainOptions : train::RunOptions {
  std::string data, column, time_column, features;  // features: comma list
  int64_t lookback = 0, horizon = 1, season = 0;  // lookback, season 0: from the training part (series_shape)
  int relative = -1;                               // −1: from the training part; 0 off; 1 on
  int seasonal_residual = -1;                      // −1: from the training part; 0 off; 1 on
  int64_t patience = 20;                           // stop after this many epochs without a better valid MAE (0: off)
  std::string gaps = "interpolate";
  double valid_frac = 0.15, test_frac = 0.15;
  std::string cells = "lstm", hidden = "128";  // chosen on evidence: docs/defaults.md
  double recurrent_dropout = 0.0, zoneout = 0.0;  // inside the recurrence, every layer (rnn_types.h LayerSpec)
  int64_t layers = 1;
  bool bidirectional = false;
  double dropout = 0.0;
  int64_t batch = 32;
  std::string optimizer = "adam";
  double lr = 2e-3, clip = 1.0;
  int64_t search = 0;  // > 0: --search N, the first N of forecast_candidates() (train/search.h)
};
enum class ForecastOutcome { finished, stopped };
ForecastOutcome train_forecaster(const ForecastTrainOptions& o);
// --search: the candidates of docs/defaults.md's evidence table, best (leave-one-dataset-out) first.
const std::vector<train::SearchCandidate>& forecast_candidates();
// train_forecaster with o.search > 0: successive halving over the first o.search candidates (they set --cell,
// --hidden, --dropout), trials ranked by validation MAE, the kept one evaluated on test once.
ForecastOutcome search_forecaster(const ForecastTrainOptions& o);

}  // namespace recurrent::tasks
