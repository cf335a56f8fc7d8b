// recurrent/train/diagnostics.h — gradient-flow diagnostics for any training loop with an RNN stack
// (issue 6; docs/gradlab.md "Diagnostics"). Every `every` steps (and at step 1) it attaches a GradProbe
// (nn/rnn_probe.h) for that one step and writes one JSON line:
//
//   {"step", "loss", "grad_norm" (global, before clipping), "clipped_norm" (after),
//    "param_grad_norms": {name: ‖∂L/∂θ‖ before clipping},
//    "layers": [{"layer", "dir", "dh": [T] ‖∂L/∂h_t‖ of the batch, "dc": [T] (LSTM),
//                "gates": {g: {"mean", "saturated"}}, "forget_mean" (LSTM), "h_norm", "c_norm"}],
//    "seconds" (wall time of the probed step)}
//
// Usage around a step (the probe must be attached before the forward):
//   bool probed = diag.begin_step(step);   ... forward, backward, clip, optimizer step ...
//   if (probed) diag.end_step(step, loss, norm_before_clipping);
// After the step the gradients hold the clipped values; per-parameter norms before clipping are those
// divided by the clip coefficient (clipping scales every gradient by the same factor).
// Cost: the probed steps take the per-step (non-fused) backward and one pass over the gates; the other
// steps pay one null-pointer test per time step (docs/gradlab.md measures it).
#pragma once

#include <chrono>
#include <cstdint>
#include <fstream>
#include <memory>
#include <string>

#include "recurrent/nn/rnn.h"
#include "recurrent/nn/rnn_probe.h"
#include "recurrent/optim/optimizer.h"

namespace recurrent::train {

class Diagnostics {
 public:
  // path: the JSON-lines file (truncated, or appended to when `append`); every ≥ 1.
  Diagnostics(RNN& rnn, const NamedParams& params, const std::string& path, int64_t every, bool append = false);
  bool due(int64_t step) const { return step == 1 || step % every_ == 0; }
  bool begin_step(int64_t step);  // attaches the probe when due; returns whether it did
  void end_step(int64_t step, double loss, double grad_norm_before_clip);  // writes the line, detaches
  void abandon();                 // detaches without writing (the step threw)
  int64_t lines() const { return lines_; }

 private:
  RNN& rnn_;
  NamedParams params_;
  std::string path_;
  std::ofstream out_;
  int64_t every_, lines_ = 0;
  std::shared_ptr<GradProbe> probe_ = std::make_shared<GradProbe>();
  std::chrono::steady_clock::time_point t0_;
};

}  // namespace recurrent::train
