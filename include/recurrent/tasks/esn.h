// recurrent/tasks/esn.h — echo state networks (Jaeger 2001; Jaeger & Haas 2004; Lukoševičius 2012, "A
// Practical Guide to Applying Echo State Networks"): a FIXED sparse random reservoir, leaky-integrator
// tanh units, and a linear readout fitted by one regularised least-squares (ridge) solve. No BPTT, no
// gradient at all: the only trained weights are the readout's.
//
//   x̃(t) = tanh(W_in [1; u(t)] + W x(t−1))            W_in [N, 1+K] dense U(−s, s) (s: --input-scale)
//   x(t)  = (1 − α) x(t−1) + α x̃(t),  x(−1) = 0         W [N, N]: each entry non-zero with probability d
//   y(t)  = W_out [1; u(t); x(t)]                         (--density), U(−1, 1), then scaled so that
//                                                         ρ(W) = --spectral-radius (largest |eigenvalue|)
//   W_out = Yᵀ X (Xᵀ X + β I)⁻¹   over the rows t ≥ washout of the teacher-forced run   (β: --ridge)
// (Lukoševičius 2012 eq. 2–3, 9; α = --leak in (0, 1], β ≥ 0.) Legend: N reservoir units, K inputs, O
// outputs, F = 1 + K + N readout features, T steps.
//
// Numerics: the reservoir runs and the readout is solved in double. The weights are drawn as float32
// and used as those float values, so a loaded model runs exactly as the trained one; the readout is
// stored as two float32 tensors hi + lo (hi = float(w), lo = float(w − hi)), ≈ 48 bits of w.
// The spectral radius comes from Eigen's dense eigenvalue solver and the ridge solve from Eigen's LDLT
// (Debian libeigen3-dev); neither is hand-written.
//
// Forecasting (esn_forecast.cpp): a CSV series read as `train forecast` reads it (data/series_csv.h,
// gaps interpolated for inputs, chronological split, z-scored with the training part's mean and
// standard deviation). At row t the input u(t) is [z(y_t); z(features_t)] (without the target when
// target_input is off: system identification from the features alone, e.g. NARMA) and the readout
// predicts z(y_{t+1}). One-step prediction: the reservoir is driven by the true values. Free-run
// prediction over a horizon H > 1 (target input and no features only): from origin t the prediction
// ŷ_{t+h} is fed back as the next input, h = 1 … H (Jaeger 2001 §6: teacher forcing, then free run).
//
// A model file is a train/checkpoint.h checkpoint (task "esn"): config JSON EsnConfig::to_json(),
// tensors model.w_in, model.w, model.w_out, model.w_out_lo.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "recurrent/core/rng.h"
#include "recurrent/data/series_csv.h"
#include "recurrent/nn/module.h"
#include "recurrent/tasks/forecast.h"
#include "recurrent/train/run.h"

namespace recurrent::tasks {

struct EsnConfig {
  int64_t reservoir = 500;       // N
  double spectral_radius = 0.9;  // ρ(W) after scaling
  double leak = 0.3;             // α
  double input_scale = 1.0;      // s
  double density = 0.1;          // d: fraction of non-zero entries of W
  double ridge = 1e-6;           // β
  int64_t washout = 100;         // leading steps whose states are not fitted
  uint64_t seed = 1;
  int64_t inputs = 1, outputs = 1;  // K, O
  // forecasting
  std::string column, time_column;
  std::vector<std::string> features;
  bool target_input = true;      // the target's own value is an input (else only the features)
  int64_t horizon = 1;           // H: free-run steps evaluated from each origin
  int64_t season = 1;            // seasonal-naive baseline's season
  double valid_frac = 0.15, test_frac = 0.15;
  std::vector<double> mean, stdev;  // [1 + features] fitted on the training part

  int64_t features_out() const { return 1 + inputs + reservoir; }  // F
  data::SeriesCsvOptions csv_options() const { return {column, time_column, features}; }
  // Throws Error("--option", ...) naming the first bad setting.
  void validate() const;
  std::string to_json() const;
  static EsnConfig from_json(const std::string& json, const std::string& where);
};

// ---- the reservoir and the readout (esn_reservoir.cpp, esn_readout.cpp) ---------------------------
// Largest |eigenvalue| of a dense row-major n×n matrix (Eigen::EigenSolver).
double spectral_radius(const std::vector<double>& a, int64_t n);
// Ridge regression W [O, F] = Yᵀ X (Xᵀ X + β I)⁻¹ from X [T, F] and Y [T, O] (row-major), in double
// (Eigen LDLT of the F×F normal matrix). Throws Error(where, ...) when the system is singular (β = 0
// with fewer independent rows than features).
std::vector<double> ridge_solve(const std::vector<double>& x, const std::vector<double>& y, int64_t T, int64_t F,
                                int64_t O, double beta, const std::string& where);

class EchoStateNetwork : public Module {
 public:
  // Draws W_in and W from `rng` and scales W to the spectral radius; the readout starts at zero.
  EchoStateNetwork(EsnConfig cfg, Rng& rng);
  // For loading: zero weights of the configured shapes (load_model_weights fills them, then sync()).
  explicit EchoStateNetwork(EsnConfig cfg);
  const EsnConfig& config() const { return cfg_; }
  EsnConfig& mutable_config() { return cfg_; }

