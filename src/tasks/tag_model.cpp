// The sequence tagger: word features, configuration (JSON), module, conlleval span counting, metrics,
// the most-frequent-tag baseline, evaluation and loading (contract in tasks/tag.h).
#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/data/utf8.h"
#include "recurrent/data/vocab.h"
#include "recurrent/tasks/load_model.h"
#include "recurrent/tasks/tag.h"
#include "recurrent/train/checkpoint.h"
#include "recurrent/io/json_int.h"
#include "tasks/layer_options.h"

namespace recurrent::tasks {

using nlohmann::json;

int64_t word_shape(const std::string& w) {
  int64_t s = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    const char c = w[i];
    if (c >= 'A' && c <= 'Z') s |= i == 0 ? 1 : 2;
    if (c >= '0' && c <= '9') s |= 4;
    if (c == '-') s |= 8;
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) s |= 16;
  }
  return s;
}

std::string word_suffix(const std::string& w, int k) {
  const std::u32string cps = data::utf8_decode(w, "word");
  const size_t n = std::min(cps.size(), static_cast<size_t>(k));
  std::u32string suf = cps.substr(cps.size() - n);
  for (char32_t& c : suf) c = data::lower_latin(c);
  return data::utf8_encode(suf);
}

namespace {
std::string lower_word(const std::string& w) {
  std::u32string cps = data::utf8_decode(w, "word");
  for (char32_t& c : cps) c = data::lower_latin(c);
  return data::utf8_encode(cps);
}
}  // namespace

// ---- configuration -------------------------------------------------------------------------
RNNOptions TaggerConfig::rnn_options() const {
  RNNOptions o;
  o.input_size = input_size();
  o.layers = layers;
  o.bidirectional = bidirectional;
  o.dropout = dropout;
  return o;
}

int64_t TaggerConfig::input_size() const { return embed + 4 * feature_embed; }
int64_t TaggerConfig::features() const { return (bidirectional ? 2 : 1) * layers.back().out_size(); }

void TaggerConfig::validate() const {
  RC_CHECK(embed >= 1, "--embed", "expected >= 1, got ", embed);
  RC_CHECK(feature_embed >= 0, "--feature-embed", "expected >= 0 (0: no suffix/shape features), got ", feature_embed);
  RC_CHECK(!layers.empty(), "--layers", "expected at least one layer");
  RC_CHECK(dropout >= 0.0f && dropout < 1.0f, "--dropout", "expected a value in [0, 1), got ", dropout);
  RC_CHECK(!vocab.empty() && vocab[0] == "<unk>", "vocabulary", "expected <unk> as token 0");
  RC_CHECK(!suffixes.empty() && suffixes[0] == "<unk>", "suffixes", "expected <unk> as suffix 0");
  RC_CHECK(tags.size() >= 2, "tags", "expected at least two tags, got ", tags.size());
  rnn_options().validate();
}

std::string TaggerConfig::to_json() const {
  json ls = json::array();
  for (const LayerSpec& l : layers) ls.push_back(layer_json(l));
  json j = {{"task", "tag"},       {"embed", embed},   {"feature_embed", feature_embed},
            {"layers", ls},        {"bidirectional", bidirectional}, {"dropout", dropout},
            {"tags", tags},        {"suffixes", suffixes}, {"vocab", vocab}};
  return j.dump();
}

TaggerConfig TaggerConfig::from_json(const std::string& text, const std::string& where) {
  try {
    json j = json::parse(text);
    RC_CHECK(j.value("task", "") == "tag", where, "not a tagger (task '", j.value("task", ""), "')");
    TaggerConfig c;
    c.embed = io::json_int_at<int64_t>(j, "embed");
    c.feature_embed = io::json_int_at<int64_t>(j, "feature_embed");
    for (const json& l : j.at("layers"))
      c.layers.push_back(layer_from_json(l));
    c.bidirectional = j.at("bidirectional").get<bool>();
    c.dropout = j.at("dropout").get<float>();
    c.tags = j.at("tags").get<std::vector<std::string>>();
    c.suffixes = j.at("suffixes").get<std::vector<std::string>>();
    c.vocab = j.at("vocab").get<std::vector<std::string>>();
    c.validate();
    return c;
  } catch (const json::exception& e) {
    throw Error(where, std::string("bad model configuration: ") + e.what());
  } catch (const Error& e) {
    throw Error(where, "bad model configuration: " + std::string(e.what()));
  }
}

