// recurrent/tasks/classify.h — many-to-one text classification (sentiment and the like).
//
//   ids [T, B] (padded, lengths [B]) → embedding [V, E] → dropout → RNN stack (any cell per layer,
//   bidirectional allowed, dropout between layers) → pooled [B, F] → dropout → linear [C, F] → logits [B, C]
//   loss = mean over sentences of −log softmax(logits)[label]
// Pooling: "last" = each layer-L direction's state at the sequence's own last step (for the reverse
// direction: after its first step), concatenated [B, D·R]; "mean" = the mean of the outputs over the
// sequence's own length (outputs past the length are zero, so sum / length); "max" = the elementwise
// maximum of the outputs over the sequence's own length (padding never wins; the gradient goes to the
// arg-max step, as torch.max over a dim routes it). F = D·R (R: last layer's output size, D = 2 when
// bidirectional).
// Word dropout (training only): each token of a sentence is replaced by <unk> with probability
// word_dropout (Iyyer et al. 2015, "Deep unordered composition"; Gal & Ghahramani 2016 drop whole
// word types, we drop occurrences), drawn from the model's dropout RNG, so resume stays exact. Legend: T longest sentence in the batch, B batch, V vocabulary,
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
#include "recurrent/tasks/baselines.h"
#include "recurrent/train/run.h"
#include "recurrent/train/search.h"

