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
// predicts z(y_{t+1}). With `difference` the target channel is the first difference Δy_t = y_t − y_{t−1}
// (input z(Δy_t), target z(Δy_{t+1}), forecast y_t + the predicted differences): for series whose test
// values leave the training range (a trend, CO2). One-step prediction: the reservoir is driven by the true values. Free-run
// prediction over a horizon H > 1 (target input and no features only): from origin t the prediction
// ŷ_{t+h} is fed back as the next input, h = 1 … H (Jaeger 2001 §6: teacher forcing, then free run).
//
// Classification (esn_classify.cpp; --mode classify): labelled sentences as `train classify` reads them
// (data/labeled_text.h), tokens as classify_tokens splits them (word or char level; id 0 = <unk> for
// tokens rarer than --min-count in training). Each sentence runs from x = 0 with its tokens as one-hot
// inputs (W_in's column 1+v is token v's input vector); its features are [1; mean_t x(t); x(T)]
// (F = 1 + 2N) and the readout gives one score per class (ridge on one-hot targets); the label is the
// arg-max. Split as train classify's default: item i is test when i mod 10 = 9, validation when 8,
// unless --valid / --test files are given.
//
// A model file is a train/checkpoint.h checkpoint (task "esn"): config JSON EsnConfig::to_json(),
// tensors model.w_in, model.w, model.w_out, model.w_out_lo.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "recurrent/core/rng.h"
#include "recurrent/data/labeled_text.h"
#include "recurrent/data/series_csv.h"
#include "recurrent/nn/module.h"
#include "recurrent/tasks/classify.h"
#include "recurrent/tasks/forecast.h"
#include "recurrent/train/run.h"

namespace recurrent::tasks {

struct EsnConfig {
  std::string mode = "forecast";  // "forecast" | "classify"
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
  bool difference = false;       // model Δy_t = y_t − y_{t−1} (input and target); forecasts y_t + Σ Δ̂
  int64_t horizon = 1;           // H: free-run steps evaluated from each origin
  int64_t season = 1;            // seasonal-naive baseline's season
  double valid_frac = 0.15, test_frac = 0.15;
  std::vector<double> mean, stdev;  // [1 + features] fitted on the training part
  // classification
  bool chars = false, lower = true;
  int64_t min_count = 2;
  std::vector<std::string> vocab;   // id → token; vocab[0] == "<unk>" (K = vocab size)
  std::vector<std::string> labels;  // id → label (O = labels)

  bool last_only = false;           // sequence features [1; last x] instead of [1; mean x; last x] (gradlab esn --pool last)

  bool classify() const { return mode == "classify"; }
  // F: [1; u; x] when forecasting, [1; mean x; last x] (or [1; last x]) when classifying
  int64_t features_out() const {
    return classify() ? 1 + (last_only ? 1 : 2) * reservoir : 1 + inputs + reservoir;
  }
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
  // y = W_out f for a feature vector f [F] → out [O].
  void readout_features(const double* f, double* out) const;
  // One update with a one-hot input (token v): x ← (1 − α) x + α tanh(W_in[:, 0] + W_in[:, 1+v] + W x).
  void step_token(int64_t v, std::vector<double>& x) const;
  // Sets W_out [O, F] (stored as float hi + lo; the model then uses hi + lo).
  void set_readout(const std::vector<double>& w);
  // Fits W_out on rows t ≥ washout of (u [T, K], states [T, N]) to targets [T, O]; returns the fit's
  // training MSE (in the targets' units).
  double fit(const std::vector<double>& u, const std::vector<double>& states, const std::vector<double>& targets,
             int64_t T);
  const std::vector<double>& readout_weights() const { return w_out_; }  // [O, F]
  // classify: token → id of the configured vocabulary (built by sync()).
  const std::unordered_map<std::string, int64_t>& vocab_index() const { return vocab_index_; }

 private:
  void make_parameters();
  void update(const std::vector<double>& pre, std::vector<double>& x) const;  // pre += W x; leaky tanh
  EsnConfig cfg_;
  Var w_in_, w_, out_hi_, out_lo_;
  // double copies: W_in [N, 1+K] dense; W in CSR (row_ptr [N+1], col, val); W_out [O, F]
  std::vector<double> w_in_d_, w_val_, w_out_;
  std::vector<int64_t> w_row_, w_col_;
  std::unordered_map<std::string, int64_t> vocab_index_;
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

// ---- classification (esn_classify.cpp) ----------------------------------------------------------------
// Token ids of a text under the model's vocabulary (unknown → 0; an empty text → {0}).
std::vector<int64_t> esn_encode(const EchoStateNetwork& m, const std::string& text, const std::string& where);
// [1; mean_t x(t); x(T)] of one sentence run from x = 0.
std::vector<double> esn_sentence_features(const EchoStateNetwork& m, const std::vector<int64_t>& ids);
// Class scores [C] of each text.
std::vector<std::vector<double>> esn_class_scores(const EchoStateNetwork& m, const std::vector<std::string>& texts,
                                                  const std::string& where);
// Accuracy and macro-F1 on a labelled set (labels unseen in training: Error naming file:line).
ClassifyEval evaluate_esn_classifier(const EchoStateNetwork& m, const data::LabeledSet& set);

// ---- the gradient lab's long-range tasks without BPTT (esn_lab.cpp; `recurrent gradlab esn`) ----------
// adding (T steps, 2 inputs → the sum of the two marked values, MSE; solved below 0.01) and agreement
// (distance D, one-hot tokens → singular/plural, accuracy; solved at 95%), tasks/synthetic.h. Each
// sequence runs from x = 0; features [1; mean x; last x] → ridge readout (the classify path's readout),
// or [1; last x] with esn.last_only — what an RNN's head reads. The mean over time is a running sum, which
// puts the adding problem's sum within a linear readout's reach without any memory of the marked steps.
struct EsnLabConfig {
  std::string task = "adding";  // "adding" | "agreement"
  int64_t T = 200, train = 2000, test = 1000;
  EsnConfig esn;                // reservoir settings (mode, inputs and outputs are set by the task)
  uint64_t seed = 1;
};
struct EsnLabResult {
  double train_metric = 0, test_metric = 0;  // adding: MSE; agreement: accuracy
  double baseline = 0;                       // adding: 1/6 (predict the mean); agreement: 0.5
  bool solved = false;
  double seconds = 0;
};
EsnLabResult esn_lab(const EsnLabConfig& c);

// ---- `recurrent train esn` (esn_train.cpp) ----------------------------------------------------------
// From train::RunOptions: out, force, seed (the reservoir draw), quiet, command; no budgets (one solve).
struct EsnTrainOptions : train::RunOptions {
  std::string data;
  EsnConfig cfg;
  std::string features;  // comma list
  int64_t season = 0;    // 0: from the training part (series_shape)
  std::string valid, test;  // classify: optional files (else folds of --data)
};
std::string train_esn_classifier(const EsnTrainOptions& o);  // esn_classify.cpp (train_esn calls it)
// Fits, saves DIR/last.safetensors (atomic) and DIR/results.json, prints the metrics. Returns the
// results JSON text.
std::string train_esn(const EsnTrainOptions& o);

}  // namespace recurrent::tasks
