// The language-model baselines of tasks/baselines.h: add-one unigram and Jelinek–Mercer bigram.
#include <cmath>

#include "recurrent/core/error.h"
#include "recurrent/tasks/baselines.h"

namespace recurrent::tasks {

NgramLmBaseline NgramLmBaseline::fit(const std::vector<int64_t>& train, const std::vector<int64_t>& valid, int64_t V) {
  RC_CHECK(train.size() >= 2 && V > 0, "n-gram baseline", "needs at least 2 training tokens");
  NgramLmBaseline m;
  m.V_ = V, m.N_ = static_cast<int64_t>(train.size());
  m.uni_.assign(static_cast<size_t>(V), 0.0);
  m.pred_.assign(static_cast<size_t>(V), 0.0);
  for (size_t i = 0; i < train.size(); ++i) {
    m.uni_.at(static_cast<size_t>(train[i])) += 1;
    if (i > 0) m.bi_[static_cast<uint64_t>(train[i - 1]) * V + train[i]] += 1, m.pred_[train[i - 1]] += 1;
  }
  double best = INFINITY;
  for (double l : {0.5, 0.7, 0.8, 0.9, 0.95, 0.99}) {  // chosen on validation only
    const double v = valid.size() >= 2 ? m.nats(valid, l) : 0.0;
    if (v < best) best = v, m.lambda_ = l;
  }
  return m;
}

double NgramLmBaseline::nats(const std::vector<int64_t>& ids, double lambda) const {
  if (ids.size() < 2) return 0.0;
  double total = 0;
  for (size_t i = 1; i < ids.size(); ++i) {
    const int64_t v = ids[i - 1], w = ids[i];
    const double pu = (uni_[static_cast<size_t>(w)] + 1.0) / static_cast<double>(N_ + V_);
    double p = pu;
    const double cv = pred_[static_cast<size_t>(v)];  // Σ_w c(v, w): v's occurrences followed by a token
    if (cv > 0) {
      const auto it = bi_.find(static_cast<uint64_t>(v) * V_ + w);
      p = lambda * (it == bi_.end() ? 0.0 : it->second) / cv + (1 - lambda) * pu;
    }
    total -= std::log(p);
  }
  return total / static_cast<double>(ids.size() - 1);
}

double NgramLmBaseline::unigram_nats(const std::vector<int64_t>& ids) const { return nats(ids, 0.0); }
double NgramLmBaseline::bigram_nats(const std::vector<int64_t>& ids) const { return nats(ids, lambda_); }

}  // namespace recurrent::tasks
