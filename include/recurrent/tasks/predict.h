// recurrent/tasks/predict.h — a trained text model on new text: what `recurrent predict` prints for
// each model kind (the forecaster's forecasts are tasks/forecast.h's forecast_csv).
//
// Input: UTF-8 lines (a file or stdin); each non-blank line is one item, blank lines are skipped
// (every record carries its 1-based line number). A tagger reads one sentence per line (tokens
// split on whitespace, as its training data was tokenised) or CoNLL (one token per line, the first
// TAB-separated column, a blank line between sentences, -DOCSTART- skipped: a tagged file as is).
// Output, per kind, in two formats:
//   kind      tsv (a header row, then one row per item)          jsonl (one object per item)
//   classify  text, label, then p(label) for every label         {"line","text","label","probs":{label: p}}
//   tag       CoNLL: token<TAB>tag, a blank line after each      {"line","tokens","tags","probs"}
//             sentence (no header)                               (probs: of each predicted tag)
//   lm        context, then token_i, prob_i for the top k        {"line","context","next":[{"token","prob"}]}
//   condlm    label, context, then token_i, prob_i (top k)       {"line","label","context","next":[...]}
//   seq2seq   source, translation                                {"line","source","translation","log_prob","ended"}
// lm: the distribution of the token after the line read as a context from the start of a text
// (score_text's start: words <eos>, chars "\n"), i.e. the next character or word of the line.
// condlm: lines `label<TAB>context` (the words so far of a sentence of that label; an
// unconditioned model takes the context alone). Probabilities are printed with 6 significant digits.
// TSV fields escape backslash, TAB, LF and CR as \\, \t, \n, \r (a space token is a field " ").
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "recurrent/tasks/classify.h"
#include "recurrent/tasks/condlm.h"
#include "recurrent/tasks/lm.h"
#include "recurrent/tasks/seq2seq.h"
#include "recurrent/tasks/tag.h"

namespace recurrent::tasks {

enum class PredictFormat { tsv, jsonl };
PredictFormat parse_predict_format(const std::string& s);  // "tsv" | "jsonl"; throws Error("--format", ...)

struct InputLine {
  int64_t line = 0;  // 1-based
  std::string text;  // without "\n" (and a final "\r")
};
// The non-blank lines of `content`; invalid UTF-8 throws Error("where:LINE", ...).
std::vector<InputLine> read_input_lines(std::string_view content, const std::string& where);

// A tagger's input sentences: "lines" (one sentence a line), "conll", or "auto" (conll when the
// first non-blank line has a TAB, as train tag's --format auto). Errors name where:LINE.
struct TokenSentence {
  int64_t line = 0;  // of the first token
  std::vector<std::string> tokens;
};
std::vector<TokenSentence> read_tag_input(std::string_view content, const std::string& where, const std::string& format);

// TSV field escaping (see above).
std::string tsv_escape(std::string_view s);

// ---- per-kind predictions (library form) ---------------------------------------------------------
struct TagPrediction {
  std::vector<int64_t> tags;  // tag ids, one per token
  std::vector<double> probs;  // their probabilities
};
std::vector<TagPrediction> predict_tags(Tagger& m, const std::vector<TokenSentence>& sents, int64_t batch = 64);
// (a language model's next-token distribution: next_token_probs in tasks/lm.h)
// P(next word | label, <eos>, the context's words) over the vocabulary (sums to 1).
std::vector<double> condlm_next_word_probs(CondLanguageModel& m, const std::string& label, const std::string& context,
                                           const std::string& where);
// The k most likely ids of a distribution (ties: the smaller id), most likely first.
std::vector<int64_t> top_k_ids(const std::vector<double>& p, int64_t k);

// ---- `recurrent predict`: read, predict, write in the chosen format -----------------------------
// `where` names the input in error messages (a file name or "stdin").
void predict_classify(TextClassifier& m, const std::vector<InputLine>& in, PredictFormat f, std::ostream& out,
                      const std::string& where);
void predict_tag(Tagger& m, const std::vector<TokenSentence>& in, PredictFormat f, std::ostream& out);
void predict_lm(LmModel& m, const std::vector<InputLine>& in, int64_t top_k, PredictFormat f, std::ostream& out,
                const std::string& where);
void predict_condlm(CondLanguageModel& m, const std::vector<InputLine>& in, int64_t top_k, PredictFormat f,
                    std::ostream& out, const std::string& where);
void predict_seq2seq(Seq2SeqModel& m, const std::vector<InputLine>& in, const DecodeOptions& o, PredictFormat f,
                     std::ostream& out, const std::string& where);

}  // namespace recurrent::tasks
