// recurrent/tasks/classify.h — many-to-one text classification (sentiment and the like).
//
//   ids [T, B] (padded, lengths [B]) → embedding [V, E] → dropout → RNN stack (any cell per layer,
//   bidirectional allowed, dropout between layers) → pooled [B, F] → dropout → linear [C, F] → logits [B, C]
//   loss = mean over sentences of −log softmax(logits)[label]
// Pooling: "last" = each layer-L direction's state at the sequence's own last step (for the reverse
// direction: after its first step), concatenated [B, D·R]; "mean" = the mean of the outputs over the
// sequence's own length (outputs past the length are zero, so sum / length). F = D·R (R: last layer's
// output size, D = 2 when bidirectional). Legend: T longest sentence in the batch, B batch, V vocabulary,
// E embedding, C classes.
//
// Tokens: word level = lower-cased (unless --keep-case) runs of letters/digits/apostrophes and single
// punctuation characters (bytes ≥ 0x80 count as letters); char level = Unicode code points. Id 0 is
// <unk> (rare or unseen tokens); a sentence with no tokens is read as one <unk>.
//
// A model file is a train/checkpoint.h checkpoint whose recurrent.config is ClassifierConfig::to_json()
// (task "classify", vocabulary, labels, layers), so eval needs only that file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "recurrent/core/rng.h"
#include "recurrent/data/labeled_text.h"
#include "recurrent/nn/module.h"
#include "recurrent/nn/rnn.h"

namespace recurrent::tasks {

enum class Pooling { last, mean };
Pooling parse_pooling(const std::string& s);  // "last" | "mean"; throws Error("--pool", ...)
const char* pooling_name(Pooling p);

// Split text into classifier tokens (see the header comment). chars: one token per code point.
std::vector<std::string> classify_tokens(const std::string& text_utf8, bool chars, bool lower, const std::string& where);

struct ClassifierConfig {
  bool chars = false;                 // char level (else word level)
  bool lower = true;                  // word level: lower-case
  std::vector<std::string> vocab;     // id → token; vocab[0] == "<unk>"
  std::vector<std::string> labels;    // id → label (sorted)
  int64_t embed = 0;
  std::vector<LayerSpec> layers;
  bool bidirectional = false;
  float dropout = 0.0f;
  Pooling pooling = Pooling::last;

  RNNOptions rnn_options() const;
  int64_t features() const;           // F
  std::string to_json() const;
  static ClassifierConfig from_json(const std::string& json, const std::string& where);
  void validate() const;
};

class TextClassifier : public Module {
 public:
  TextClassifier(ClassifierConfig cfg, Rng& rng);  // PyTorch defaults (embedding N(0,1), U(±1/√fan))
  const ClassifierConfig& config() const { return cfg_; }

  // Token ids of a text (unknown → 0; empty → {0}).
  std::vector<int64_t> encode(const std::string& text_utf8, const std::string& where) const;
  // seqs: B token-id lists (each non-empty) → logits [B, C].
  Var forward(const std::vector<const std::vector<int64_t>*>& seqs);
  RNN& rnn() { return *rnn_; }
  Rng& dropout_rng() { return dropout_rng_; }

 private:
  ClassifierConfig cfg_;
  std::unordered_map<std::string, int64_t> index_;
  Var emb_, out_w_, out_b_;
  std::shared_ptr<RNN> rnn_;
  Rng dropout_rng_;
};

// ---- evaluation ------------------------------------------------------------------------------
struct ClassifyEval {
  int64_t n = 0;
  double loss = 0.0;      // mean cross-entropy (nats)
  double accuracy = 0.0;
  double macro_f1 = 0.0;  // mean over classes that occur in the gold labels or predictions
  std::vector<std::vector<int64_t>> confusion;  // [gold][predicted]
  std::vector<int64_t> predictions;
};
// Accuracy, macro-F1 and the confusion matrix of predictions against gold ids (C classes).
ClassifyEval classification_metrics(const std::vector<int64_t>& gold, const std::vector<int64_t>& pred, int64_t C);
ClassifyEval evaluate_classifier(TextClassifier& m, const std::vector<std::vector<int64_t>>& seqs,
                                 const std::vector<int64_t>& labels, int64_t batch = 64);

std::unique_ptr<TextClassifier> load_classifier(const std::string& model_path);  // file or run directory

// ---- training ----------------------------------------------------------------------------------------
struct ClassifyTrainOptions {
  std::vector<std::string> data;           // one or more files, concatenated (cross-domain training)
  std::string valid, test, out, resume;
  std::string format = "auto";             // auto | tsv | jsonl | json
  std::string level = "word";              // word | char
  bool keep_case = false;
  int64_t min_count = 1, max_vocab = 0;
  std::string cells = "lstm", hidden = "128";
  int64_t embed = 0, layers = 1;           // embed 0: the first hidden size
  bool bidirectional = false;
  std::string pool = "last";
  double dropout = 0.0;
  int64_t batch = 32;
  int64_t epochs = 0;
  double time_budget = 0.0;
  int64_t max_steps = 0;                   // stops like an interrupt: saves last.safetensors
  std::string optimizer = "adam";
  double lr = 2e-3, clip = 5.0;
  double log_every = 10.0;
  uint64_t seed = 1;
  bool quiet = false;
};
enum class ClassifyOutcome { finished, stopped };
// Without --valid / --test the data is split by position: item i is test if i % 10 == 9, valid if
// i % 10 == 8, train otherwise (80/10/10; with only one of them given, only the other is taken out).
ClassifyOutcome train_classifier(const ClassifyTrainOptions& o);

}  // namespace recurrent::tasks
