// Interpolated Witten–Bell token n-gram (contract in include/recurrent/tasks/ngram_prior.h).
//
// Counts: for every position i of every training sequence and every k < order, the context h_k = the k
// tokens before i (positions before the start are the mark kBos) is followed by w_i. Stored as one
// sorted table of (context → total, sorted (token, count) list); a lookup is a binary search.
#include "recurrent/tasks/ngram_prior.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "recurrent/core/error.h"

namespace recurrent::tasks {

namespace {
constexpr int64_t kBos = -1;  // begin-of-sequence mark in contexts
}

NgramPrior::NgramPrior(int order, std::vector<int64_t> vocab, const std::vector<std::vector<int64_t>>& sequences)
    : order_(order), vocab_(std::move(vocab)) {
  RC_CHECK(order >= 1, "NgramPrior", "order must be >= 1, got ", order);
  RC_CHECK(!vocab_.empty(), "NgramPrior", "the vocabulary is empty");
  std::sort(vocab_.begin(), vocab_.end());
  RC_CHECK(std::adjacent_find(vocab_.begin(), vocab_.end()) == vocab_.end(), "NgramPrior",
           "the vocabulary lists a token twice");
  std::map<std::vector<int64_t>, std::map<int64_t, int64_t>> counts;
  for (size_t n = 0; n < sequences.size(); ++n) {
    const auto& seq = sequences[n];
    for (size_t i = 0; i < seq.size(); ++i) {
      RC_CHECK(std::binary_search(vocab_.begin(), vocab_.end(), seq[i]), "NgramPrior", "token ", seq[i],
               " at position ", i, " of sequence ", n, " is not in the vocabulary");
      for (int k = 0; k < order; ++k) {
        std::vector<int64_t> h(static_cast<size_t>(k));
        for (int j = 0; j < k; ++j) {
          const int64_t pos = static_cast<int64_t>(i) - k + j;
          h[j] = pos < 0 ? kBos : seq[pos];
        }
        ++counts[h][seq[i]];
      }
    }
  }
  for (auto& [h, next] : counts) {
    Counts c;
    for (auto [w, n] : next) {
      c.total += n;
      c.next.emplace_back(w, n);
    }
    table_.emplace_back(h, std::move(c));
  }
}

const NgramPrior::Counts* NgramPrior::find(std::span<const int64_t> context) const {
  auto it = std::lower_bound(table_.begin(), table_.end(), context, [](const auto& e, std::span<const int64_t> h) {
    return std::lexicographical_compare(e.first.begin(), e.first.end(), h.begin(), h.end());
  });
  if (it == table_.end() || !std::equal(it->first.begin(), it->first.end(), context.begin(), context.end()))
    return nullptr;
  return &it->second;
}

// P_k(w | h_k) for the last k = context.size() tokens, interpolated down to the uniform P_{−1}.
double NgramPrior::prob(std::span<const int64_t> context, int64_t token) const {
  double p = 1.0 / static_cast<double>(vocab_.size());
  for (size_t k = 0; k <= context.size(); ++k) {
    const Counts* c = find(context.subspan(context.size() - k));
    if (!c) break;  // a longer context containing an unseen one is unseen too
    auto it = std::lower_bound(c->next.begin(), c->next.end(), std::make_pair(token, int64_t{0}));
    const double cw = (it != c->next.end() && it->first == token) ? static_cast<double>(it->second) : 0.0;
    const double types = static_cast<double>(c->next.size());
    p = (cw + types * p) / (static_cast<double>(c->total) + types);
  }
  return p;
}

double NgramPrior::log_prob(std::span<const int64_t> prefix, int64_t token) const {
  RC_CHECK(std::binary_search(vocab_.begin(), vocab_.end(), token), "NgramPrior", "token ", token,
           " is not in the vocabulary");
  const size_t k = static_cast<size_t>(order_ - 1);
  std::vector<int64_t> h(k, kBos);  // the last order−1 tokens, kBos before the start
  for (size_t j = 0; j < k && j < prefix.size(); ++j) h[k - 1 - j] = prefix[prefix.size() - 1 - j];
  return std::log(prob(h, token));
}

TokenPrior NgramPrior::as_prior() const {
  return [self = *this](std::span<const int64_t> prefix, int64_t token) { return self.log_prob(prefix, token); };
}

}  // namespace recurrent::tasks
