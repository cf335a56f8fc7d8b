// The language-model baselines of tasks/baselines.h: add-one unigram and Jelinek–Mercer bigram.
#include <algorithm>
#include <cmath>

#include "recurrent/core/error.h"
#include "recurrent/tasks/baselines.h"
#include "recurrent/tasks/load_model.h"
#include "recurrent/train/checkpoint.h"

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

void NgramLmBaseline::append_tensors(io::NamedTensors& out, const std::string& prefix) const {
  Tensor u(Shape{V_});
  for (int64_t i = 0; i < V_; ++i) u.data()[i] = static_cast<float>(uni_[static_cast<size_t>(i)]);
  std::vector<std::pair<uint64_t, double>> bi(bi_.begin(), bi_.end());
  std::sort(bi.begin(), bi.end());
  Tensor b(Shape{static_cast<int64_t>(bi.size()), 3});
  for (size_t k = 0; k < bi.size(); ++k) {
    float* row = b.data() + 3 * k;
    row[0] = static_cast<float>(bi[k].first / static_cast<uint64_t>(V_));
    row[1] = static_cast<float>(bi[k].first % static_cast<uint64_t>(V_));
    row[2] = static_cast<float>(bi[k].second);
  }
  Tensor l(Shape{1});
  l.data()[0] = static_cast<float>(lambda_);
  out.emplace_back(prefix + "unigram", std::move(u));
  out.emplace_back(prefix + "bigrams", std::move(b));
  out.emplace_back(prefix + "lambda", std::move(l));
}

NgramLmBaseline NgramLmBaseline::from_tensors(const io::NamedTensors& in, const std::string& prefix, int64_t V,
                                              const std::string& where) {
  const Tensor *u = nullptr, *b = nullptr, *l = nullptr;
  for (const auto& [name, t] : in) {
    if (name == prefix + "unigram") u = &t;
    if (name == prefix + "bigrams") b = &t;
    if (name == prefix + "lambda") l = &t;
  }
  NgramLmBaseline m;
  if (!u && !b && !l) return m;  // a model from before the baselines were stored
  RC_CHECK(u && b && l, where, "incomplete n-gram baseline (extra.", prefix, "unigram, bigrams, lambda)");
  RC_CHECK(u->dim() == 1 && u->size(0) == V && b->dim() == 2 && b->size(1) == 3 && l->numel() == 1, where,
           "n-gram baseline tensors of the wrong shape for a vocabulary of ", V);
  m.V_ = V;
  m.lambda_ = l->data()[0];
  m.uni_.assign(u->data(), u->data() + V);
  m.pred_.assign(static_cast<size_t>(V), 0.0);
  for (double c : m.uni_) m.N_ += static_cast<int64_t>(c);
  for (int64_t k = 0; k < b->size(0); ++k) {
    const float* row = b->data() + 3 * k;
    const int64_t v = static_cast<int64_t>(row[0]), w = static_cast<int64_t>(row[1]);
    RC_CHECK(v >= 0 && v < V && w >= 0 && w < V && row[2] > 0, where, "n-gram baseline: bad bigram row ", k);
    m.bi_[static_cast<uint64_t>(v) * V + w] += row[2];
    m.pred_[static_cast<size_t>(v)] += row[2];
  }
  return m;
}

NgramLmBaseline NgramLmBaseline::load(const std::string& model_path, int64_t V) {
  const std::string path = resolve_model_path(model_path);
  return from_tensors(train::read_checkpoint(path).extra, "baseline.lm.", V, path);
}

double NgramLmBaseline::unigram_nats(const std::vector<int64_t>& ids) const { return nats(ids, 0.0); }
double NgramLmBaseline::bigram_nats(const std::vector<int64_t>& ids) const { return nats(ids, lambda_); }

}  // namespace recurrent::tasks
