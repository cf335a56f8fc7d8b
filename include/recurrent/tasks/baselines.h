// recurrent/tasks/baselines.h — the simple models printed beside every trained model's result, fitted on
// the same training part and scored on the same validation/test parts, so a user sees at once whether the
// RNN earned its cost (issue 29). Each is stored in the model's checkpoint as "extra.baseline.*" tensors,
// so `recurrent eval` scores them on any data set the model is scored on.
//
// Classification:
//   majority        the most frequent training label (ties: the lowest label id)
//   bag of n-grams  fastText-style (Joulin et al. 2017): a sentence is the MEAN of its unigram and bigram
//                   one-hot vectors, x [F] (unigrams: the classifier's token ids 0…V−1; bigrams seen in the
//                   training part — twice or more when it has over 4096 sentences: ids V…F−1; other bigrams
//                   are left out), then a linear softmax layer
//                   logits = x·W + b, W [F, C]. Without a hidden layer that is multinomial logistic regression
//                   on length-normalised n-gram counts with balanced class weights N/(C·n_c) in the loss (1 on
//                   balanced labels); trained by Adam (300 steps, lr 0.05; full batch up to 4096 sentences,
//                   else batches of 4096 in a fixed shuffled order), the L2 weight decay {1e-4, 1e-3, 1e-2}
//                   chosen on the validation part by macro-F1, then accuracy — the procedure of
//                   bench/classify/bow_baseline.py plus the class weights. Deterministic (starts from zero).
// Legend: V vocabulary, C classes, F features (V + bigrams), N sentences.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "recurrent/io/safetensors.h"

namespace recurrent::tasks {

// The most frequent of labels (ids in [0, C)); ties → the lowest id. labels must be non-empty.
int64_t majority_label(const std::vector<int64_t>& labels, int64_t C);

class BowClassifier {
 public:
  BowClassifier() = default;
  // Fits on (train, train_labels) and picks the weight decay on (valid, valid_labels). Token ids < V.
  static BowClassifier fit(const std::vector<std::vector<int64_t>>& train, const std::vector<int64_t>& train_labels,
                           const std::vector<std::vector<int64_t>>& valid, const std::vector<int64_t>& valid_labels,
                           int64_t V, int64_t C);
  std::vector<int64_t> predict(const std::vector<std::vector<int64_t>>& seqs) const;  // [N] argmax (ties: low id)
  std::vector<float> logits(const std::vector<int64_t>& seq) const;                    // [C]
  double weight_decay() const { return weight_decay_; }
  bool balanced() const { return balanced_; }
  int64_t features() const { return V_ + static_cast<int64_t>(bigrams_.size()); }
  int64_t classes() const { return C_; }
  bool defined() const { return C_ > 0; }

  // "<prefix>bigrams" [nb, 2] (token ids, exact as floats below 2^24), "<prefix>weight" [F, C],
  // "<prefix>bias" [C], "<prefix>weight_decay" [1]. from_tensors: undefined when absent; errors name `where`.
  void append_tensors(io::NamedTensors& out, const std::string& prefix) const;
  static BowClassifier from_tensors(const io::NamedTensors& in, const std::string& prefix, int64_t V,
                                    const std::string& where);

 private:
  // Feature ids and the common value 1/count of one sentence (unigrams and known bigrams; repeats repeat).
  std::vector<int64_t> feature_ids(const std::vector<int64_t>& seq) const;
  void train(const std::vector<std::vector<int64_t>>& rows, const std::vector<int64_t>& labels, double wd, bool balanced);

  int64_t V_ = 0, C_ = 0;
  double weight_decay_ = 0.0;
  bool balanced_ = false;  // trained with balanced class weights
  std::vector<std::pair<int64_t, int64_t>> bigrams_;       // feature V + i is bigrams_[i]
  std::unordered_map<uint64_t, int64_t> bigram_index_;     // a·V + b → feature id
  std::vector<float> w_, b_;                               // [F, C], [C]
};

}  // namespace recurrent::tasks

namespace recurrent::tasks {

// Language models: a unigram and an interpolated bigram model of the training tokens (ids < V), scored on the
// held-out tokens each predicted from the one before (as the LM predicts them):
//   P_uni(w) = (c(w) + 1) / (N + V)                                          (add-one)
//   P_bi(w | v) = λ·c(v, w)/c(v·) + (1 − λ)·P_uni(w)  (c(v·) = Σ_w c(v, w); 0: P_uni(w))  (Jelinek–Mercer)
// λ ∈ {0.5, 0.7, 0.8, 0.9, 0.95, 0.99} chosen on the validation tokens.
class NgramLmBaseline {
 public:
  static NgramLmBaseline fit(const std::vector<int64_t>& train, const std::vector<int64_t>& valid, int64_t V);
  // Mean nats per predicted token (ids[1..] given ids[i−1]); 0 when fewer than 2 tokens.
  double unigram_nats(const std::vector<int64_t>& ids) const;
  double bigram_nats(const std::vector<int64_t>& ids) const;
  double lambda() const { return lambda_; }
  bool defined() const { return V_ > 0; }
  // Stored with the LM (every checkpoint's "extra.<prefix>*", so `recurrent eval` scores it on any text):
  // "<prefix>unigram" [V] counts, "<prefix>bigrams" [K, 3] rows (v, w, c(v, w)) in (v, w) order, "<prefix>lambda" [1].
  // Floats: ids and counts are exact below 2^24 (a larger count is rounded by < 1e-7 of itself).
  // from_tensors: undefined when absent (models from before); malformed → Error(where, ...).
  void append_tensors(io::NamedTensors& out, const std::string& prefix) const;
  static NgramLmBaseline from_tensors(const io::NamedTensors& in, const std::string& prefix, int64_t V,
                                      const std::string& where);
  // The baselines stored with a trained LM (a run folder or .safetensors; "extra.baseline.lm.*"); undefined
  // for an LM saved before they were stored.
  static NgramLmBaseline load(const std::string& model_path, int64_t V);

 private:
  double nats(const std::vector<int64_t>& ids, double lambda) const;
  int64_t V_ = 0, N_ = 0;
  double lambda_ = 0.9;
  std::vector<double> uni_, pred_;                    // [V] counts; counts as a predecessor
  std::unordered_map<uint64_t, double> bi_;           // v·V + w → count
};

}  // namespace recurrent::tasks
