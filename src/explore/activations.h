// explore/activations.h — what each unit of a character language model does over a text: the
// Cells view of `recurrent explore` (LSTMVis, Strobelt et al. 2017; Karpathy, Johnson & Fei-Fei 2015).
//
//   text (N code points) → ids [N+1] (the start token, then each character) → the inference forward of the
//   model's stack (no tape; the fused engine), chunk by chunk (below), each layer with a GradProbe keeping
//   its states (nn/rnn_probe.h keep_states: the engine's own h, gate activations and c, not recomputed),
//   copied to a matrix [N, H_l] per layer l and kind, row k = the state after reading character k:
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

// One kind's rows [N, size]: row k (the state after character k) at data + k·ld — what the engine
// recorded, kept in `owner`.
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
  std::vector<std::string> names;       // every kind the layer has, kept or not (h c i f o, h r z, or h)
  std::map<std::string, Rows> kinds;    // the kinds kept: kind → [N, size]
};

struct Activations {
  std::vector<std::string> chars;  // N characters (UTF-8 each)
  std::vector<float> prob;         // [N]
  std::vector<LayerActivations> layers;
  double gate_check = 0.0;         // the largest reconstruction error of h (0 with no gated layer)
  double seconds = 0.0;            // time to compute
  bool gates = true;               // the gate kinds (i f o, r z) kept; false: the states only (h, and c)
};

// Error("text", ...) when the text is empty or longer than `max_chars` code points, or not UTF-8;
// Error(model, ...) when the model is not a character-level RNN language model.
//
// The stack is read chunk by chunk (`chunk` steps, the states carried): one layer's one-layer RNN per chunk
// (sharing the stack's weights), on up to num_threads() threads, a thread per group of consecutive layers, so
// layer 1 reads chunk k while layer 0 reads chunk k + 1 — no per-step meeting of threads, and each thread's
// W_hh stays in its own core's cache. Only the kinds shown are kept ([N, size] each, float32); with
// gates = false only the states (h, and c for a plain LSTM: 40% of an LSTM's rows, 40 MB per 10,000
// characters of a 2×256 LSTM instead of 100 MB of fresh memory — the explorer's first reading of a text;
// a reading with the gates follows when the page asks for one). gate_check is computed either way.
// `layers`: layer_rnns(m.rnn()) made earlier (built here when null).
Activations compute_activations(tasks::LanguageModel& m, const std::string& text_utf8, int64_t max_chars,
                                int64_t chunk = 512, const std::vector<RNN>* layers = nullptr, bool gates = true);
// The stack's layers as one-layer RNNs sharing its weights (kind_l{l} → kind_l0). Building one draws initial
// weights it then drops (~1 M numbers for a 2×256 LSTM): the explorer builds them once per model.
std::vector<RNN> layer_rnns(const RNN& stack);

}  // namespace recurrent::explore
