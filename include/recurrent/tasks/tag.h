// recurrent/tasks/tag.h — many-to-many sequence labelling (part-of-speech tags, BIO spans).
//
//   per token t: x_t = [ word embedding [E] ; suffix-1, -2, -3 embeddings [3·S] ; shape embedding [S] ]
//   x [T, B, E + 4S] → dropout → RNN stack (any cell per layer, bidirectional allowed, dropout
//   between layers) → y [T, B, F] → dropout → linear [C, F] → logits [T, B, C]
//   loss = mean over the real (unpadded) tokens of −log softmax(logits_t)[tag_t]
// Legend: T longest sentence in the batch, B batch, E word embedding, S feature embedding (--features
// 0 turns the suffix and shape features off: x_t = the word embedding), F = D·R (D = 2 when
// bidirectional, R the last layer's output size), C tags.
//
// Unknown words: the vocabulary holds the lower-cased training words seen at least --min-count times
// (default 2), so the training singletons are read as `<unk>` (id 0) and its embedding learns what an
// unseen word looks like; the features come from the word as written, so an unknown word still has
// its suffixes (lower-cased last 1, 2, 3 code points; suffixes seen fewer than --min-count times in
// training are suffix id 0) and its shape (word_shape(): capitalised, all capitals, digits, hyphen,
// letters, other).
//
// Tags: the sorted training tags. A tag in a validation/test (or eval) file that training never saw
// is MAPPED, not an error: it counts as a wrong token in the accuracy (whatever the model predicts),
// takes no part in the loss, and is reported ("unseen_tags": tokens) with a one-line warning; span
// metrics use the tag strings as written, so such spans are scored as conlleval would.
//
// Span metrics (BIO / IOB1 / IOE tags as conlleval counts them: a span starts at B-X, at I-X after O
// or after a span of another type, ...; see conll_spans()) when every tag is O or X-TYPE with X in
// {B, I, E, S}; otherwise `f1` is the macro-F1 over tags.
//
// A model file is a train/checkpoint.h checkpoint whose recurrent.config is TaggerConfig::to_json()
// (task "tag"), so eval needs only that file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "recurrent/core/rng.h"
#include "recurrent/data/tagged_text.h"
#include "recurrent/nn/module.h"
#include "recurrent/nn/rnn.h"
#include "recurrent/train/run.h"
#include "recurrent/train/search.h"

namespace recurrent::tasks {

// Word shape id in [0, 32): bit 0 first code point an ASCII capital, bit 1 another capital later,
// bit 2 a digit, bit 3 a hyphen, bit 4 an ASCII letter anywhere.
int64_t word_shape(const std::string& word);
// Lower-cased (ASCII and Latin-1) suffix of k code points (the whole word when it is shorter).
std::string word_suffix(const std::string& word, int k);

struct TaggerConfig {
  std::vector<std::string> vocab;     // lower-cased words; vocab[0] == "<unk>"
  std::vector<std::string> suffixes;  // "1:s", "2:ed", "3:ing", ...; suffixes[0] == "<unk>"
  std::vector<std::string> tags;      // id → tag (sorted)
  int64_t embed = 0;
  int64_t feature_embed = 16;         // S; 0: no suffix / shape features
  std::vector<LayerSpec> layers;
  bool bidirectional = true;
  float dropout = 0.0f;

  RNNOptions rnn_options() const;
  int64_t input_size() const;         // E + 4S
  int64_t features() const;           // F
  std::string to_json() const;
  static TaggerConfig from_json(const std::string& json, const std::string& where);
  void validate() const;
};

// Token ids of one sentence: for token t, ids[5t .. 5t+4] = word, suffix-1, suffix-2, suffix-3, shape.
using TaggerInput = std::vector<int64_t>;

class Tagger : public Module {
 public:
  Tagger(TaggerConfig cfg, Rng& rng);  // PyTorch defaults (embedding N(0,1), U(±1/√fan))
  const TaggerConfig& config() const { return cfg_; }
  TaggerInput encode(const std::vector<std::string>& words) const;
  // Tag ids of tag strings; an unseen tag is −1 (see the header comment).
  std::vector<int64_t> tag_ids(const std::vector<std::string>& tags) const;
  // B sentences (each ≥ 1 token) → logits [T, B, C] (rows past a sentence's length are padding).
  Var forward(const std::vector<const TaggerInput*>& sents);
  RNN& rnn() { return *rnn_; }
  Rng& dropout_rng() { return dropout_rng_; }

