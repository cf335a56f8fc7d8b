// explore/activations.h — what each unit of a character language model does over a text: the
// Cells view of `recurrent explore` (LSTMVis, Strobelt et al. 2017; Karpathy, Johnson & Fei-Fei 2015).
//
//   text (N code points) → ids [N+1] (the start token, then each character) → the model's own layers,
//   one at a time (each a one-layer RNN sharing the model's weights, so every layer's output sequence
//   is kept, not only the last) → per layer l, per kind, a matrix [N, H_l], row k = the state after
//   reading character k:
//     h          every cell (the layer's output h_t)
//     c, i, f, o plain LSTM layers: cell state and gates, read off the layer's own inputs and outputs
//                (gates_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh; c_t = f c_{t-1} + i g); `gate_check`
//                is max |o_t tanh(c_t) − h_t| over the text, the proof that they are the layer's
//     r, z       PyTorch GRU layers, likewise (max |(1−z) n + z h_{t-1} − h_t|)
//   prob [N]     P(character k | the start token and the characters before it), from the model's decoder.
// Patterns (explore/patterns.h) are correlated against these rows. Only RNN models at character level.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "recurrent/tasks/lm.h"

namespace recurrent::explore {

struct LayerActivations {
  std::string cell;                                  // "lstm", "gru", ...
  int64_t size = 0;                                  // H_l (R_l for h of a projected LSTM)
  std::map<std::string, std::vector<float>> kinds;   // kind → [N, size] row-major
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
