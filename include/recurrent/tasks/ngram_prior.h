// recurrent/tasks/ngram_prior.h — a small token n-gram model, usable as the prior of CTC prefix beam
// search (tasks/ctc_decode.h: NgramPrior::as_prior()).
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "recurrent/tasks/ctc_decode.h"

namespace recurrent::tasks {

// Interpolated Witten–Bell n-gram over token ids (Witten & Bell 1991; Chen & Goodman 1998 §2.4):
//   P_k(w | h_k) = (c(h_k w) + N₁₊(h_k •) · P_{k−1}(w | h_{k−1})) / (c(h_k) + N₁₊(h_k •)),
//   P_{−1}(w) = 1 / |vocab|, h_k the last k tokens (padded with a begin-of-sequence mark), k < order;
// a context never seen falls through to the shorter one. Normalised over `vocab` for every context.
class NgramPrior {
 public:
  // vocab: the token ids it predicts (e.g. every class but the blank); sequences: training token lists.
  NgramPrior(int order, std::vector<int64_t> vocab, const std::vector<std::vector<int64_t>>& sequences);
  double log_prob(std::span<const int64_t> prefix, int64_t token) const;
  TokenPrior as_prior() const;  // copies *this into the callable
  int order() const { return order_; }

 private:
  struct Counts {
    int64_t total = 0;
    std::vector<std::pair<int64_t, int64_t>> next;  // (token, count), sorted by token
  };
  double prob(std::span<const int64_t> context, int64_t token) const;
  int order_;
  std::vector<int64_t> vocab_;
  std::vector<std::pair<std::vector<int64_t>, Counts>> table_;  // sorted by context
  const Counts* find(std::span<const int64_t> context) const;
};

}  // namespace recurrent::tasks
