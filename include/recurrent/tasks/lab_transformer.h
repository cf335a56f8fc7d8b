// recurrent/tasks/lab_transformer.h — a causal transformer on the gradient lab's synthetic long-range
// tasks (tasks/synthetic.h: adding problem, copy task, agreement at a distance), to set beside the
// RNN figures of docs/gradlab.md (`recurrent gradlab transformer`).
//
// Model (legend: L sequence length, B batch, I input channels, D = d_model, O outputs):
//   x [L, B, I] → [B, L, I] → input projection [D, I] + positions (sinusoidal, or learned [L, D])
//   → N pre-LN encoder layers with the causal mask (nn/transformer.h; GELU, no dropout) → LayerNorm
//   → head [O, D] on the last step (adding: 1 output, MSE; agreement: 2 classes, cross-entropy) or on
//   every step (copy: 9 classes, cross-entropy averaged over all L steps).
// The causal mask gives each output the same inputs an RNN's output at that step has seen, so the
// comparison is about how the information travels (attention: one hop; RNN: L state updates), not
// about what is visible.
// Training: Adam, linear warm-up over `warmup` steps, gradient norm clipped to `clip` (measured before
// clipping; a non-finite loss or norm stops the run, never trained on). Solved as in the gradient lab:
// adding test MSE < 0.01; copy ≥ 99% of the recalled symbols right; agreement ≥ 95% accuracy.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "recurrent/nn/transformer.h"

namespace recurrent::tasks {

struct LabTransformerConfig {
  std::string task = "adding";  // adding | copy | agreement
  int64_t T = 100;              // delay; agreement: the distance D
  int64_t layers = 2, d_model = 32, heads = 4, ff = 64;
  PositionalKind pos = PositionalKind::sinusoidal;
  int64_t batch = 50, steps = 2000;
  double time_budget = 0.0;  // seconds; 0: none
  double lr = 1e-3, clip = 1.0;
  int64_t warmup = 100;
  uint64_t seed = 1;
  int64_t eval_every = 100, eval_size = 500;
  bool stop_when_solved = false;
  int64_t fillers = 20;  // agreement: filler vocabulary (the gradient lab's)
};

struct LabTransformerRecord {
  int64_t step = 0;
  double seconds = 0.0, loss = 0.0, grad_norm = 0.0;
  double test_metric = -1.0, test_accuracy = -1.0;  // < 0: not evaluated at this step / not defined
};

struct LabTransformerResult {
  std::string metric;  // "mse" (adding) or "ce" (copy, agreement)
  double baseline = 0.0;
  double final_metric = -1.0, final_accuracy = -1.0;
  int64_t steps_done = 0, steps_to_solve = -1, parameters = 0;
  bool diverged = false;
  std::string diverged_what;
  double seconds = 0.0;
  std::vector<LabTransformerRecord> records;
};

LabTransformerResult run_lab_transformer(const LabTransformerConfig& cfg,
                                         const std::function<void(const LabTransformerRecord&)>& on_record = {});

}  // namespace recurrent::tasks
