// recurrent/nn/rnn_probe.h — the gradient lab's observer of a recurrent stack (docs/gradlab.md).
//
// Attach a GradProbe to an RNN (RNN::set_grad_probe) and every forward/backward through the stack
// records, per layer l and direction d (legend: T steps, B batch, G gates):
//   backward  dh [T, B]     ‖∂L/∂h_t‖ per sequence: the whole gradient reaching the state h_t (from
//                           the output y_t and from step t+1), indexed by time t (h_t = state after step t)
//             dc [T, B]     ‖∂L/∂c_t‖ carried into step t along the LSTM cell path (LSTM layers only)
//   forward   per gate g: mean activation and the fraction saturated — sigmoid gates below 0.05 or above
//             0.95, tanh gates (mapped to [0,1] by (v+1)/2) the same, i.e. |v| > 0.9; ReLU: exactly 0;
//             the mean ‖h_t‖ and ‖c_t‖ over valid (t, b). Fast engine only (the reference engine keeps
//             its own record); padded steps are left out.
//   states    (keep_states only) the forward's own values per (t, b): h [T, B, R] (h_t), gate_acts [T, B, G·H]
//             (the gate activations in PyTorch's order, e.g. LSTM i f g o, GRU r z n), c [T, B, H]
//             (LSTM c_t) — what the explorer's Cells view shows (src/explore/activations.cpp). Views of
//             the forward's tape without grad mode; copies with it (a backward overwrites the tape).
//             gate_acts is the tape's gate buffer as the engine leaves it: the activations for the fused
//             and per-step loops of every plain cell; the layer-norm LSTM keeps its norms there instead.
// The probe holds the most recent forward and backward. Detached (the default) it costs one branch per
// step; attached, one pass over [B, R] per step in backward and one over the gates after forward.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "recurrent/core/tensor.h"

namespace recurrent {

struct GradProbe {
  struct Dir {
    Tensor dh;                        // [T, B] (backward)
    Tensor dc;                        // [T, B] (backward, LSTM); undefined otherwise
    std::vector<std::string> gates;   // [G] gate names, e.g. i f g o (forward)
    std::vector<double> gate_mean;    // [G]
    std::vector<double> gate_saturated;  // [G] fraction in [0, 1]
    double h_norm = 0.0, c_norm = 0.0;   // mean ‖h_t‖, ‖c_t‖ over valid (t, b); c: LSTM only
    Tensor h, gate_acts, c;           // keep_states: [T, B, R], [T, B, G·H], [T, B, H] (LSTM); else undefined
  };
  bool keep_states = false;  // also keep h, gates and cells of the forward (above); then no gate statistics
  std::vector<std::vector<Dir>> layers;  // [layer][direction], sized by the first forward

  // ‖∂L/∂H_t‖ of the whole batch at each time t = sqrt(Σ_b dh[t, b]²), summed in double: T values (empty before a backward).
  std::vector<double> dh_norm(size_t layer = 0, int dir = 0) const;
  std::vector<double> dc_norm(size_t layer = 0, int dir = 0) const;
};

}  // namespace recurrent
