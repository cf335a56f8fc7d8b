// A classifier's baselines (majority class, bag-of-n-grams logistic regression) fitted on its own encoding
// of the training part, stored beside its weights, scored like the model (classification_metrics).
#include "recurrent/core/error.h"
#include "recurrent/tasks/classify.h"
#include "recurrent/tasks/load_model.h"
#include "recurrent/train/checkpoint.h"

namespace recurrent::tasks {

ClassifierBaselines ClassifierBaselines::fit(const std::vector<std::vector<int64_t>>& train,
                                             const std::vector<int64_t>& train_labels,
                                             const std::vector<std::vector<int64_t>>& valid,
                                             const std::vector<int64_t>& valid_labels, int64_t V, int64_t C) {
  ClassifierBaselines b;
  b.majority = majority_label(train_labels, C);
  b.bow = BowClassifier::fit(train, train_labels, valid, valid_labels, V, C);
  return b;
}

io::NamedTensors ClassifierBaselines::tensors() const {
  io::NamedTensors t;
  if (!defined()) return t;
  t.push_back({"baseline.majority", Tensor::from({static_cast<float>(majority)}, {1})});
  bow.append_tensors(t, "baseline.bow.");
  return t;
}

ClassifierBaselines ClassifierBaselines::from_extra(const io::NamedTensors& extra, int64_t V, int64_t C,
                                                    const std::string& where) {
  ClassifierBaselines b;
  for (const auto& [name, t] : extra) {
    if (name != "baseline.majority") continue;
    RC_CHECK(t.numel() == 1, where, "damaged baseline tensor 'baseline.majority'");
    const auto id = static_cast<int64_t>(t.contiguous().data()[0]);
    RC_CHECK(id >= 0 && id < C, where, "baseline.majority: label id ", id, " outside [0, ", C, ")");
    b.majority = id;
  }
  b.bow = BowClassifier::from_tensors(extra, "baseline.bow.", V, where);
  RC_CHECK(!b.bow.defined() || b.bow.classes() == C, where, "bag-of-n-grams baseline: ", b.bow.classes(),
           " classes, the model has ", C);
  return b;
}

ClassifierBaselines::Scores ClassifierBaselines::evaluate(const std::vector<std::vector<int64_t>>& seqs,
                                                          const std::vector<int64_t>& gold, int64_t C) const {
  Scores s;
  s.majority = classification_metrics(gold, std::vector<int64_t>(gold.size(), majority), C);
  if (bow.defined()) s.bow = classification_metrics(gold, bow.predict(seqs), C);
  return s;
}

ClassifierBaselines load_classifier_baselines(const std::string& model_path, const TextClassifier& m) {
  const std::string path = resolve_model_path(model_path);
  const train::LoadedCheckpoint ck = train::read_checkpoint(path);
  return ClassifierBaselines::from_extra(ck.extra, static_cast<int64_t>(m.config().vocab.size()),
                                         static_cast<int64_t>(m.config().labels.size()), path);
}

}  // namespace recurrent::tasks