namespace recurrent::tasks {

enum class Pooling { last, mean, max };
Pooling parse_pooling(const std::string& s);  // "last" | "mean" | "max"; throws Error("--pool", ...)
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
  float word_dropout = 0.0f;          // training: P(token → <unk>)
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
  std::vector<int64_t> drop_words(const std::vector<int64_t>& ids);  // training: token → 0 w.p. word_dropout
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

// ---- baselines (tasks/baselines.h), fitted on the classifier's own encoding of the training part -------
struct ClassifierBaselines {
  int64_t majority = -1;  // label id; −1: none (a model saved before baselines existed)
  BowClassifier bow;
  bool defined() const { return majority >= 0; }
  static ClassifierBaselines fit(const std::vector<std::vector<int64_t>>& train, const std::vector<int64_t>& train_labels,
                                 const std::vector<std::vector<int64_t>>& valid, const std::vector<int64_t>& valid_labels,
                                 int64_t V, int64_t C);
  // "baseline.majority" [1] and "baseline.bow.*" (checkpoint "extra." tensors); from_extra: none → undefined.
  io::NamedTensors tensors() const;
  static ClassifierBaselines from_extra(const io::NamedTensors& extra, int64_t V, int64_t C, const std::string& where);
  // Accuracy and macro-F1 of each baseline against gold: {"majority": {...}, "bag_of_ngrams": {...}}.
  struct Scores {
    ClassifyEval majority, bow;
  };
  Scores evaluate(const std::vector<std::vector<int64_t>>& seqs, const std::vector<int64_t>& gold, int64_t C) const;
};
// The baselines stored in a classifier's model file (file or run directory); undefined when it has none.
ClassifierBaselines load_classifier_baselines(const std::string& model_path, const TextClassifier& m);

// ---- ensembles: several runs (e.g. seeds) of one task, probabilities averaged ---------------------
// softmax(logits) of each sentence, row-major [N, C] (N = seqs.size(), C classes); eval mode, no grad.
std::vector<float> classifier_probabilities(TextClassifier& m, const std::vector<std::vector<int64_t>>& seqs,
                                            int64_t batch = 64);
// Each member encodes the set's texts with its own vocabulary and gives p_m [N, C]; the ensemble is
//   p̄[n, c] = (1/M) Σ_m p_m[n, c],  prediction argmax_c p̄[n, c],  loss = mean_n −log p̄[n, label_n]
// (probability averaging, as for the per-fold seed ensembles of bench/classify/sentiment.sh). All
// members must have the same labels in the same order (else Error naming names[m]); labels of the
// set unseen in training are errors naming the file and line. One member gives that member's
// predictions (and its loss up to float rounding).
ClassifyEval evaluate_ensemble(const std::vector<TextClassifier*>& members, const std::vector<std::string>& names,
                               const data::LabeledSet& set, int64_t batch = 64);

// masked max over time: out[b, f] = max_{t < lengths[b]} x[t, b, f];  x [T, B, F] → [B, F].
// ∂x[t*, b, f] = g[b, f] at the first arg-max t* (ties: the earliest step), 0 elsewhere.
Var max_over_time(const Var& x, const std::vector<int64_t>& lengths);

// ---- initialisation from a language model (ULMFiT-style transfer, Howard & Ruder 2018) -----------
// Copies into m what a word-level `recurrent train lm` model (file or run directory) has to give:
//  * embedding rows by token: classifier token t gets the LM's row for t (the LM's lower-casing
//    applied first when it was trained with --lower), <unk> gets the LM's <unk>; tokens the LM does
//    not know keep their initialisation;
//  * recurrent weights by name and shape: rnn.<name> → rnn.<name> (forward directions), and with
//    `reverse` (an LM trained on reversed sentences) rnn.<name> → rnn.<name>_reverse.
// Needs the same embedding size; a recurrent tensor whose shape differs is an error naming it
// (shared names must agree; pass an LM with the classifier's --cell/--hidden/--layers).
struct LmInitReport {
  int64_t rows = 0;         // embedding rows copied
  int64_t vocab = 0;        // classifier vocabulary size
  int64_t tensors = 0;      // recurrent tensors copied
};
LmInitReport init_classifier_from_lm(TextClassifier& m, const std::string& lm_path, bool reverse);
// The LM's vocabulary (file or directory), for --lm-vocab: its tokens except <unk> and <eos>.
std::vector<std::string> lm_vocabulary(const std::string& lm_path);

// ---- training ----------------------------------------------------------------------------------------
// The run options (out, resume, force, epochs, time_budget, max_steps, seed, quiet, log_every,
// command) are train::RunOptions's, shared by every task.
struct ClassifyTrainOptions : train::RunOptions {
  std::vector<std::string> data;           // one or more files, concatenated (cross-domain training)
  std::string valid, test;
  std::string format = "auto";             // auto | tsv | jsonl | json
  std::string level = "word";              // word | char
  bool keep_case = false;
  int64_t min_count = 1, max_vocab = 0;
  std::string cells = "lstm", hidden = "128";
  double recurrent_dropout = 0.0, zoneout = 0.0;  // inside the recurrence, every layer (rnn_types.h LayerSpec)
  int64_t embed = 0, layers = 1;           // embed 0: the first hidden size
  // The defaults were chosen on evidence (docs/defaults.md: every candidate on every labelled set,
  // leave-one-dataset-out): a BiLSTM 128 with max pooling, dropout 0.5 and word dropout 0.2.
  bool bidirectional = true;
  std::string pool = "max";
  double dropout = 0.5, word_dropout = 0.2;
  int64_t folds = 10, fold = -1;           // item i is in fold i % folds; test fold `fold` (-1: last),
                                           // validation fold fold−1 (mod folds): the default is 80/10/10
  std::string init_from, init_from_reverse;  // LM run dirs/files: see init_classifier_from_lm
  bool lm_vocab = false;                   // add the --init-from LM's words to the vocabulary
  double weight_decay = -1.0;              // < 0: the optimizer's default (0; adamw 1e-2). adam, sgd,
                                           // rmsprop, adagrad: L2 in the gradient; adamw: decoupled
  std::string class_weight = "balanced";   // balanced: item weight N/(C·n_class) in the loss (PyTorch's
                                           // weight=, sklearn's class_weight='balanced'); none: all 1
  int64_t patience = 5;                    // > 0: stop after this many epochs without a better validation macro-F1
  int64_t batch = 32;
  std::string optimizer = "adam";
  double lr = 2e-3, clip = 5.0;
  int64_t search = 0;                      // > 0: --search N, the first N of classify_candidates() (train/search.h)
};
enum class ClassifyOutcome { finished, stopped };
// --search: the candidates of docs/defaults.md's evidence table, best (leave-one-dataset-out) first.
const std::vector<train::SearchCandidate>& classify_candidates();
// Without --valid / --test the data is split by position into `folds` folds (item i in fold i % folds):
// fold `fold` is test, fold fold−1 (mod folds) validation, the rest training. The default (10 folds,
// fold 9) is 80/10/10 with test i % 10 == 9 and valid i % 10 == 8; with only one of --valid / --test
// given, only the other fold is taken out. Cross-validation: run fold = 0 … folds−1, average test.
ClassifyOutcome train_classifier(const ClassifyTrainOptions& o);
// train_classifier with o.search > 0: successive halving over the first o.search candidates (they set --cell,
// --hidden, --[no-]bidirectional, --pool, --dropout, --word-dropout), trials ranked by validation macro-F1, the
// kept one evaluated on test once.
ClassifyOutcome search_classifier(const ClassifyTrainOptions& o);

}  // namespace recurrent::tasks
