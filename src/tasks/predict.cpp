// A trained text model on new text: reading the input, each kind's predictions and their TSV /
// JSONL records (contract and formats in include/recurrent/tasks/predict.h).
#include "recurrent/tasks/predict.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <numeric>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/data/utf8.h"

namespace recurrent::tasks {

using nlohmann::json;

namespace {

bool blank(std::string_view s) { return s.find_first_not_of(" \t\r\f\v") == std::string_view::npos; }

// Lines of `content` without "\n" / "\r\n", each checked as UTF-8; f(line number, text).
template <class F>
void for_each_line(std::string_view content, const std::string& where, F f) {
  int64_t n = 0;
  for (size_t a = 0; a < content.size();) {
    size_t b = content.find('\n', a);
    if (b == std::string_view::npos) b = content.size();
    std::string_view line = content.substr(a, b - a);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::string at = where + ":" + std::to_string(++n);
    data::utf8_decode(line, at);  // throws "where:N: invalid UTF-8 at byte offset ..."
    f(n, line, at);
    a = b + 1;
  }
}

std::vector<std::string> split_ws(std::string_view s) {
  std::vector<std::string> out;
  for (size_t a = 0; a < s.size();) {
    a = s.find_first_not_of(" \t\r\f\v", a);
    if (a == std::string_view::npos) break;
    size_t b = s.find_first_of(" \t\r\f\v", a);
    if (b == std::string_view::npos) b = s.size();
    out.emplace_back(s.substr(a, b - a));
    a = b;
  }
  return out;
}

std::string fmt_prob(double p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", p);
  return buf;
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::strict) + "\n"; }

// softmax of one row of logits, in double
std::vector<double> softmax_row(const float* l, int64_t C) {
  const float mx = *std::max_element(l, l + C);
  std::vector<double> p(static_cast<size_t>(C));
  double z = 0;
  for (int64_t c = 0; c < C; ++c) z += p[c] = std::exp(static_cast<double>(l[c] - mx));
  for (double& x : p) x /= z;
  return p;
}

// The top-k rows of an LM-style prediction: TSV "context, token_1, prob_1, ..." or the JSON "next" list.
void write_next(const std::vector<double>& p, int64_t k, const std::function<const std::string&(int64_t)>& token,
                PredictFormat f, std::string& tsv, json& next) {
  for (int64_t id : top_k_ids(p, k)) {
    if (f == PredictFormat::tsv) tsv += "\t" + tsv_escape(token(id)) + "\t" + fmt_prob(p[id]);
    else next.push_back({{"token", token(id)}, {"prob", p[id]}});
  }
}

std::string next_header(int64_t k) {
  std::string h;
  for (int64_t i = 1; i <= k; ++i) h += "\ttoken_" + std::to_string(i) + "\tprob_" + std::to_string(i);
  return h;
}

}  // namespace

PredictFormat parse_predict_format(const std::string& s) {
  if (s == "tsv") return PredictFormat::tsv;
  if (s == "jsonl") return PredictFormat::jsonl;
  throw Error("--format", "expected tsv or jsonl, got '" + s + "'");
}

std::vector<InputLine> read_input_lines(std::string_view content, const std::string& where) {
  std::vector<InputLine> out;
  for_each_line(content, where, [&](int64_t n, std::string_view line, const std::string&) {
    if (!blank(line)) out.push_back({n, std::string(line)});
  });
  return out;
}

std::vector<TokenSentence> read_tag_input(std::string_view content, const std::string& where, const std::string& format) {
  RC_CHECK(format == "auto" || format == "lines" || format == "conll", "--input-format",
           "expected auto, lines or conll, got '", format, "'");
  bool conll = format == "conll";
  if (format == "auto") {  // the first non-blank line decides, as train tag's --format auto
    for_each_line(content, where, [&, decided = false](int64_t, std::string_view line, const std::string&) mutable {
      if (decided || blank(line)) return;
      conll = line.find('\t') != std::string_view::npos, decided = true;
    });
  }
  std::vector<TokenSentence> out;
  bool open = false;  // conll: a sentence is being read
  for_each_line(content, where, [&](int64_t n, std::string_view line, const std::string& at) {
    if (!conll) {
      if (!blank(line)) out.push_back({n, split_ws(line)});
      return;
    }
    if (blank(line)) {
      open = false;
      return;
    }
    const std::string_view tok = line.substr(0, line.find('\t'));
    RC_CHECK(!blank(tok), at, "expected a token in the first column (CoNLL: token<TAB>...), found none");
    if (tok == "-DOCSTART-") return;
    if (!open) out.push_back({n, {}}), open = true;
    out.back().tokens.emplace_back(tok);
  });
  return out;
}

