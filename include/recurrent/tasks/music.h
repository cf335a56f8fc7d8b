// recurrent/tasks/music.h — polyphonic music modelling on piano rolls (JSB chorales): at each time step
// 88 independent Bernoulli outputs, one per piano key (Boulanger-Lewandowski et al. 2012; Chung et al.
// 2014, arXiv:1412.3555, compare tanh RNN, LSTM and GRU on it).
//
//   chorale roll v [T, 88] (0/1);  inputs x_t = v_{t−1} (x_0 = 0: a silent frame), targets y_t = v_t
//   x [T, B, 88] → RNN stack (any cell per layer) → h [T, B, R] → dropout → linear [88, R] → logits [T, B, 88]
//   p(v_t | v_<t) = Π_k σ(±logit_tk):  NLL_t = Σ_k BCE(logit_tk, v_tk)   (sigmoid_bce, autograd/bce.h)
// Every step of every chorale is predicted, the first from the silent frame alone (as the RNN-RBM
// code of Boulanger-Lewandowski scores every frame from its initial state). Teacher forcing: the
// inputs are always the real previous frame.
//
// Metrics over a split (all its chorales, all their steps):
//   nll_per_step   = Σ_chorales Σ_t NLL_t / Σ_chorales T     (nats; "NLL" in the papers' tables)
//   frame_accuracy = Σ TP / Σ (TP + FP + FN)                  (Bay et al. 2009, over all frames; a key
//                    is predicted on when σ(logit) > 0.5, i.e. logit > 0)
//
// Sampling: from the silent frame (or after priming with the first P steps of a real chorale, fed as
// inputs), each step draws every key from Bernoulli(σ(logit / temperature)) and feeds the drawn frame
// back as the next input.
//
// Legend: T steps, B chorales in a batch, R the last layer's output size; 88 keys = MIDI 21 … 108.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "recurrent/core/rng.h"
#include "recurrent/data/chorales.h"
#include "recurrent/nn/module.h"
#include "recurrent/nn/rnn.h"
#include "recurrent/train/run.h"

namespace recurrent::tasks {

struct MusicConfig {
  std::vector<LayerSpec> layers;
  float dropout = 0.0f;  // between layers and before the output layer

  RNNOptions rnn_options() const;
  std::string to_json() const;
  static MusicConfig from_json(const std::string& json, const std::string& where);
  void validate() const;
};

// A padded batch of chorales: x, y [T, B, 88] (zeros past each chorale's length), lengths [B],
// mask [T·B] (row t·B + b is 1 while t < lengths[b]).
struct MusicBatch {
  Tensor x, y;
  std::vector<int64_t> lengths;
  std::vector<float> mask;
};
MusicBatch music_batch(const std::vector<Tensor>& rolls, const std::vector<size_t>& which);

class MusicModel : public Module {
 public:
  MusicModel(MusicConfig cfg, Rng& rng);  // PyTorch defaults: RNN U(±1/√H), linear U(±1/√R)
  const MusicConfig& config() const { return cfg_; }
  // x [T, B, 88], lengths [B] (empty: all T) → logits [T, B, 88]. `state`: carried in and out (sampling).
  Var forward(const Tensor& x, const std::vector<int64_t>& lengths, RNNState* state = nullptr);
  // output.bias_k = log(p_k / (1 − p_k)), p_k = (n_k + 1) / (N + 2): key k's frequency over the N steps
  // of `rolls` (add-one smoothed), so training starts from the keys' marginals instead of learning them.
  void init_output_bias(const std::vector<Tensor>& rolls);
  RNN& rnn() { return *rnn_; }
  Rng& dropout_rng() { return dropout_rng_; }

 private:
  MusicConfig cfg_;
  std::shared_ptr<RNN> rnn_;
  Var out_w_, out_b_;
  Rng dropout_rng_;
};

// The batch's loss: the NLL per step of its real (unpadded) steps, sigmoid_bce mean_rows.
Var music_loss(MusicModel& m, const MusicBatch& b);

struct MusicEval {
  int64_t chorales = 0, steps = 0;
  double nll_per_step = 0.0, frame_accuracy = 0.0;
};
MusicEval evaluate_music(MusicModel& m, const std::vector<Tensor>& rolls, int64_t batch = 16);

std::unique_ptr<MusicModel> load_music_model(const std::string& model_path);  // file or run directory

struct MusicSampleOptions {
  int64_t steps = 64;        // steps drawn after the prime
  double temperature = 1.0;  // > 0
  uint64_t seed = 1;
  Tensor prime;              // [P, 88] real steps fed first (undefined or P = 0: from the silent frame)
};
// The prime's steps followed by `steps` drawn ones: roll [P + steps, 88].
Tensor sample_music(MusicModel& m, const MusicSampleOptions& o);

// ---- training ----------------------------------------------------------------------------------------
struct MusicTrainOptions : train::RunOptions {
  std::string data;
  std::string cells = "gru", hidden = "41";
  double recurrent_dropout = 0.0, zoneout = 0.0;  // inside the recurrence, every layer (rnn_types.h LayerSpec)
  int64_t layers = 1;
  double dropout = 0.0;
  int64_t batch = 8;  // chorales per batch
  std::string optimizer = "adam";
  double lr = 3e-3, clip = 1.0;
  int64_t patience = 20;  // epochs without a better validation NLL before stopping (0: off)
};
enum class MusicOutcome { finished, stopped };
MusicOutcome train_music(const MusicTrainOptions& o);

}  // namespace recurrent::tasks
