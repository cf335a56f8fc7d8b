// The text classifier: tokens, configuration (JSON), module, metrics, evaluation and loading
// (contract in tasks/classify.h).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/data/utf8.h"
#include "recurrent/tasks/classify.h"
#include "recurrent/tasks/load_model.h"
#include "recurrent/train/checkpoint.h"
#include "recurrent/io/json_int.h"
#include "tasks/layer_options.h"

namespace recurrent::tasks {

using nlohmann::json;

Pooling parse_pooling(const std::string& s) {
  if (s == "last") return Pooling::last;
  if (s == "mean") return Pooling::mean;
  if (s == "max") return Pooling::max;
  throw Error("--pool", "expected last, mean or max, got '" + s + "'");
}
const char* pooling_name(Pooling p) { return p == Pooling::last ? "last" : p == Pooling::mean ? "mean" : "max"; }

std::vector<std::string> classify_tokens(const std::string& text, bool chars, bool lower, const std::string& where) {
  const std::u32string cps = data::utf8_decode(text, where);
  std::vector<std::string> out;
  if (chars) {
    for (char32_t c : cps) out.push_back(data::utf8_encode(std::u32string_view(&c, 1), where));
    return out;
  }
  // Word level: letters/digits (and any non-ASCII code point) and inner apostrophes join a word;
  // other printable ASCII is a one-character token; whitespace and controls separate.
  auto wordch = [](char32_t c) { return c >= 0x80 || (c < 0x80 && std::isalnum(static_cast<int>(c))); };
  std::u32string cur;
  auto flush = [&] {
    if (!cur.empty()) out.push_back(data::utf8_encode(cur, where));
    cur.clear();
  };
  for (size_t i = 0; i < cps.size(); ++i) {
    char32_t c = cps[i];
    if (lower && c < 0x80) c = static_cast<char32_t>(std::tolower(static_cast<int>(c)));
    if (wordch(c) || (c == U'\'' && !cur.empty() && i + 1 < cps.size() && wordch(cps[i + 1]))) {
      cur.push_back(c);
    } else {
      flush();
      if (c > 0x20 && c < 0x7f) out.push_back(std::string(1, static_cast<char>(c)));
    }
  }
  flush();
  return out;
}

RNNOptions ClassifierConfig::rnn_options() const {
  RNNOptions o;
  o.input_size = embed;
  o.layers = layers;
  o.bidirectional = bidirectional;
  o.dropout = dropout;
  return o;
}

int64_t ClassifierConfig::features() const { return (bidirectional ? 2 : 1) * layers.back().out_size(); }

void ClassifierConfig::validate() const {
  RC_CHECK(embed >= 1, "--embed", "expected >= 1, got ", embed);
  RC_CHECK(!layers.empty(), "--layers", "expected at least one layer");
  RC_CHECK(dropout >= 0.0f && dropout < 1.0f, "--dropout", "expected a value in [0, 1), got ", dropout);
  RC_CHECK(word_dropout >= 0.0f && word_dropout < 1.0f, "--word-dropout", "expected a value in [0, 1), got ",
           word_dropout);
  RC_CHECK(!vocab.empty() && vocab[0] == "<unk>", "vocabulary", "expected <unk> as token 0");
  RC_CHECK(labels.size() >= 2, "labels", "expected at least two classes, got ", labels.size());
  rnn_options().validate();
}

std::string ClassifierConfig::to_json() const {
  json ls = json::array();
  for (const LayerSpec& l : layers) ls.push_back(layer_json(l));
  json j = {{"task", "classify"}, {"level", chars ? "char" : "word"}, {"lower", lower},
            {"embed", embed},     {"layers", ls},    {"bidirectional", bidirectional},
            {"dropout", dropout}, {"word_dropout", word_dropout}, {"pooling", pooling_name(pooling)},
            {"labels", labels},   {"vocab", vocab}};
  return j.dump();
}

ClassifierConfig ClassifierConfig::from_json(const std::string& text, const std::string& where) {
  try {
    json j = json::parse(text);
    RC_CHECK(j.value("task", "") == "classify", where, "not a classifier (task '", j.value("task", ""), "')");
    ClassifierConfig c;
    c.chars = j.at("level").get<std::string>() == "char";
    c.lower = j.at("lower").get<bool>();
    c.embed = io::json_int_at<int64_t>(j, "embed");
    for (const json& l : j.at("layers"))
      c.layers.push_back(layer_from_json(l));
    c.bidirectional = j.at("bidirectional").get<bool>();
    c.dropout = j.at("dropout").get<float>();
    c.word_dropout = j.value("word_dropout", 0.0f);  // absent in models written before the option
    c.pooling = parse_pooling(j.at("pooling").get<std::string>());
    c.labels = j.at("labels").get<std::vector<std::string>>();
    c.vocab = j.at("vocab").get<std::vector<std::string>>();
    c.validate();
    return c;
  } catch (const json::exception& e) {
    throw Error(where, std::string("bad model configuration: ") + e.what());
  } catch (const Error& e) {
    throw Error(where, "bad model configuration: " + std::string(e.what()));
  }
}

TextClassifier::TextClassifier(ClassifierConfig cfg, Rng& rng) : cfg_(std::move(cfg)), dropout_rng_(rng.fork(0x636c73)) {
  cfg_.validate();
  for (size_t i = 0; i < cfg_.vocab.size(); ++i) index_.emplace(cfg_.vocab[i], static_cast<int64_t>(i));
  const int64_t V = static_cast<int64_t>(cfg_.vocab.size()), E = cfg_.embed;
  const int64_t C = static_cast<int64_t>(cfg_.labels.size()), F = cfg_.features();
  Tensor e({V, E});
  rng.fill_normal(e, 0.0f, 1.0f);  // torch.nn.Embedding default
  emb_ = register_parameter("embedding.weight", e);
  rnn_ = register_module("rnn", std::make_shared<RNN>(cfg_.rnn_options(), rng));
  const float k = 1.0f / std::sqrt(static_cast<float>(F));  // torch.nn.Linear default
  Tensor w({C, F}), b({C});
  rng.fill_uniform(w, -k, k);
  rng.fill_uniform(b, -k, k);
  out_w_ = register_parameter("output.weight", w);
  out_b_ = register_parameter("output.bias", b);
}

std::vector<int64_t> TextClassifier::encode(const std::string& text, const std::string& where) const {
  std::vector<int64_t> ids;
  for (const std::string& t : classify_tokens(text, cfg_.chars, cfg_.lower, where)) {
    auto it = index_.find(t);
    ids.push_back(it == index_.end() ? 0 : it->second);
  }
  if (ids.empty()) ids.push_back(0);
  return ids;
}

Var TextClassifier::forward(const std::vector<const std::vector<int64_t>*>& seqs) {
  const int64_t B = static_cast<int64_t>(seqs.size());
  RC_CHECK(B >= 1, "classifier", "empty batch");
  int64_t T = 0;
  std::vector<int64_t> lengths;
  for (const auto* s : seqs) {
    RC_CHECK(!s->empty(), "classifier", "empty sequence");
    lengths.push_back(static_cast<int64_t>(s->size()));
    T = std::max(T, lengths.back());
  }
  std::vector<int64_t> ids(static_cast<size_t>(T * B), 0);  // time-major [T, B], padded with 0
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < lengths[b]; ++t) ids[t * B + b] = (*seqs[b])[t];
  if (is_training() && cfg_.word_dropout > 0.0f)
    for (int64_t b = 0; b < B; ++b) {
      const std::vector<int64_t> kept = drop_words(*seqs[b]);
      for (int64_t t = 0; t < lengths[b]; ++t) ids[t * B + b] = kept[t];
    }
  const float p = cfg_.dropout;
  Var x = dropout(embedding(emb_, ids, {T, B}), p, is_training(), dropout_rng_);  // [T, B, E]
  RNNOutput out = rnn_->forward(x, lengths);
  Var pooled;  // [B, F]
  if (cfg_.pooling == Pooling::max) {
    pooled = max_over_time(out.output, lengths);
  } else if (cfg_.pooling == Pooling::last) {
    const Var& h = out.final_state.h.back();  // [D, B, R]
    const int64_t D = h.value().shape()[0], R = h.value().shape()[2];
    pooled = D == 1 ? reshape(h, {B, R}) : reshape(transpose(h, 0, 1), {B, D * R});
  } else {
    Tensor inv({B, 1});
    for (int64_t b = 0; b < B; ++b) inv.data()[b] = 1.0f / static_cast<float>(lengths[b]);
    pooled = mul(sum(out.output, 0), Var(inv));  // outputs past each length are zero
  }
  return linear(dropout(pooled, p, is_training(), dropout_rng_), out_w_, out_b_);
}

