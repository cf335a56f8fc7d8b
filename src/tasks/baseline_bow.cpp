// The classification baselines of tasks/baselines.h: majority class and the bag-of-n-grams logistic
// regression (fastText-style mean of unigram and bigram one-hots, full-batch Adam).
#include <algorithm>
#include <cmath>

#include "recurrent/core/error.h"
#include "recurrent/core/rng.h"
#include "recurrent/tasks/baselines.h"

namespace recurrent::tasks {

int64_t majority_label(const std::vector<int64_t>& labels, int64_t C) {
  RC_CHECK(!labels.empty() && C > 0, "majority_label", "needs labels and C > 0");
  std::vector<int64_t> count(static_cast<size_t>(C), 0);
  for (int64_t y : labels) ++count.at(static_cast<size_t>(y));
  return std::max_element(count.begin(), count.end()) - count.begin();  // first maximum: lowest id
}

namespace {

uint64_t pair_key(int64_t a, int64_t b, int64_t V) { return static_cast<uint64_t>(a) * static_cast<uint64_t>(V) + static_cast<uint64_t>(b); }

// Macro-F1 over the classes present in gold or predictions, and accuracy.
std::pair<double, double> f1_and_accuracy(const std::vector<int64_t>& gold, const std::vector<int64_t>& pred, int64_t C) {
  std::vector<double> tp(C, 0), fp(C, 0), fn(C, 0);
  double right = 0;
  for (size_t i = 0; i < gold.size(); ++i) {
    if (gold[i] == pred[i]) ++right, ++tp[gold[i]];
    else ++fp[pred[i]], ++fn[gold[i]];
  }
  double f1 = 0;
  int64_t classes = 0;
  for (int64_t c = 0; c < C; ++c) {
    if (tp[c] + fp[c] + fn[c] == 0) continue;
    ++classes;
    f1 += 2 * tp[c] / (2 * tp[c] + fp[c] + fn[c]);
  }
  return {classes ? f1 / classes : 0.0, gold.empty() ? 0.0 : right / gold.size()};
}

}  // namespace

std::vector<int64_t> BowClassifier::feature_ids(const std::vector<int64_t>& seq) const {
  std::vector<int64_t> f;
  f.reserve(seq.size() * 2);
  for (size_t t = 0; t < seq.size(); ++t) {
    f.push_back(seq[t]);
    if (t + 1 < seq.size()) {
      const auto it = bigram_index_.find(pair_key(seq[t], seq[t + 1], V_));
      if (it != bigram_index_.end()) f.push_back(it->second);
    }
  }
  return f;
}

// Adam (β 0.9 / 0.999, ε 1e-8, lr 0.05, 300 steps; full batch up to 4096 rows) on the class-weighted mean
// cross-entropy + wd/2·‖W‖².
//   x [N, F] sparse (rows: feature ids, value 1/len) → z = x·W + b [N, C] → p = softmax(z)
//   g = (p − onehot)/N;  ∂W = xᵀ·g + wd·W;  ∂b = Σ_n g
void BowClassifier::train(const std::vector<std::vector<int64_t>>& rows, const std::vector<int64_t>& labels, double wd,
                          bool balanced) {
  const int64_t F = features(), C = C_, N = static_cast<int64_t>(rows.size());
  std::vector<double> cw(C, 1.0), count(C, 0.0);  // class weights; the loss is Σ cw_y·CE / Σ cw_y
  for (int64_t y : labels) ++count[y];
  if (balanced)
    for (int64_t c = 0; c < C; ++c) cw[c] = count[c] > 0 ? static_cast<double>(N) / (C * count[c]) : 1.0;
  // Batches of at most kBatch rows in a fixed shuffled order (all rows, i.e. full-batch, when N ≤ kBatch):
  // 300 steps cost at most 300·kBatch rows, so a 50k-sentence set fits in seconds, not minutes.
  constexpr int64_t kBatch = 4096;
  const int64_t B = std::min(N, kBatch);
  std::vector<int64_t> order(N);
  for (int64_t i = 0; i < N; ++i) order[i] = i;
  if (N > B) {
    Rng r(0x626f77ull);  // "bow": the same order every fit
    for (int64_t i = N; i > 1; --i) std::swap(order[i - 1], order[r.below(static_cast<uint64_t>(i))]);
  }
  int64_t next = 0;
  std::vector<double> w(F * C, 0.0), b(C, 0.0), gw(F * C), gb(C), mw(F * C, 0.0), vw(F * C, 0.0), mb(C, 0.0), vb(C, 0.0);
  std::vector<double> z(C);
  const double lr = 0.05, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  for (int step = 1; step <= 300; ++step) {
    for (int64_t i = 0; i < F * C; ++i) gw[i] = wd * w[i];
    std::fill(gb.begin(), gb.end(), 0.0);
    std::vector<int64_t> batch(B);
    double wsum = 0;
    for (int64_t k = 0; k < B; ++k, next = (next + 1) % N) batch[k] = order[next], wsum += cw[labels[order[next]]];
    for (int64_t n : batch) {
      const std::vector<int64_t>& r = rows[n];
      const double v = r.empty() ? 0.0 : 1.0 / static_cast<double>(r.size());
      for (int64_t c = 0; c < C; ++c) z[c] = b[c];
      for (int64_t f : r)
        for (int64_t c = 0; c < C; ++c) z[c] += v * w[f * C + c];
      const double mx = *std::max_element(z.begin(), z.end());
      double sum = 0;
      for (double& e : z) sum += (e = std::exp(e - mx));
      for (int64_t c = 0; c < C; ++c) {
        const double g = cw[labels[n]] * (z[c] / sum - (labels[n] == c ? 1.0 : 0.0)) / wsum;
        gb[c] += g;
        for (int64_t f : r) gw[f * C + c] += v * g;
      }
    }
    const double c1 = 1 - std::pow(b1, step), c2 = 1 - std::pow(b2, step);
    auto adam = [&](std::vector<double>& p, const std::vector<double>& g, std::vector<double>& m, std::vector<double>& s) {
      for (size_t i = 0; i < p.size(); ++i) {
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        s[i] = b2 * s[i] + (1 - b2) * g[i] * g[i];
        p[i] -= lr * (m[i] / c1) / (std::sqrt(s[i] / c2) + eps);
      }
    };
    adam(w, gw, mw, vw);
    adam(b, gb, mb, vb);
  }
  w_.assign(w.begin(), w.end());
  b_.assign(b.begin(), b.end());
  weight_decay_ = wd;
  balanced_ = balanced;
}

BowClassifier BowClassifier::fit(const std::vector<std::vector<int64_t>>& train, const std::vector<int64_t>& train_labels,
                                 const std::vector<std::vector<int64_t>>& valid, const std::vector<int64_t>& valid_labels,
                                 int64_t V, int64_t C) {
  RC_CHECK(!train.empty() && train.size() == train_labels.size() && valid.size() == valid_labels.size() && V > 0 && C > 0,
           "bag-of-n-grams baseline", "needs training sentences with one label each");
  BowClassifier m;
  m.V_ = V, m.C_ = C;
  // Bigrams of the training part; on a large one (> 4096 sentences) only those seen twice or more.
  const int min_count = train.size() > 4096 ? 2 : 1;
  std::unordered_map<uint64_t, int> seen;
  for (const auto& s : train)
    for (size_t t = 0; t + 1 < s.size(); ++t)
      if (++seen[pair_key(s[t], s[t + 1], V)] == min_count &&
          m.bigram_index_.emplace(pair_key(s[t], s[t + 1], V), V + static_cast<int64_t>(m.bigrams_.size())).second)
        m.bigrams_.emplace_back(s[t], s[t + 1]);
  std::vector<std::vector<int64_t>> rows;
  for (const auto& s : train) rows.push_back(m.feature_ids(s));
  BowClassifier best;
  double best_f1 = -1, best_acc = -1;
  for (bool balanced : {true})  // balanced class weights (the same as none on balanced labels)
    for (double wd : {1e-4, 1e-3, 1e-2}) {  // chosen on validation only
      m.train(rows, train_labels, wd, balanced);
      const auto [f1, acc] = valid.empty() ? std::pair{0.0, 0.0} : f1_and_accuracy(valid_labels, m.predict(valid), C);
      if (f1 > best_f1 || (f1 == best_f1 && acc > best_acc)) best = m, best_f1 = f1, best_acc = acc;
    }
  return best;
}

std::vector<float> BowClassifier::logits(const std::vector<int64_t>& seq) const {
  std::vector<float> z(b_.begin(), b_.end());
  const std::vector<int64_t> f = feature_ids(seq);
  const double v = f.empty() ? 0.0 : 1.0 / static_cast<double>(f.size());
  std::vector<double> acc(b_.begin(), b_.end());
  for (int64_t id : f)
    for (int64_t c = 0; c < C_; ++c) acc[c] += v * w_[id * C_ + c];
  for (int64_t c = 0; c < C_; ++c) z[c] = static_cast<float>(acc[c]);
  return z;
}

std::vector<int64_t> BowClassifier::predict(const std::vector<std::vector<int64_t>>& seqs) const {
  std::vector<int64_t> out;
  out.reserve(seqs.size());
  for (const auto& s : seqs) {
    const std::vector<float> z = logits(s);
    out.push_back(std::max_element(z.begin(), z.end()) - z.begin());
  }
  return out;
}

void BowClassifier::append_tensors(io::NamedTensors& out, const std::string& prefix) const {
  if (!defined()) return;
  std::vector<float> bg;
  for (const auto& [a, b] : bigrams_) bg.push_back(static_cast<float>(a)), bg.push_back(static_cast<float>(b));
  out.push_back({prefix + "bigrams", Tensor::from(bg, {static_cast<int64_t>(bigrams_.size()), 2})});
  out.push_back({prefix + "weight", Tensor::from(w_, {features(), C_})});
  out.push_back({prefix + "bias", Tensor::from(b_, {C_})});
  out.push_back({prefix + "weight_decay", Tensor::from({static_cast<float>(weight_decay_)}, {1})});
}

BowClassifier BowClassifier::from_tensors(const io::NamedTensors& in, const std::string& prefix, int64_t V,
                                          const std::string& where) {
  auto find = [&](const std::string& n) -> const Tensor* {
    for (const auto& [name, t] : in)
      if (name == prefix + n) return &t;
    return nullptr;
  };
  BowClassifier m;
  const Tensor *bg = find("bigrams"), *w = find("weight"), *b = find("bias"), *wd = find("weight_decay");
  if (!bg && !w && !b) return m;
  RC_CHECK(bg && w && b && bg->dim() == 2 && bg->size(1) == 2 && w->dim() == 2 && b->dim() == 1 &&
               w->size(0) == V + bg->size(0) && w->size(1) == b->size(0) && b->size(0) > 0,
           where, "damaged bag-of-n-grams baseline tensors (", prefix, "*)");
  m.V_ = V, m.C_ = b->size(0);
  const Tensor bgc = bg->contiguous(), wc = w->contiguous(), bc = b->contiguous();
  for (int64_t i = 0; i < bgc.size(0); ++i) {
    const auto a = static_cast<int64_t>(bgc.data()[2 * i]), c = static_cast<int64_t>(bgc.data()[2 * i + 1]);
    RC_CHECK(a >= 0 && a < V && c >= 0 && c < V, where, "bag-of-n-grams baseline: bigram token id out of range");
    m.bigram_index_.emplace(pair_key(a, c, V), V + i);
    m.bigrams_.emplace_back(a, c);
  }
  m.w_.assign(wc.data(), wc.data() + wc.numel());
  m.b_.assign(bc.data(), bc.data() + bc.numel());
  if (wd) m.weight_decay_ = wd->contiguous().data()[0];
  return m;
}

}  // namespace recurrent::tasks
