// The unigram and bigram LM baselines' scores on some tokens as JSON, the same in every report that
// carries them (train lm / condlm results.json, eval --json):
//   {"unigram": {"loss_nats", "bits_per_token", "perplexity"}, "bigram": {...}}
#pragma once

#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "recurrent/tasks/baselines.h"

namespace recurrent::tasks::detail {

inline nlohmann::json nats_json(double nats) {
  return {{"loss_nats", nats}, {"bits_per_token", nats / std::log(2.0)}, {"perplexity", std::exp(nats)}};
}

inline nlohmann::json ngram_scores_json(const NgramLmBaseline& base, const std::vector<int64_t>& ids) {
  return {{"unigram", nats_json(base.unigram_nats(ids))}, {"bigram", nats_json(base.bigram_nats(ids))}};
}

}  // namespace recurrent::tasks::detail