  // Rebuilds the double-precision copies (sparse W, W_in, readout) from the parameter tensors.
  void sync();
  // One leaky update in place: x ← (1 − α) x + α tanh(W_in [1; u] + W x).  u [K], x [N].
  void step(const double* u, std::vector<double>& x) const;
  // States of a teacher-forced run from x = 0: u [T, K] → X [T, N] (row t: x(t)).
  std::vector<double> run(const std::vector<double>& u, int64_t T) const;
  // y = W_out [1; u; x] → out [O].
  void readout(const double* u, const std::vector<double>& x, double* out) const;
  // Fits W_out on rows t ≥ washout of (u [T, K], states [T, N]) to targets [T, O]; returns the fit's
  // training MSE (in the targets' units).
  double fit(const std::vector<double>& u, const std::vector<double>& states, const std::vector<double>& targets,
             int64_t T);
  const std::vector<double>& readout_weights() const { return w_out_; }  // [O, F]

 private:
  void make_parameters();
  EsnConfig cfg_;
  Var w_in_, w_, out_hi_, out_lo_;
  // double copies: W_in [N, 1+K] dense; W in CSR (row_ptr [N+1], col, val); W_out [O, F]
  std::vector<double> w_in_d_, w_val_, w_out_;
  std::vector<int64_t> w_row_, w_col_;
};

std::unique_ptr<EchoStateNetwork> load_esn(const std::string& model_path);  // file or run directory

// ---- forecasting (esn_forecast.cpp) -----------------------------------------------------------------
struct EsnSeries {
  data::Series series;
  std::vector<std::vector<double>> filled;  // [C][N] gaps interpolated
  SeriesSplit split;
  const std::vector<double>& y() const { return series.values[0]; }
};
// Reads the CSV; checks the split (train part longer than --washout + 1 rows, valid and test parts at
// least --horizon rows). Throws Error naming the file or the option.
EsnSeries load_esn_series(const std::string& csv_path, const EsnConfig& cfg);
// Mean and standard deviation of each channel's training values into cfg.mean / cfg.stdev.
void fit_esn_normalisation(EsnConfig& cfg, const EsnSeries& d);
// Inputs u [T, K] and one-step targets z(y_{t+1}) [T] (NaN at the last row and at gaps), normalised.
std::vector<double> esn_inputs(const EsnConfig& cfg, const EsnSeries& d);
std::vector<double> esn_targets(const EsnConfig& cfg, const EsnSeries& d);

struct EsnEval {
  Part part = Part::test;
  ForecastEval one_step;     // H = 1, teacher-forced
  ForecastEval free_run;     // H = cfg.horizon (windows 0 when horizon is 1)
  double nmse_one_step = 0;  // mean (ŷ − y)² / σ² at h = 1, σ² the variance of the part's target values
  double nrmse_horizon = 0;  // √(mean (ŷ_{t+H} − y_{t+H})² / σ²) at h = H (Jaeger's NRMSE84 for H = 84)
};
EsnEval evaluate_esn(const EchoStateNetwork& m, const EsnSeries& d, Part part);
// Forecast rows as forecast_csv writes them (index,origin_time,step,time,forecast,actual,naive,
// seasonal_naive): every origin of the part over the horizon, then the forecast past the last row.
std::string esn_forecast_csv(const EchoStateNetwork& m, const EsnSeries& d, Part part);

// ---- `recurrent train esn` (esn_train.cpp) ----------------------------------------------------------
// From train::RunOptions: out, force, seed (the reservoir draw), quiet, command; no budgets (one solve).
struct EsnTrainOptions : train::RunOptions {
  std::string data;
  EsnConfig cfg;
  std::string features;  // comma list
  int64_t season = 0;    // 0: from the training part (series_shape)
};
// Fits, saves DIR/last.safetensors (atomic) and DIR/results.json, prints the metrics. Returns the
// results JSON text.
std::string train_esn(const EsnTrainOptions& o);

}  // namespace recurrent::tasks
