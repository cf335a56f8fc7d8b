// recurrent/tasks/ctc_lm_prior.h — one of the project's language models (tasks/lm.h) as the prior of
// CTC prefix beam search (tasks/ctc_decode.h, BeamOptions::prior).
//
// CTC class k is written token_text[k]: a character for a character-level LM, a word for a word-level
// one (the blank's entry is never asked for). A prefix is written out (characters concatenated, words
// joined by spaces) and prior(token | prefix) = log P_LM(token_text[token] | that text), from
// next_token_probs (the LM's start token, then the text); a text missing from the LM's vocabulary is
// scored as <unk>. The LM's distribution after each prefix is computed once and cached, since the beam
// asks for every token after the same prefix. Not thread-safe (one prior per decoding thread).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "recurrent/tasks/ctc_decode.h"
#include "recurrent/tasks/lm.h"

namespace recurrent::tasks {

TokenPrior lm_prior(std::shared_ptr<LmModel> lm, std::vector<std::string> token_text);

}  // namespace recurrent::tasks