 private:
  TaggerConfig cfg_;
  std::unordered_map<std::string, int64_t> word_index_, suffix_index_, tag_index_;
  Var emb_, suf_emb_, shape_emb_, out_w_, out_b_;
  std::shared_ptr<RNN> rnn_;
  Rng dropout_rng_;
};

// ---- metrics ---------------------------------------------------------------------------------
struct SpanCounts {
  int64_t correct = 0, gold = 0, predicted = 0;  // conlleval's correctChunk, foundCorrect, foundGuessed
  double precision() const;
  double recall() const;
  double f1() const;
};
// Spans as conlleval (CoNLL-2000 shared task script) counts them, sentence by sentence.
SpanCounts conll_spans(const std::vector<std::vector<std::string>>& gold, const std::vector<std::vector<std::string>>& pred);
bool is_span_tagset(const std::vector<std::string>& tags);  // every tag O or [BIES]-TYPE

struct TagEval {
  int64_t sentences = 0, tokens = 0, unseen = 0;  // unseen: gold tokens whose tag training never saw
  double loss = 0.0;                              // mean nats per token with a known tag
  double accuracy = 0.0;
  bool spans = false;                             // the gold tags are a span tagset
  SpanCounts span;                                // when spans
  double macro_f1 = 0.0;                          // over tags present in gold or predictions
  double f1() const { return spans ? span.f1() : macro_f1; }
  std::vector<std::vector<std::string>> predictions;
};
// Accuracy, span counts and macro-F1 of predicted tag strings against gold tag strings.
TagEval tag_metrics(const std::vector<std::vector<std::string>>& gold, const std::vector<std::vector<std::string>>& pred);
TagEval evaluate_tagger(Tagger& m, const data::TaggedSet& set, int64_t batch = 64);

// Most-frequent-tag baseline: each training word (as written; else lower-cased) gets its most
// frequent training tag (ties: the tag first in std::string order); unknown words get the most
// frequent tag of all.
class MostFrequentTag {
 public:
  explicit MostFrequentTag(const data::TaggedSet& train);
  std::vector<std::vector<std::string>> predict(const data::TaggedSet& set) const;
  // {"kind": "most_frequent_tag", "fallback", "lower": {word: tag}, "exact": {word: tag}} — exact entries
  // only where they differ from the lower-cased word's (the same predictions, a smaller file). Stored in
  // a tagger's checkpoints ("recurrent.baseline"); from_json throws Error(where, ...) on anything else.
  std::string to_json() const;
  static MostFrequentTag from_json(const std::string& json, const std::string& where);

 private:
  MostFrequentTag() = default;
  std::unordered_map<std::string, std::string> exact_, lower_;
  std::string fallback_;
};

// The most-frequent-tag baseline stored in a tagger's model file (file or run directory); null when none.
std::unique_ptr<MostFrequentTag> load_tag_baseline(const std::string& model_path);
std::unique_ptr<Tagger> load_tagger(const std::string& model_path);  // file or run directory

// ---- training ----------------------------------------------------------------------------------------
// The run options (out, resume, force, epochs, time_budget, max_steps, seed, quiet, log_every,
// command) are train::RunOptions's, shared by every task.
struct TagTrainOptions : train::RunOptions {
  std::string data, valid, test;
  std::string format = "auto";           // auto | conll | slash
  int64_t min_count = 2, max_vocab = 0;
  int64_t feature_embed = 16;
  std::string cells = "lstm", hidden = "128";
  double recurrent_dropout = 0.0, zoneout = 0.0;  // inside the recurrence, every layer (rnn_types.h LayerSpec)
  int64_t embed = 100, layers = 1;
  bool bidirectional = true;
  double dropout = 0.0;
  int64_t batch = 32;
  std::string optimizer = "adam";
  double lr = 2e-3, clip = 5.0;
  int64_t patience = 3;  // stop after this many epochs without a better validation score (0: off)
  int64_t search = 0;    // > 0: --search N, the first N of tag_candidates() (train/search.h)
};
enum class TagOutcome { finished, stopped };
// Without --valid / --test the data is split by sentence position (i % 10 == 9 test, == 8 valid).
TagOutcome train_tagger(const TagTrainOptions& o);
// --search: the default first, then its usual variants (docs/defaults.md: one tagged corpus, so no
// leave-one-dataset-out table orders them).
const std::vector<train::SearchCandidate>& tag_candidates();
// train_tagger with o.search > 0: successive halving over the first o.search candidates (they set --cell,
// --hidden, --dropout), trials ranked by the validation score (span F1 for BIO tags, else token accuracy),
// the kept one evaluated on test once.
TagOutcome search_tagger(const TagTrainOptions& o);

}  // namespace recurrent::tasks