// ---- module ------------------------------------------------------------------------------------
Tagger::Tagger(TaggerConfig cfg, Rng& rng) : cfg_(std::move(cfg)), dropout_rng_(rng.fork(0x746167)) {
  cfg_.validate();
  for (size_t i = 0; i < cfg_.vocab.size(); ++i) word_index_.emplace(cfg_.vocab[i], static_cast<int64_t>(i));
  for (size_t i = 0; i < cfg_.suffixes.size(); ++i) suffix_index_.emplace(cfg_.suffixes[i], static_cast<int64_t>(i));
  for (size_t i = 0; i < cfg_.tags.size(); ++i) tag_index_.emplace(cfg_.tags[i], static_cast<int64_t>(i));
  const int64_t V = static_cast<int64_t>(cfg_.vocab.size()), E = cfg_.embed, S = cfg_.feature_embed;
  const int64_t C = static_cast<int64_t>(cfg_.tags.size()), F = cfg_.features();
  Tensor e({V, E});
  rng.fill_normal(e, 0.0f, 1.0f);  // torch.nn.Embedding default
  emb_ = register_parameter("embedding.weight", e);
  if (S > 0) {
    Tensor se({static_cast<int64_t>(cfg_.suffixes.size()), S}), sh({32, S});
    rng.fill_normal(se, 0.0f, 1.0f);
    rng.fill_normal(sh, 0.0f, 1.0f);
    suf_emb_ = register_parameter("suffix_embedding.weight", se);
    shape_emb_ = register_parameter("shape_embedding.weight", sh);
  }
  rnn_ = register_module("rnn", std::make_shared<RNN>(cfg_.rnn_options(), rng));
  const float k = 1.0f / std::sqrt(static_cast<float>(F));  // torch.nn.Linear default
  Tensor w({C, F}), b({C});
  rng.fill_uniform(w, -k, k);
  rng.fill_uniform(b, -k, k);
  out_w_ = register_parameter("output.weight", w);
  out_b_ = register_parameter("output.bias", b);
}

TaggerInput Tagger::encode(const std::vector<std::string>& words) const {
  TaggerInput ids;
  ids.reserve(words.size() * 5);
  auto find = [](const std::unordered_map<std::string, int64_t>& m, const std::string& k) {
    auto it = m.find(k);
    return it == m.end() ? int64_t{0} : it->second;
  };
  for (const std::string& w : words) {
    ids.push_back(find(word_index_, lower_word(w)));
    for (int k = 1; k <= 3; ++k) ids.push_back(find(suffix_index_, std::to_string(k) + ":" + word_suffix(w, k)));
    ids.push_back(word_shape(w));
  }
  return ids;
}

std::vector<int64_t> Tagger::tag_ids(const std::vector<std::string>& tags) const {
  std::vector<int64_t> out;
  for (const std::string& t : tags) {
    auto it = tag_index_.find(t);
    out.push_back(it == tag_index_.end() ? -1 : it->second);
  }
  return out;
}