std::string tsv_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<int64_t> top_k_ids(const std::vector<double>& p, int64_t k) {
  std::vector<int64_t> idx(p.size());
  std::iota(idx.begin(), idx.end(), 0);
  const size_t K = std::min(idx.size(), static_cast<size_t>(std::max<int64_t>(k, 0)));
  std::partial_sort(idx.begin(), idx.begin() + K, idx.end(),
                    [&](int64_t a, int64_t b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
  idx.resize(K);
  return idx;
}

std::vector<TagPrediction> predict_tags(Tagger& m, const std::vector<TokenSentence>& sents, int64_t batch) {
  RC_CHECK(batch >= 1, "predict_tags", "batch must be positive, got ", batch);
  NoGradGuard ng;
  const bool was_training = m.is_training();
  m.eval();
  const int64_t C = static_cast<int64_t>(m.config().tags.size());
  std::vector<TagPrediction> out;
  for (size_t a = 0; a < sents.size(); a += static_cast<size_t>(batch)) {
    const size_t b = std::min(sents.size(), a + static_cast<size_t>(batch));
    std::vector<TaggerInput> ins;
    for (size_t i = a; i < b; ++i) ins.push_back(m.encode(sents[i].tokens));
    std::vector<const TaggerInput*> ptrs;
    for (const TaggerInput& x : ins) ptrs.push_back(&x);
    const Tensor logits = m.forward(ptrs).value().contiguous();  // [T, B, C]
    const int64_t B = static_cast<int64_t>(b - a);
    for (int64_t k = 0; k < B; ++k) {
      TagPrediction p;
      for (size_t t = 0; t < sents[a + k].tokens.size(); ++t) {
        const std::vector<double> q = softmax_row(logits.data() + (static_cast<int64_t>(t) * B + k) * C, C);
        const int64_t best = std::max_element(q.begin(), q.end()) - q.begin();
        p.tags.push_back(best);
        p.probs.push_back(q[best]);
      }
      out.push_back(std::move(p));
    }
  }
  m.train(was_training);
  return out;
}

std::vector<double> condlm_next_word_probs(CondLanguageModel& m, const std::string& label, const std::string& context,
                                           const std::string& where) {
  NoGradGuard ng;
  const bool was_training = m.is_training();
  m.eval();
  CondSentence s = m.encode(label, context, where);
  s.ids.pop_back();  // inputs <eos>, w_1..w_n; the distribution after w_n
  RNNState state;
  Tensor logits;
  for (int64_t id : s.ids) logits = m.step({id}, {s.label}, state).value().contiguous();  // [1, V]
  m.train(was_training);
  return softmax_row(logits.data(), logits.shape()[1]);
}

void predict_classify(TextClassifier& m, const std::vector<InputLine>& in, PredictFormat f, std::ostream& out,
                      const std::string& where) {
  const std::vector<std::string>& labels = m.config().labels;
  std::vector<std::vector<int64_t>> seqs;
  for (const InputLine& l : in) seqs.push_back(m.encode(l.text, where + ":" + std::to_string(l.line)));
  const std::vector<float> p = classifier_probabilities(m, seqs);  // [N, C]
  const size_t C = labels.size();
  if (f == PredictFormat::tsv) {
    out << "text\tlabel";
    for (const std::string& l : labels) out << "\t" << tsv_escape(l);
    out << "\n";
  }
  for (size_t i = 0; i < in.size(); ++i) {
    const float* row = p.data() + i * C;
    const std::string& label = labels[std::max_element(row, row + C) - row];
    if (f == PredictFormat::tsv) {
      out << tsv_escape(in[i].text) << "\t" << tsv_escape(label);
      for (size_t c = 0; c < C; ++c) out << "\t" << fmt_prob(row[c]);
      out << "\n";
    } else {
      json probs = json::object();
      for (size_t c = 0; c < C; ++c) probs[labels[c]] = row[c];
      out << dump({{"line", in[i].line}, {"text", in[i].text}, {"label", label}, {"probs", probs}});
    }
  }
}

void predict_tag(Tagger& m, const std::vector<TokenSentence>& in, PredictFormat f, std::ostream& out) {
  const std::vector<std::string>& tags = m.config().tags;
  const std::vector<TagPrediction> pred = predict_tags(m, in);
  for (size_t i = 0; i < in.size(); ++i) {
    if (f == PredictFormat::tsv) {
      for (size_t t = 0; t < in[i].tokens.size(); ++t) out << in[i].tokens[t] << "\t" << tags[pred[i].tags[t]] << "\n";
      out << "\n";
    } else {
      json names = json::array();
      for (int64_t id : pred[i].tags) names.push_back(tags[id]);
      out << dump({{"line", in[i].line}, {"tokens", in[i].tokens}, {"tags", names}, {"probs", pred[i].probs}});
    }
  }
}

void predict_lm(LmModel& m, const std::vector<InputLine>& in, int64_t top_k, PredictFormat f, std::ostream& out,
                const std::string& where) {
  RC_CHECK(top_k >= 1, "--top-k", "expected a positive integer, got ", top_k);
  const data::Vocab& v = m.vocab();
  auto token = [&](int64_t id) -> const std::string& { return v.token(id); };
  if (f == PredictFormat::tsv) out << "context" << next_header(std::min(top_k, v.size())) << "\n";
  for (const InputLine& l : in) {
    const std::vector<double> p = next_token_probs(m, l.text, where + ":" + std::to_string(l.line));
    std::string tsv = tsv_escape(l.text);
    json next = json::array();
    write_next(p, top_k, token, f, tsv, next);
    out << (f == PredictFormat::tsv ? tsv + "\n" : dump({{"line", l.line}, {"context", l.text}, {"next", next}}));
  }
}

void predict_condlm(CondLanguageModel& m, const std::vector<InputLine>& in, int64_t top_k, PredictFormat f,
                    std::ostream& out, const std::string& where) {
  RC_CHECK(top_k >= 1, "--top-k", "expected a positive integer, got ", top_k);
  const data::Vocab& v = m.config().vocab;
  auto token = [&](int64_t id) -> const std::string& { return v.token(id); };
  if (f == PredictFormat::tsv) out << "label\tcontext" << next_header(std::min(top_k, v.size())) << "\n";
  for (const InputLine& l : in) {
    const std::string at = where + ":" + std::to_string(l.line);
    const size_t tab = l.text.find('\t');
    RC_CHECK(tab != std::string::npos || !m.config().conditioned, at, "expected 'label<TAB>context' (the words of a "
             "sentence so far; the model is conditioned on a label), found no tab");
    const std::string label = tab == std::string::npos ? "" : l.text.substr(0, tab);
    const std::string context = tab == std::string::npos ? l.text : l.text.substr(tab + 1);
    const std::vector<double> p = condlm_next_word_probs(m, label, context, at);
    std::string tsv = tsv_escape(label) + "\t" + tsv_escape(context);
    json next = json::array();
    write_next(p, top_k, token, f, tsv, next);
    out << (f == PredictFormat::tsv ? tsv + "\n"
                                    : dump({{"line", l.line}, {"label", label}, {"context", context}, {"next", next}}));
  }
}

void predict_seq2seq(Seq2SeqModel& m, const std::vector<InputLine>& in, const DecodeOptions& o, PredictFormat f,
                     std::ostream& out, const std::string& where) {
  std::vector<std::vector<int64_t>> src;
  for (const InputLine& l : in) src.push_back(m.encode_source(l.text, where + ":" + std::to_string(l.line)));
  const std::vector<Translation> tr = translate(m, src, o);
  if (f == PredictFormat::tsv) out << "source\ttranslation\n";
  for (size_t i = 0; i < in.size(); ++i) {
    const std::string t = m.render(tr[i].ids);
    if (f == PredictFormat::tsv) out << tsv_escape(in[i].text) << "\t" << tsv_escape(t) << "\n";
    else out << dump({{"line", in[i].line}, {"source", in[i].text}, {"translation", t}, {"log_prob", tr[i].log_prob},
                      {"ended", tr[i].ended}});
  }
}

}  // namespace recurrent::tasks
