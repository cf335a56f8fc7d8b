// The label-conditioned sentence language model: configuration (JSON), module, evaluation, sampling
// and loading (contract in tasks/condlm.h).
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/data/utf8.h"
#include "recurrent/tasks/condlm.h"
#include "recurrent/tasks/lm.h"
#include "recurrent/tasks/load_model.h"
#include "recurrent/train/checkpoint.h"
#include "recurrent/io/json_int.h"
#include "tasks/layer_options.h"

namespace recurrent::tasks {

using nlohmann::json;
using data::Vocab;

RNNOptions CondLmConfig::rnn_options() const {
  RNNOptions o;
  o.input_size = embed + label_embed;
  o.layers = layers;
  o.dropout = dropout;
  return o;
}

void CondLmConfig::validate() const {
  RC_CHECK(vocab.level() == data::TokenLevel::words, "vocabulary", "expected a word vocabulary");
  RC_CHECK(embed >= 1, "--embed", "expected >= 1, got ", embed);
  RC_CHECK(label_embed >= 1, "--label-embed", "expected >= 1, got ", label_embed);
  RC_CHECK(!layers.empty(), "--layers", "expected at least one layer");
  RC_CHECK(dropout >= 0.0f && dropout < 1.0f, "--dropout", "expected a value in [0, 1), got ", dropout);
  RC_CHECK(conditioned ? labels.size() >= 2 : labels == std::vector<std::string>{"<none>"}, "labels",
           conditioned ? "expected at least two labels to condition on" : "expected the single label <none>");
  rnn_options().validate();
}

std::string CondLmConfig::to_json() const {
  json ls = json::array();
  for (const LayerSpec& l : layers) ls.push_back(layer_json(l));
  json j = {{"task", "condlm"},  {"conditioned", conditioned}, {"lower", vocab.lower()}, {"embed", embed},
            {"label_embed", label_embed}, {"layers", ls}, {"dropout", dropout}, {"labels", labels},
            {"vocab", vocab.tokens()}};
  return j.dump();
}

CondLmConfig CondLmConfig::from_json(const std::string& text, const std::string& where) {
  try {
    json j = json::parse(text);
    RC_CHECK(j.value("task", "") == "condlm", where, "not a conditional language model (task '", j.value("task", ""), "')");
    CondLmConfig c;
    c.vocab = Vocab(data::TokenLevel::words, j.at("vocab").get<std::vector<std::string>>(), j.at("lower").get<bool>());
    c.conditioned = j.at("conditioned").get<bool>();
    c.embed = io::json_int_at<int64_t>(j, "embed");
    c.label_embed = io::json_int_at<int64_t>(j, "label_embed");
    for (const json& l : j.at("layers"))
      c.layers.push_back(layer_from_json(l));
    c.dropout = j.at("dropout").get<float>();
    c.labels = j.at("labels").get<std::vector<std::string>>();
    c.validate();
    return c;
  } catch (const json::exception& e) {
    throw Error(where, std::string("bad model configuration: ") + e.what());
  } catch (const Error& e) {
    throw Error(where, "bad model configuration: " + std::string(e.what()));
  }
}

CondLanguageModel::CondLanguageModel(CondLmConfig cfg, Rng& rng) : cfg_(std::move(cfg)), dropout_rng_(rng.fork(0x636c6d)) {
  cfg_.validate();
  const int64_t V = cfg_.vocab.size(), E = cfg_.embed, K = cfg_.label_embed;
  const int64_t C = static_cast<int64_t>(cfg_.labels.size()), R = cfg_.layers.back().out_size();
  Tensor e({V, E}), le({C, K});
  rng.fill_normal(e, 0.0f, 1.0f);  // torch.nn.Embedding default
  rng.fill_normal(le, 0.0f, 1.0f);
  emb_ = register_parameter("embedding.weight", e);
  label_emb_ = register_parameter("label_embedding.weight", le);
  rnn_ = register_module("rnn", std::make_shared<RNN>(cfg_.rnn_options(), rng));
  const float k = 1.0f / std::sqrt(static_cast<float>(R));  // torch.nn.Linear default
  Tensor w({V, R}), b({V});
  rng.fill_uniform(w, -k, k);
  rng.fill_uniform(b, -k, k);
  dec_w_ = register_parameter("decoder.weight", w);
  dec_b_ = register_parameter("decoder.bias", b);
}

int64_t CondLanguageModel::label_id(const std::string& label, const std::string& where) const {
  if (!cfg_.conditioned) return 0;
  auto it = std::lower_bound(cfg_.labels.begin(), cfg_.labels.end(), label);
  if (it != cfg_.labels.end() && *it == label) return it - cfg_.labels.begin();
  std::string known;
  for (const std::string& l : cfg_.labels) known += (known.empty() ? "" : ", ") + l;
  throw Error(where, "label '" + label + "' does not occur in the training data (labels: " + known + ")");
}

CondSentence CondLanguageModel::encode(const std::string& label, const std::string& text, const std::string& where) const {
  CondSentence s;
  s.label = label_id(label, where);
  s.ids.push_back(Vocab::kEos);
  const std::vector<int64_t> w = cfg_.vocab.encode_line(data::utf8_decode(text, where));
  s.ids.insert(s.ids.end(), w.begin(), w.end());
  s.ids.push_back(Vocab::kEos);
  return s;
}

// ids [T*B] and labels [B] → x [T, B, E + K] (the label embedding repeated at every step), dropped out.
Var CondLanguageModel::inputs(const std::vector<int64_t>& ids, const std::vector<int64_t>& labels, int64_t T, int64_t B) {
  std::vector<int64_t> lab(static_cast<size_t>(T * B));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b) lab[t * B + b] = labels[b];
  Var x = concat({embedding(emb_, ids, {T, B}), embedding(label_emb_, lab, {T, B})}, 2);
  return dropout(x, cfg_.dropout, is_training(), dropout_rng_);
}

