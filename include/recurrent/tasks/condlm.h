// recurrent/tasks/condlm.h — a label-conditioned sentence language model (one-to-many generation:
// a genre in, sentences out).
//
//   a sentence with label c and words w_1..w_n: inputs <eos>, w_1, ..., w_n; targets w_1, ..., w_n, <eos>
//   x_t = [ word embedding(input_t) [E] ; label embedding(c) [K] ]      (the condition at EVERY input step)
//   x [T, B, E + K] → dropout → RNN stack (any cell per layer, dropout between layers) → dropout
//   → linear [V, R] → logits [T, B, V];  loss = mean over real target tokens of −log softmax(logits)[target]
// Perplexity = exp(mean nats per target token, <eos> included) over whole sentences, each starting
// from a zero state (no context across sentences), so conditioned and unconditioned models are
// compared on exactly the same predictions.
// The unconditioned baseline (--no-condition) is the same network with one label "<none>": its label
// embedding is a learned constant, so it has the same architecture and budget minus the genre.
// Legend: T longest sentence + 1, B batch, V vocabulary (word level, <unk> = 0, <eos> = 1), E word
// embedding, K label embedding, R last layer's output size.
//
// Data: `label<TAB>sentence` lines (data/labeled_text.h; words split on whitespace). A label in a
// validation/test/eval file that the training data lacks is an error (file:line), as for classify.
// A model file is a train/checkpoint.h checkpoint whose recurrent.config is CondLmConfig::to_json()
// (task "condlm").
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "recurrent/core/rng.h"
#include "recurrent/data/labeled_text.h"
#include "recurrent/data/vocab.h"
#include "recurrent/nn/module.h"
#include "recurrent/nn/rnn.h"
#include "recurrent/train/run.h"

namespace recurrent::tasks {

struct CondLmConfig {
  data::Vocab vocab;                // word level
  std::vector<std::string> labels;  // sorted training labels; {"<none>"} when !conditioned
  bool conditioned = true;
  int64_t embed = 0, label_embed = 16;
  std::vector<LayerSpec> layers;
  float dropout = 0.0f;

  RNNOptions rnn_options() const;
  std::string to_json() const;
  static CondLmConfig from_json(const std::string& json, const std::string& where);
  void validate() const;
};

struct CondSentence {
  std::vector<int64_t> ids;  // <eos>, w_1..w_n, <eos>: inputs are ids[0..n], targets ids[1..n+1]
  int64_t label = 0;
};

class CondLanguageModel : public Module {
 public:
  CondLanguageModel(CondLmConfig cfg, Rng& rng);  // PyTorch defaults (embedding N(0,1), U(±1/√fan))
  const CondLmConfig& config() const { return cfg_; }
  // Label id (0 for an unconditioned model); an unknown label throws Error(where, ...).
  int64_t label_id(const std::string& label, const std::string& where) const;
  CondSentence encode(const std::string& label, const std::string& text, const std::string& where) const;
  // B sentences → logits [T, B, V] for their inputs (T = the longest sentence's word count + 1).
  Var forward(const std::vector<const CondSentence*>& sents);
  // One step for B streams: input ids [B] and labels [B], state carried → logits [B, V].
  Var step(const std::vector<int64_t>& ids, const std::vector<int64_t>& labels, RNNState& state);
  RNN& rnn() { return *rnn_; }
  Rng& dropout_rng() { return dropout_rng_; }

 private:
  Var inputs(const std::vector<int64_t>& ids, const std::vector<int64_t>& labels, int64_t T, int64_t B);
  CondLmConfig cfg_;
  Var emb_, label_emb_, dec_w_, dec_b_;
  std::shared_ptr<RNN> rnn_;
  Rng dropout_rng_;
};

// Summed nats of each sentence's targets and their count (for the loss and the perplexity).
struct CondLmEval {
  int64_t sentences = 0, tokens = 0;
  double loss_nats = 0.0;  // mean per target token
  double perplexity() const;
};
CondLmEval evaluate_condlm(CondLanguageModel& m, const std::vector<CondSentence>& sents, int64_t batch = 64);
CondLmEval evaluate_condlm(CondLanguageModel& m, const data::LabeledSet& set, int64_t batch = 64);
// The sentences as one token stream for the n-gram baselines (tasks/baselines.h): <eos> w_1..w_n <eos> w'_1 …
// — every target of the model is a token of the stream predicted from the one before it (a sentence's first
// word from <eos>, as the model predicts it from a zero state). `train condlm` stores the baselines fitted on
// the training stream with the model ("extra.baseline.lm.*"); `eval --json` scores them on the same targets.
std::vector<int64_t> condlm_token_stream(const std::vector<CondSentence>& set);

struct CondSampleOptions {
  std::string condition;      // a training label (ignored by an unconditioned model)
  int64_t sentences = 5;
  int64_t max_words = 60;     // a sentence stops at <eos> or after this many words
  double temperature = 1.0;
  uint64_t seed = 1;
};
// Sampled sentences (words joined by spaces); never emits <unk>.
std::vector<std::string> sample_condlm(CondLanguageModel& m, const CondSampleOptions& o);

std::unique_ptr<CondLanguageModel> load_condlm(const std::string& model_path);

// ---- training ----------------------------------------------------------------------------------------
// The run options (out, resume, force, epochs, time_budget, max_steps, seed, quiet, log_every,
// command) are train::RunOptions's, shared by every task.
struct CondLmTrainOptions : train::RunOptions {
  std::string data, valid, test;
  bool conditioned = true;                // false: --no-condition (the baseline)
  bool lower = false;
  int64_t min_count = 1, max_vocab = 0;
  std::string cells = "lstm", hidden = "256";
  double recurrent_dropout = 0.0, zoneout = 0.0;  // inside the recurrence, every layer (rnn_types.h LayerSpec)
  int64_t embed = 0, label_embed = 16, layers = 1;
  double dropout = 0.0;
  int64_t batch = 32;
  std::string optimizer = "adam";
  double lr = 2e-3, clip = 5.0;
  int64_t patience = 3;  // stop after this many epochs without a better validation loss (0: off)
};
enum class CondLmOutcome { finished, stopped };
// Without --valid / --test the data is split by position (i % 10 == 9 test, == 8 valid).
CondLmOutcome train_condlm(const CondLmTrainOptions& o);

}  // namespace recurrent::tasks
