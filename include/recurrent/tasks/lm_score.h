// recurrent/tasks/lm_score.h — score_text (tasks/lm.h) for several texts in one pass: the model's
// streams fed ids [T, B] (B texts side by side, each padded at its end to the longest by repeating its
// last input; a causal model's steps never see what comes after them, so the padding changes no score).
// Each row's score is score_text's for that text up to the rounding of the batched products; for one
// text it is score_text's own call (score_text is score_texts of one input).
#pragma once

#include <string>
#include <vector>

#include "recurrent/tasks/lm.h"

namespace recurrent::tasks {

struct ScoreInput {
  std::vector<int64_t> ids;         // the start token, the text's tokens (words: then <eos>)
  std::vector<std::string> shown;   // each scored token as written (ids[1..] one for one)
};
// Error("text", ...) when the text is not UTF-8 or has nothing to score.
ScoreInput score_input(const data::Vocab& v, const std::string& text_utf8);
// inputs: B ≥ 1 texts → their scores, from one feed of [max_b (|ids_b| − 1), B] ids.
std::vector<TextScore> score_texts(LmModel& m, const std::vector<ScoreInput>& inputs);

}  // namespace recurrent::tasks