Var CondLanguageModel::forward(const std::vector<const CondSentence*>& sents) {
  const int64_t B = static_cast<int64_t>(sents.size());
  RC_CHECK(B >= 1, "condlm", "empty batch");
  int64_t T = 0;
  std::vector<int64_t> lengths, labels;
  for (const CondSentence* s : sents) {
    RC_CHECK(s->ids.size() >= 2, "condlm", "expected <eos> ... <eos>");
    lengths.push_back(static_cast<int64_t>(s->ids.size()) - 1);
    labels.push_back(s->label);
    T = std::max(T, lengths.back());
  }
  std::vector<int64_t> ids(static_cast<size_t>(T * B), Vocab::kEos);  // time-major, padded
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < lengths[b]; ++t) ids[t * B + b] = sents[b]->ids[t];
  RNNOutput out = rnn_->forward(inputs(ids, labels, T, B), lengths);  // [T, B, R]
  return linear(dropout(out.output, cfg_.dropout, is_training(), dropout_rng_), dec_w_, dec_b_);
}

Var CondLanguageModel::step(const std::vector<int64_t>& ids, const std::vector<int64_t>& labels, RNNState& state) {
  const int64_t B = static_cast<int64_t>(ids.size());
  RNNOutput out = rnn_->forward(inputs(ids, labels, 1, B), {}, state);
  state = out.final_state;
  return reshape(linear(out.output, dec_w_, dec_b_), {B, cfg_.vocab.size()});
}

double CondLmEval::perplexity() const { return std::exp(loss_nats); }

CondLmEval evaluate_condlm(CondLanguageModel& m, const std::vector<CondSentence>& sents, int64_t batch) {
  NoGradGuard ng;
  const bool was_training = m.is_training();
  m.eval();
  CondLmEval e;
  double nats = 0;
  for (size_t a = 0; a < sents.size(); a += static_cast<size_t>(batch)) {
    const size_t b = std::min(sents.size(), a + static_cast<size_t>(batch));
    std::vector<const CondSentence*> bs;
    for (size_t i = a; i < b; ++i) bs.push_back(&sents[i]);
    Var logits = m.forward(bs);
    const int64_t T = logits.value().shape()[0], B = static_cast<int64_t>(b - a);
    std::vector<int64_t> targets(static_cast<size_t>(T * B), -100);
    for (int64_t k = 0; k < B; ++k)
      for (size_t t = 1; t < bs[k]->ids.size(); ++t) targets[(t - 1) * B + k] = bs[k]->ids[t], ++e.tokens;
    CrossEntropyOptions co;
    co.reduction = Reduction::sum;
    nats += cross_entropy(logits, targets, co).value().item();
  }
  m.train(was_training);
  e.sentences = static_cast<int64_t>(sents.size());
  e.loss_nats = e.tokens ? nats / static_cast<double>(e.tokens) : 0.0;
  return e;
}

CondLmEval evaluate_condlm(CondLanguageModel& m, const data::LabeledSet& set, int64_t batch) {
  RC_CHECK(!set.items.empty(), set.source, "no labelled sentences to evaluate");
  std::vector<CondSentence> s;
  for (const data::LabeledText& it : set.items)
    s.push_back(m.encode(it.label, it.text, set.source + ":" + std::to_string(it.line)));
  return evaluate_condlm(m, s, batch);
}

std::vector<std::string> sample_condlm(CondLanguageModel& m, const CondSampleOptions& o) {
  NoGradGuard ng;
  m.eval();
  RC_CHECK(o.temperature > 0, "--temperature", "expected > 0, got ", o.temperature);
  RC_CHECK(o.sentences >= 1 && o.max_words >= 1, "--sentences", "expected at least one sentence of one word");
  const int64_t label = m.label_id(o.condition, "--condition"), V = m.config().vocab.size();
  Rng rng(o.seed, 0x73616d706c65ull);
  std::vector<std::string> out;
  for (int64_t s = 0; s < o.sentences; ++s) {
    RNNState st;
    int64_t tok = Vocab::kEos;
    std::string text;
    for (int64_t w = 0; w < o.max_words; ++w) {
      Tensor lg = m.step({tok}, {label}, st).value().contiguous();  // [1, V]
      // softmax(logits / temperature) without <unk> (id 0), drawn with 53-bit uniform numbers
      double mx = -INFINITY, z = 0;
      for (int64_t v = 1; v < V; ++v) mx = std::max(mx, static_cast<double>(lg.data()[v]) / o.temperature);
      std::vector<double> q(static_cast<size_t>(V), 0.0);
      for (int64_t v = 1; v < V; ++v) z += q[v] = std::exp(lg.data()[v] / o.temperature - mx);
      double u = static_cast<double>(rng.next_u64() >> 11) * 0x1.0p-53 * z;
      tok = V - 1;
      for (int64_t v = 1; v < V; ++v)
        if ((u -= q[v]) < 0) {
          tok = v;
          break;
        }
      if (tok == Vocab::kEos) break;
      text += (text.empty() ? "" : " ") + m.config().vocab.token(tok);
    }
    out.push_back(text);
  }
  return out;
}

std::unique_ptr<CondLanguageModel> load_condlm(const std::string& model_path) {
  return load_trained<CondLanguageModel, CondLmConfig>(model_path);
}

}  // namespace recurrent::tasks
