// recurrent/tasks/gradlab.h — the gradient lab: train recurrent cells on the synthetic long-range tasks
// (tasks/synthetic.h) while watching how much gradient reaches each time step (docs/gradlab.md).
//
// Model: input → one recurrent layer (hidden H) → linear head. adding: head on the last step, 1 output,
// MSE; copy: head on every step, 9 classes, cross-entropy averaged over all T + 20 steps; agreement:
// head on the last step, 2 classes, cross-entropy; seqimage: head on the last step, one class per label,
// cross-entropy, the image read row by row (T = rows, input = cols) or pixel by pixel (T = rows·cols,
// input 1), pixels scaled to [0, 1] (Le et al. 2015 "pixel MNIST"; here any IDX image set, data/idx.h).
// Every `probe_every` steps the GradProbe (nn/rnn_probe.h) is attached for that one step and records
// ‖∂L/∂h_t‖ for t = 1…T, the gate statistics and the state norms; the other steps run without it.
// A non-finite loss or gradient norm stops the run and marks it diverged (never trained on): with
// clip_grad_norm the norm is measured before clipping, so an explosion is seen even when clipped.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "recurrent/data/idx.h"
#include "recurrent/nn/rnn_init.h"
#include "recurrent/nn/rnn_types.h"
#include "recurrent/train/grad_flow.h"

namespace recurrent::tasks {

enum class LabTask { adding, copy, agreement, seqimage };
LabTask parse_lab_task(const std::string& name);  // throws Error("--task", …)
const char* lab_task_name(LabTask t);

// A cell with its initialisation. Names: any cell_names() entry, plus "irnn" = rnn_relu with identity
// recurrent weights and zero biases (Le et al. 2015). init: pytorch | uniform | xavier | orthogonal | identity.
struct LabModel {
  std::string label;  // for tables: "lstm", "rnn_tanh/orthogonal", "rnn_tanh/rho=1.5", …
  CellType cell = CellType::lstm;
  RnnInit init;
  double rho = 0.0;   // > 0: after init, scale each W_hh gate block to spectral radius rho
  double update_bias = 0.0;  // ≠ 0 (gru, gru_cho): b_ih's z block = this, b_hh's 0; z > 0.5 keeps h
};                           // (h' = (1−z)·n + z·h), the GRU's analogue of the LSTM forget bias
// chrono > 0 (LSTM cells only): RnnInit::chrono_tmax = chrono, label "/chrono=…" (it replaces forget_bias).
LabModel lab_model(const std::string& cell, const std::string& init = "pytorch", double rho = 0.0,
                   double forget_bias = 1.0, double update_bias = 0.0, double chrono = 0.0);

// Sequential image classification data: the last `valid` training images are held out (evaluated during
// training, never trained on); the test set is evaluated once, at the end of each run.
struct SeqImages {
  data::ImageSet train, test;
  bool by_pixels = false;  // true: T = rows·cols, input 1; false: T = rows, input cols
  int64_t valid = 5000;
  int64_t test_limit = 0;  // > 0: evaluate only the first test_limit test images (pixel by pixel is slow)
  int64_t test_size() const { return test_limit > 0 ? std::min(test_limit, test.n) : test.n; }
  int64_t T() const { return by_pixels ? train.rows * train.cols : train.rows; }
  int64_t inputs() const { return by_pixels ? 1 : train.cols; }
};

struct LabConfig {
  LabTask task = LabTask::adding;
  int64_t T = 100;             // delay; agreement: the distance D; seqimage: set from `images`
  int64_t hidden = 128, batch = 50;
  int64_t steps = 2000;        // per run
  double time_budget = 0.0;    // seconds per run; 0: none
  std::string optimizer = "adam";  // adam | rmsprop | sgd
  double lr = 1e-3;
  double clip = 0.0;           // max global gradient norm; 0: no clipping
  uint64_t seed = 1;
  int64_t eval_every = 100, eval_size = 1000;
  int64_t probe_every = 50;
  bool stop_when_solved = false;  // end the run at the first evaluation that meets the criterion
  std::shared_ptr<const SeqImages> images;  // seqimage only
};

struct LabRecord {
  int64_t step = 0;
  double seconds = 0.0, loss = 0.0, grad_norm = 0.0, clipped_norm = 0.0;
  double test_metric = -1.0, test_accuracy = -1.0;  // < 0: not evaluated at this step / not defined
  bool probed = false;                               // the fields below are filled
  std::vector<double> dh_norm;                       // [T'] ‖∂L/∂h_t‖ of the batch, t = 0…T'-1
  double ratio = 0.0;                                // dh_norm[0] / dh_norm[T'-1]
  std::vector<std::string> gates;
  std::vector<double> gate_mean, gate_saturated;
  double h_norm = 0.0, c_norm = 0.0;
};

struct LabResult {
  std::string metric;            // "mse" (adding) or "ce" (copy, agreement)
  double baseline = 0.0;         // the memoryless / chance value of the metric
  double final_metric = -1.0, final_accuracy = -1.0;  // last evaluation; -1: never evaluated
                                 // seqimage: on the whole test set, after training
  int64_t steps_done = 0, steps_to_solve = -1;  // first evaluated step that met the solve criterion
  bool diverged = false;
  std::string diverged_what;     // e.g. "non-finite gradient norm (nan) at step 37"
  double ratio = 0.0;            // at the last probe
  double seconds = 0.0;
  std::vector<LabRecord> records;
};
// Solved: adding test MSE < 0.01; copy: ≥ 99% of the recalled symbols right; agreement: ≥ 95% accuracy;
// seqimage: ≥ 88% accuracy on the held-out training images.
LabResult run_lab(const LabConfig& cfg, const LabModel& model,
                  const std::function<void(const LabRecord&)>& on_record = {});

// Gradient flow at initialisation, averaged over `batches` training batches: ‖∂L/∂h_t‖ for each t, the
// spectral radius and norm of each W_hh gate block, and the Jacobian profile of the first sequence.
struct LabProfile {
  std::vector<double> dh_norm;               // [T'] root mean square over batches
  std::vector<double> block_rho, block_norm;  // per W_hh gate block
  JacobianProfile jacobian;
  double decay_rate = 0.0;  // least-squares slope of log dh_norm against distance back (per step)
};
LabProfile profile_lab(const LabConfig& cfg, const LabModel& model, int64_t batches, bool jacobian = true);

}  // namespace recurrent::tasks