std::vector<int64_t> TextClassifier::drop_words(const std::vector<int64_t>& ids) {
  std::vector<int64_t> out(ids);
  for (int64_t& id : out)
    if (dropout_rng_.uniform() < cfg_.word_dropout) id = 0;
  return out;
}

// out[b, f] = max_{t < len_b} x[t, b, f];   ∂x[t*, b, f] += g[b, f] (t*: the first arg-max).
Var max_over_time(const Var& x, const std::vector<int64_t>& lengths) {
  const Tensor xv = x.value().contiguous();
  RC_CHECK(xv.dim() == 3, "max_over_time", "expected x [T, B, F], got ", shape_str(xv.shape()));
  const int64_t T = xv.size(0), B = xv.size(1), F = xv.size(2);
  RC_CHECK(static_cast<int64_t>(lengths.size()) == B, "max_over_time", "expected ", B, " lengths, got ", lengths.size());
  Tensor out({B, F});
  std::vector<int64_t> arg(static_cast<size_t>(B * F));  // t* per (b, f): all backward needs
  const float* xp = xv.data();
  for (int64_t b = 0; b < B; ++b) {
    RC_CHECK(lengths[b] >= 1 && lengths[b] <= T, "max_over_time", "length ", lengths[b], " outside [1, ", T, "]");
    for (int64_t f = 0; f < F; ++f) {
      int64_t best = 0;
      for (int64_t t = 1; t < lengths[b]; ++t)
        if (xp[(t * B + b) * F + f] > xp[(best * B + b) * F + f]) best = t;
      arg[b * F + f] = best;
      out.data()[b * F + f] = xp[(best * B + b) * F + f];
    }
  }
  return make_op("max_over_time", out, {x}, [arg = std::move(arg), T, B, F](Node& o) {
    Tensor gx = Tensor::zeros({T, B, F});
    const float* g = o.grad.data();
    for (int64_t i = 0; i < B * F; ++i) gx.data()[(arg[i] * B + i / F) * F + i % F] = g[i];
    accumulate_grad(*o.inputs[0], gx);
  });
}

