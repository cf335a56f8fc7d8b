// The unigram and bigram LM baselines' scores on some tokens as JSON, the same in every report that
// carries them (train lm / condlm results.json, eval --json):
//   {"unigram": {"loss_nats", "bits_per_token", "perplexity"}, "bigram": {...}}
#pragma once

#include <cmath>
#include <nlohmann/json.hpp>

namespace recurrent::tasks::detail {

inline nlohmann::json nats_json(double nats) {
  return {{"loss_nats", nats}, {"bits_per_token", nats / std::log(2.0)}, {"perplexity", std::exp(nats)}};
}

// `unigram` and `bigram`: the baselines' mean nats per token (NgramLmBaseline::unigram_nats / bigram_nats),
// computed once by the caller, which also prints them.
inline nlohmann::json ngram_scores_json(double unigram, double bigram) {
  return {{"unigram", nats_json(unigram)}, {"bigram", nats_json(bigram)}};
}

}  // namespace recurrent::tasks::detail