Var Tagger::forward(const std::vector<const TaggerInput*>& sents) {
  const int64_t B = static_cast<int64_t>(sents.size());
  RC_CHECK(B >= 1, "tagger", "empty batch");
  int64_t T = 0;
  std::vector<int64_t> lengths;
  for (const TaggerInput* s : sents) {
    RC_CHECK(!s->empty() && s->size() % 5 == 0, "tagger", "expected a non-empty sentence of 5 ids per token");
    lengths.push_back(static_cast<int64_t>(s->size() / 5));
    T = std::max(T, lengths.back());
  }
  // Time-major ids, padded with 0: words [T, B], suffixes [T, B, 3], shapes [T, B].
  std::vector<int64_t> wid(static_cast<size_t>(T * B), 0), sid(static_cast<size_t>(T * B * 3), 0), hid(wid.size(), 0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < lengths[b]; ++t) {
      const int64_t* f = sents[b]->data() + 5 * t;
      wid[t * B + b] = f[0];
      for (int k = 0; k < 3; ++k) sid[(t * B + b) * 3 + k] = f[1 + k];
      hid[t * B + b] = f[4];
    }
  Var x = embedding(emb_, wid, {T, B});  // [T, B, E]
  if (cfg_.feature_embed > 0) {
    const int64_t S = cfg_.feature_embed;
    x = concat({x, reshape(embedding(suf_emb_, sid, {T, B, 3}), {T, B, 3 * S}), embedding(shape_emb_, hid, {T, B})}, 2);
  }
  const float p = cfg_.dropout;
  x = dropout(x, p, is_training(), dropout_rng_);  // [T, B, E + 4S]
  RNNOutput out = rnn_->forward(x, lengths);       // [T, B, F], zero past each length
  return linear(dropout(out.output, p, is_training(), dropout_rng_), out_w_, out_b_);  // [T, B, C]
}

// ---- conlleval ---------------------------------------------------------------------------------
double SpanCounts::precision() const { return predicted ? static_cast<double>(correct) / predicted : 0.0; }
double SpanCounts::recall() const { return gold ? static_cast<double>(correct) / gold : 0.0; }
double SpanCounts::f1() const {
  const double p = precision(), r = recall();
  return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
}

namespace {

struct SplitTag {
  std::string tag, type;  // "B-PER" → ("B", "PER"); "O" → ("O", ""); conlleval splits at the FIRST '-'
};
SplitTag split_tag(const std::string& t) {
  const size_t h = t.find('-');
  if (h == std::string::npos) return {t, ""};
  return {t.substr(0, h), t.substr(h + 1)};
}

// conlleval's endOfChunk / startOfChunk (CoNLL-2000 script, 2004 version), case by case.
bool end_of_chunk(const SplitTag& prev, const SplitTag& cur) {
  const std::string &p = prev.tag, &t = cur.tag;
  bool end = (p == "B" && t == "B") || (p == "B" && t == "O") || (p == "I" && t == "B") || (p == "I" && t == "O") ||
             (p == "E" && t == "E") || (p == "E" && t == "I") || (p == "E" && t == "O");
  if (p != "O" && p != "." && prev.type != cur.type) end = true;
  if (p == "]" || p == "[") end = true;
  return end;
}
bool start_of_chunk(const SplitTag& prev, const SplitTag& cur) {
  const std::string &p = prev.tag, &t = cur.tag;
  bool start = (p == "B" && t == "B") || (p == "I" && t == "B") || (p == "O" && t == "B") || (p == "O" && t == "I") ||
               (p == "E" && t == "E") || (p == "E" && t == "I") || (p == "O" && t == "E");
  if (t != "O" && t != "." && prev.type != cur.type) start = true;
  if (t == "[" || t == "]") start = true;
  return start;
}

}  // namespace

SpanCounts conll_spans(const std::vector<std::vector<std::string>>& gold, const std::vector<std::vector<std::string>>& pred) {
  RC_CHECK(gold.size() == pred.size(), "conll_spans", "gold and predicted sentence counts differ");
  SpanCounts n;
  const SplitTag boundary{"O", ""};  // conlleval reads a blank line as a token tagged O / O
  for (size_t s = 0; s < gold.size(); ++s) {
    RC_CHECK(gold[s].size() == pred[s].size(), "conll_spans", "sentence ", s, ": gold and predicted lengths differ");
    SplitTag pc = boundary, pg = boundary;
    bool in_correct = false;
    for (size_t t = 0; t <= gold[s].size(); ++t) {
      const SplitTag c = t < gold[s].size() ? split_tag(gold[s][t]) : boundary;
      const SplitTag g = t < gold[s].size() ? split_tag(pred[s][t]) : boundary;
      const bool ec = end_of_chunk(pc, c), eg = end_of_chunk(pg, g);
      if (in_correct) {
        if (ec && eg && pg.type == pc.type) {
          in_correct = false;
          ++n.correct;
        } else if (ec != eg || g.type != c.type) {
          in_correct = false;
        }
      }
      const bool sc = start_of_chunk(pc, c), sg = start_of_chunk(pg, g);
      if (sc && sg && g.type == c.type) in_correct = true;
      n.gold += sc;
      n.predicted += sg;
      pc = c, pg = g;
    }
  }
  return n;
}

