// explore/attention_maps.h — a transformer's attention maps for the explorer's Attention view: every
// MultiheadAttention of a model (found by walking its modules) records the weights its attention op
// computes during ONE forward of the model itself (nn/attention.h set_record; no second implementation),
// then each becomes a map per layer and head.
//
//   LM (train lm --arch transformer):  ids [T] = the start token + the text's tokens (T ≤ context) →
//       TransformerLM::forward → per layer: causal self-attention P [heads, T, T]
//   seq2seq (train seq2seq --arch transformer): source [S], a translation y_1..y_n → the teacher-forced
//       forward over <bos> y_1..y_n (the decoding's own steps: the same logits, tested) → per layer:
//       encoder self [heads, S, S], decoder self [heads, n+1, n+1], cross [heads, n+1, S]
//   Rows are labelled by the token each query step reads (self) or, on the decoder side, the token it
//   produced (y_1..y_n, then <eos>, or "…" when cut); columns by the keys' tokens.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "recurrent/tasks/lm_transformer.h"
#include "recurrent/tasks/seq2seq.h"

namespace recurrent::explore {

// One forward's maps: [{"name" (the module, e.g. "encoder.layers.0.self_attn"), "what" ("self",
// "encoder self", "decoder self", "cross"), "layer", "rows", "cols", "heads": [H][rows][cols]}] in
// module order, weights rounded to 1e-4.
// Error("text", ...) when the text is empty or longer than the model's context.
nlohmann::json lm_attention_maps(tasks::TransformerLanguageModel& m, const std::string& text);
nlohmann::json seq2seq_attention_maps(tasks::TransformerSeq2Seq& m, const std::vector<int64_t>& source,
                                      const std::vector<std::string>& source_tokens, const tasks::Translation& t);

}  // namespace recurrent::explore
