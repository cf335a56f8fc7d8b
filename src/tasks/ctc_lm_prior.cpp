// A language model as a CTC beam-search prior (contract in include/recurrent/tasks/ctc_lm_prior.h).
#include "recurrent/tasks/ctc_lm_prior.h"

#include <cmath>
#include <unordered_map>

#include "recurrent/core/error.h"

namespace recurrent::tasks {

TokenPrior lm_prior(std::shared_ptr<LmModel> lm, std::vector<std::string> token_text) {
  RC_CHECK(lm != nullptr, "lm_prior", "no language model given");
  const data::Vocab& v = lm->vocab();
  const bool words = v.level() == data::TokenLevel::words;
  std::vector<int64_t> lm_id;  // CTC class → LM vocabulary id (kUnk when absent)
  for (const std::string& s : token_text) lm_id.push_back(v.id(s));
  auto cache = std::make_shared<std::unordered_map<std::string, std::vector<double>>>();
  return [lm, token_text = std::move(token_text), lm_id, words, cache](std::span<const int64_t> prefix,
                                                                      int64_t token) {
    RC_CHECK(token >= 0 && token < static_cast<int64_t>(lm_id.size()), "lm_prior", "token ", token,
             " has no text (", lm_id.size(), " tokens given)");
    std::string text;
    for (size_t i = 0; i < prefix.size(); ++i) {
      if (words && i) text += ' ';
      text += token_text.at(static_cast<size_t>(prefix[i]));
    }
    auto it = cache->find(text);
    if (it == cache->end()) it = cache->emplace(text, next_token_probs(*lm, text, "lm_prior context")).first;
    return std::log(it->second[static_cast<size_t>(lm_id[static_cast<size_t>(token)])]);
  };
}

}  // namespace recurrent::tasks
