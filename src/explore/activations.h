// explore/activations.h — what each unit of a character language model does over a text: the
// Cells view of `recurrent explore` (LSTMVis, Strobelt et al. 2017; Karpathy, Johnson & Fei-Fei 2015).
//
//   text (N code points) → ids [N+1] (the start token, then each character) → ONE inference forward of
//   the model's stack (no tape; the fused engine, the input projection of all steps one GEMM) with a
//   GradProbe keeping its states (nn/rnn_probe.h keep_states: the engine's own h, gate activations and
//   c of every layer, not recomputed) → per layer l, per kind, a matrix [N, H_l], row k = the state
//   after reading character k:
//     h          every cell (the layer's output h_t; R_l units for a projected LSTM)
//     c, i, f, o plain LSTM layers: cell state and gates; `gate_check` is max |o_t tanh(c_t) − h_t|
//                over the text (the check that the rows were read at the right places)
//     r, z       PyTorch GRU layers, likewise (max |(1−z) n + z h_{t-1} − h_t|)
//   prob [N]     P(character k | the start token and the characters before it), from the model's decoder.
// Patterns (explore/patterns.h) are correlated against these rows. Only RNN models at character level.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "recurrent/core/tensor.h"
#include "recurrent/tasks/lm.h"

namespace recurrent::explore {

// One kind's rows [N, size]: row k (the state after character k) at data + k·ld — a view of what the
// engine recorded (no copy), kept alive by `owner`.
struct Rows {
  Tensor owner;
  const float* data = nullptr;
  int64_t ld = 0;
  const float* row(int64_t k) const { return data + k * ld; }
  static Rows of(std::vector<float> values, int64_t ld);  // rows from values [N, ld] (tests, patterns)
};

struct LayerActivations {
  std::string cell;                     // "lstm", "gru", ...
  int64_t size = 0;                     // H_l (R_l for h of a projected LSTM)
  std::map<std::string, Rows> kinds;    // kind → [N, size]
};

struct Activations {
  std::vector<std::string> chars;  // N characters (UTF-8 each)
  std::vector<float> prob;         // [N]
  std::vector<LayerActivations> layers;
  double gate_check = 0.0;         // the largest reconstruction error of h (0 with no gated layer)
  double seconds = 0.0;            // time to compute
};

// Error("text", ...) when the text is empty or longer than `max_chars` code points, or not UTF-8;
// Error(model, ...) when the model is not a character-level RNN language model.
Activations compute_activations(tasks::LanguageModel& m, const std::string& text_utf8, int64_t max_chars);

}  // namespace recurrent::explore