bool is_span_tagset(const std::vector<std::string>& tags) {
  for (const std::string& t : tags) {
    if (t == "O") continue;
    if (t.size() < 3 || t[1] != '-' || (t[0] != 'B' && t[0] != 'I' && t[0] != 'E')) return false;
  }
  return !tags.empty();
}

TagEval tag_metrics(const std::vector<std::vector<std::string>>& gold, const std::vector<std::vector<std::string>>& pred) {
  RC_CHECK(gold.size() == pred.size(), "tag_metrics", "gold and predicted sentence counts differ");
  TagEval e;
  e.sentences = static_cast<int64_t>(gold.size());
  std::map<std::string, std::array<int64_t, 3>> per;  // tag → tp, fp, fn
  int64_t right = 0;
  for (size_t s = 0; s < gold.size(); ++s) {
    RC_CHECK(gold[s].size() == pred[s].size(), "tag_metrics", "sentence ", s, ": gold and predicted lengths differ");
    for (size_t t = 0; t < gold[s].size(); ++t) {
      const std::string &g = gold[s][t], &p = pred[s][t];
      ++e.tokens;
      if (g == p) {
        ++right, ++per[g][0];
      } else {
        ++per[p][1], ++per[g][2];
      }
    }
  }
  e.accuracy = e.tokens ? static_cast<double>(right) / e.tokens : 0.0;
  double f1 = 0;
  for (const auto& [tag, c] : per) {
    f1 += 2.0 * c[0] / static_cast<double>(2 * c[0] + c[1] + c[2]);
  }
  e.macro_f1 = per.empty() ? 0.0 : f1 / static_cast<double>(per.size());
  std::vector<std::string> gold_tags;
  for (const auto& s : gold) gold_tags.insert(gold_tags.end(), s.begin(), s.end());
  e.spans = is_span_tagset(gold_tags);
  if (e.spans) e.span = conll_spans(gold, pred);
  e.predictions = pred;
  return e;
}

TagEval evaluate_tagger(Tagger& m, const data::TaggedSet& set, int64_t batch) {
  NoGradGuard ng;
  const bool was_training = m.is_training();
  m.eval();
  const auto& tags = m.config().tags;
  const int64_t C = static_cast<int64_t>(tags.size());
  std::vector<std::vector<std::string>> gold, pred;
  double loss = 0;
  int64_t known = 0, unseen = 0;
  for (size_t a = 0; a < set.items.size(); a += static_cast<size_t>(batch)) {
    const size_t b = std::min(set.items.size(), a + static_cast<size_t>(batch));
    std::vector<TaggerInput> ins;
    for (size_t i = a; i < b; ++i) ins.push_back(m.encode(set.items[i].words));
    std::vector<const TaggerInput*> ptrs;
    for (const TaggerInput& x : ins) ptrs.push_back(&x);
    Var logits = m.forward(ptrs);  // [T, B, C]
    const int64_t T = logits.value().shape()[0], B = static_cast<int64_t>(b - a);
    std::vector<int64_t> targets(static_cast<size_t>(T * B), -100);
    for (int64_t k = 0; k < B; ++k) {
      const std::vector<int64_t> ids = m.tag_ids(set.items[a + k].tags);
      std::vector<std::string> p;
      for (size_t t = 0; t < ids.size(); ++t) {
        targets[t * B + k] = ids[t] >= 0 ? ids[t] : -100;
        known += ids[t] >= 0, unseen += ids[t] < 0;
        const float* l = logits.value().data() + (t * B + k) * C;
        p.push_back(tags[std::max_element(l, l + C) - l]);
      }
      gold.push_back(set.items[a + k].tags);
      pred.push_back(std::move(p));
    }
    CrossEntropyOptions co;
    co.reduction = Reduction::sum;
    loss += cross_entropy(logits, targets, co).value().item();
  }
  m.train(was_training);
  TagEval e = tag_metrics(gold, pred);
  e.unseen = unseen;
  e.loss = known ? loss / static_cast<double>(known) : 0.0;
  return e;
}

