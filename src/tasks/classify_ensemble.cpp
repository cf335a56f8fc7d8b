// Ensembles of text classifiers: class probabilities of one model, and the mean of several models'
// probabilities (contract in tasks/classify.h). Legend: N sentences, C classes, M members.
#include <algorithm>
#include <cmath>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/tasks/classify.h"

namespace recurrent::tasks {

std::vector<float> classifier_probabilities(TextClassifier& m, const std::vector<std::vector<int64_t>>& seqs,
                                            int64_t batch) {
  RC_CHECK(batch > 0, "classifier_probabilities", "batch must be positive, got ", batch);
  NoGradGuard ng;
  const bool was_training = m.is_training();
  m.eval();
  const size_t C = m.config().labels.size();
  std::vector<float> p;  // [N, C]
  p.reserve(seqs.size() * C);
  for (size_t a = 0; a < seqs.size(); a += static_cast<size_t>(batch)) {
    const size_t b = std::min(seqs.size(), a + static_cast<size_t>(batch));
    std::vector<const std::vector<int64_t>*> bs;
    for (size_t i = a; i < b; ++i) bs.push_back(&seqs[i]);
    Var logits = m.forward(bs);  // [B, C]
    const float* l = logits.value().data();
    for (size_t i = 0; i < b - a; ++i) {  // softmax, shifted by the row maximum
      const float* row = l + i * C;
      const float mx = *std::max_element(row, row + C);
      double z = 0;
      for (size_t c = 0; c < C; ++c) z += std::exp(static_cast<double>(row[c] - mx));
      for (size_t c = 0; c < C; ++c) p.push_back(static_cast<float>(std::exp(static_cast<double>(row[c] - mx)) / z));
    }
  }
  m.train(was_training);
  return p;
}

ClassifyEval evaluate_ensemble(const std::vector<TextClassifier*>& members, const std::vector<std::string>& names,
                               const data::LabeledSet& set, int64_t batch) {
  RC_CHECK(!members.empty() && members.size() == names.size(), "evaluate_ensemble",
           "expected one name per member and at least one member, got ", members.size(), " members and ",
           names.size(), " names");
  const std::vector<std::string>& label_names = members[0]->config().labels;
  for (size_t k = 1; k < members.size(); ++k)
    RC_CHECK(members[k]->config().labels == label_names, names[k],
             "the ensemble's members must have the same labels in the same order as ", names[0]);
  const std::vector<int64_t> gold = data::LabelSet::from_names(label_names).ids(set);
  const size_t N = set.items.size(), C = label_names.size();
  std::vector<double> mean(N * C, 0.0);  // p̄ [N, C]
  for (TextClassifier* m : members) {
    std::vector<std::vector<int64_t>> seqs;
    for (const data::LabeledText& it : set.items) seqs.push_back(m->encode(it.text, set.source + ":" + std::to_string(it.line)));
    const std::vector<float> p = classifier_probabilities(*m, seqs, batch);
    for (size_t i = 0; i < N * C; ++i) mean[i] += p[i] / static_cast<double>(members.size());
  }
  std::vector<int64_t> pred(N);
  double loss = 0;
  for (size_t n = 0; n < N; ++n) {
    const double* row = mean.data() + n * C;
    pred[n] = std::max_element(row, row + C) - row;  // ties: the lower class id, as evaluate_classifier
    loss -= std::log(std::max(row[gold[n]], 1e-30));
  }
  ClassifyEval e = classification_metrics(gold, pred, static_cast<int64_t>(C));
  e.loss = N == 0 ? 0.0 : loss / static_cast<double>(N);
  return e;
}

}  // namespace recurrent::tasks