ClassifyEval classification_metrics(const std::vector<int64_t>& gold, const std::vector<int64_t>& pred, int64_t C) {
  RC_CHECK(gold.size() == pred.size(), "metrics", "gold and predicted counts differ");
  ClassifyEval e;
  e.n = static_cast<int64_t>(gold.size());
  e.confusion.assign(static_cast<size_t>(C), std::vector<int64_t>(static_cast<size_t>(C), 0));
  int64_t right = 0;
  for (size_t i = 0; i < gold.size(); ++i) {
    RC_CHECK(gold[i] >= 0 && gold[i] < C && pred[i] >= 0 && pred[i] < C, "metrics", "class id outside [0, ", C, ")");
    ++e.confusion[gold[i]][pred[i]];
    right += gold[i] == pred[i];
  }
  e.accuracy = e.n ? static_cast<double>(right) / static_cast<double>(e.n) : 0.0;
  // F1_c = 2·tp / (2·tp + fp + fn); macro = mean over classes present in gold or predictions.
  double f1 = 0;
  int64_t classes = 0;
  for (int64_t c = 0; c < C; ++c) {
    int64_t tp = e.confusion[c][c], fp = 0, fn = 0;
    for (int64_t k = 0; k < C; ++k)
      if (k != c) fp += e.confusion[k][c], fn += e.confusion[c][k];
    if (tp + fp + fn == 0) continue;
    f1 += 2.0 * static_cast<double>(tp) / static_cast<double>(2 * tp + fp + fn);
    ++classes;
  }
  e.macro_f1 = classes ? f1 / static_cast<double>(classes) : 0.0;
  e.predictions = pred;
  return e;
}

ClassifyEval evaluate_classifier(TextClassifier& m, const std::vector<std::vector<int64_t>>& seqs,
                                 const std::vector<int64_t>& labels, int64_t batch) {
  NoGradGuard ng;
  const bool was_training = m.is_training();
  m.eval();
  const int64_t C = static_cast<int64_t>(m.config().labels.size());
  std::vector<int64_t> pred;
  double loss = 0;
  for (size_t a = 0; a < seqs.size(); a += static_cast<size_t>(batch)) {
    const size_t b = std::min(seqs.size(), a + static_cast<size_t>(batch));
    std::vector<const std::vector<int64_t>*> bs;
    for (size_t i = a; i < b; ++i) bs.push_back(&seqs[i]);
    Var logits = m.forward(bs);  // [B, C]
    CrossEntropyOptions co;
    co.reduction = Reduction::sum;
    loss += cross_entropy(logits, std::vector<int64_t>(labels.begin() + a, labels.begin() + b), co).value().item();
    const float* l = logits.value().data();
    for (size_t i = 0; i < b - a; ++i)
      pred.push_back(std::max_element(l + i * C, l + (i + 1) * C) - (l + i * C));
  }
  m.train(was_training);
  ClassifyEval e = classification_metrics(labels, pred, C);
  e.loss = seqs.empty() ? 0.0 : loss / static_cast<double>(seqs.size());
  return e;
}

std::unique_ptr<TextClassifier> load_classifier(const std::string& model_path) {
  return load_trained<TextClassifier, ClassifierConfig>(model_path);
}

}  // namespace recurrent::tasks