// ---- baseline ----------------------------------------------------------------------------------
MostFrequentTag::MostFrequentTag(const data::TaggedSet& train) {
  std::unordered_map<std::string, std::map<std::string, int64_t>> exact, lower;
  std::map<std::string, int64_t> all;
  for (const data::TaggedSentence& s : train.items)
    for (size_t t = 0; t < s.words.size(); ++t) {
      ++exact[s.words[t]][s.tags[t]];
      ++lower[lower_word(s.words[t])][s.tags[t]];
      ++all[s.tags[t]];
    }
  // The most frequent tag of a count map; ties: the first in std::string order (the map's order).
  auto best = [](const std::map<std::string, int64_t>& m) {
    return std::max_element(m.begin(), m.end(), [](const auto& a, const auto& b) { return a.second < b.second; })->first;
  };
  for (const auto& [w, m] : exact) exact_.emplace(w, best(m));
  for (const auto& [w, m] : lower) lower_.emplace(w, best(m));
  RC_CHECK(!all.empty(), train.source, "no tagged tokens");
  fallback_ = best(all);
}

std::vector<std::vector<std::string>> MostFrequentTag::predict(const data::TaggedSet& set) const {
  std::vector<std::vector<std::string>> out;
  for (const data::TaggedSentence& s : set.items) {
    std::vector<std::string> p;
    for (const std::string& w : s.words) {
      if (auto it = exact_.find(w); it != exact_.end()) {
        p.push_back(it->second);
        continue;
      }
      auto it = lower_.find(lower_word(w));
      p.push_back(it == lower_.end() ? fallback_ : it->second);
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::string MostFrequentTag::to_json() const {
  nlohmann::json exact = nlohmann::json::object(), lower(lower_);
  for (const auto& [w, t] : exact_)
    if (auto it = lower_.find(lower_word(w)); it == lower_.end() || it->second != t) exact[w] = t;
  return nlohmann::json{{"kind", "most_frequent_tag"}, {"fallback", fallback_}, {"lower", lower}, {"exact", exact}}.dump();
}

MostFrequentTag MostFrequentTag::from_json(const std::string& text, const std::string& where) {
  MostFrequentTag m;
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    RC_CHECK(j.value("kind", "") == "most_frequent_tag", where, "the stored baseline is not a most-frequent-tag table");
    m.fallback_ = j.at("fallback").get<std::string>();
    m.lower_ = j.at("lower").get<std::unordered_map<std::string, std::string>>();
    m.exact_ = j.at("exact").get<std::unordered_map<std::string, std::string>>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(where, std::string("bad most-frequent-tag baseline: ") + e.what());
  }
  return m;
}

std::unique_ptr<MostFrequentTag> load_tag_baseline(const std::string& model_path) {
  const std::string path = resolve_model_path(model_path);
  const train::LoadedCheckpoint ck = train::read_checkpoint(path);
  if (ck.baseline_json.empty()) return nullptr;
  return std::make_unique<MostFrequentTag>(MostFrequentTag::from_json(ck.baseline_json, path));
}

std::unique_ptr<Tagger> load_tagger(const std::string& model_path) {
  return load_trained<Tagger, TaggerConfig>(model_path);
}

}  // namespace recurrent::tasks
