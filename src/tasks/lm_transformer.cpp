// The transformer language model of the LM task: configuration (JSON), the LmModel adapter around
// nn/transformer.h's TransformerLM, and its KV-cache streams. Contract in tasks/lm_transformer.h.
#include "recurrent/tasks/lm_transformer.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/io/json_int.h"

namespace recurrent::tasks {

using nlohmann::json;

PositionalKind parse_positional(const std::string& s) {
  if (s == "learned") return PositionalKind::learned;
  if (s == "sinusoidal") return PositionalKind::sinusoidal;
  throw Error("--pos", "expected learned or sinusoidal, got '" + s + "'");
}

static const char* positional_name(PositionalKind p) {
  return p == PositionalKind::learned ? "learned" : "sinusoidal";
}

TransformerLMOptions TransformerLmConfig::options() const {
  TransformerLMOptions o;
  o.vocab = vocab.size();
  o.context = context, o.layers = layers, o.d_model = d_model, o.heads = heads, o.ff = ff;
  o.dropout = dropout;
  o.positional = pos;
  o.tie_embeddings = true;  // GPT-2: the head is the token embedding
  o.activation = Activation::gelu;
  return o;
}

void TransformerLmConfig::validate() const {
  RC_CHECK(layers >= 1, "--layers", "expected >= 1, got ", layers);
  RC_CHECK(heads >= 1, "--heads", "expected >= 1, got ", heads);
  RC_CHECK(d_model >= 1 && d_model % heads == 0, "--d-model", "expected a positive multiple of --heads (", heads,
           "), got ", d_model);
  RC_CHECK(ff >= 1, "--ff", "expected >= 1, got ", ff);
  RC_CHECK(context >= 2, "--context", "expected >= 2, got ", context);
  RC_CHECK(dropout >= 0.0f && dropout < 1.0f, "--dropout", "expected a value in [0, 1), got ", dropout);
  RC_CHECK(vocab.size() >= 2, "vocabulary", "expected at least 2 tokens, got ", vocab.size());
}

std::string TransformerLmConfig::to_json() const {
  json j = {{"task", "lm"},       {"arch", "transformer"},          {"level", data::level_name(vocab.level())},
            {"lower", vocab.lower()}, {"layers", layers},           {"heads", heads},
            {"d_model", d_model}, {"ff", ff},                        {"context", context},
            {"pos", positional_name(pos)}, {"dropout", dropout},    {"vocab", vocab.tokens()}};
  return j.dump();
}

TransformerLmConfig TransformerLmConfig::from_json(const std::string& text, const std::string& where) {
  try {
    json j = json::parse(text);
    RC_CHECK(j.value("task", "") == "lm" && j.value("arch", "") == "transformer", where,
             "not a transformer language model");
    TransformerLmConfig c;
    c.vocab = data::Vocab(data::parse_level(j.at("level").get<std::string>()),
                          j.at("vocab").get<std::vector<std::string>>(), j.at("lower").get<bool>());
    c.layers = io::json_int_at<int64_t>(j, "layers");
    c.heads = io::json_int_at<int64_t>(j, "heads");
    c.d_model = io::json_int_at<int64_t>(j, "d_model");
    c.ff = io::json_int_at<int64_t>(j, "ff");
    c.context = io::json_int_at<int64_t>(j, "context");
    c.pos = parse_positional(j.at("pos").get<std::string>());
    c.dropout = j.at("dropout").get<float>();
    c.validate();
    return c;
  } catch (const json::exception& e) {
    throw Error(where, std::string("bad model configuration: ") + e.what());
  } catch (const Error& e) {
    throw Error(where, "bad model configuration: " + std::string(e.what()));
  }
}

TransformerLanguageModel::TransformerLanguageModel(TransformerLmConfig cfg, Rng& rng) : cfg_(std::move(cfg)) {
  cfg_.validate();
  lm_ = register_module("transformer", std::make_shared<TransformerLM>(cfg_.options(), rng));
}

std::string TransformerLanguageModel::summary() const {
  return std::to_string(cfg_.layers) + " transformer layers (d_model " + std::to_string(cfg_.d_model) + ", " +
         std::to_string(cfg_.heads) + " heads, context " + std::to_string(cfg_.context) + ")";
}

Var TransformerLanguageModel::forward_chunk(const std::vector<int64_t>& ids, int64_t T, int64_t B, RNNState& carry) {
  RC_CHECK(T <= cfg_.context, "--seq-len", "a chunk of ", T, " steps exceeds the transformer's context ", cfg_.context);
  carry = {};
  return lm_->forward_time_major(ids, T, B);
}

std::vector<std::pair<std::string, Rng*>> TransformerLanguageModel::dropout_rngs() {
  std::vector<std::pair<std::string, Rng*>> r;
  for (Rng* g : lm_->dropout_rngs()) r.push_back({"dropout_rng." + std::to_string(r.size()), g});
  return r;
}

namespace {

// B streams through the KV cache. windows_[b]: the tokens stream b's cache holds (all streams
// hold the same number). A full cache (C tokens) slides: it is rebuilt from the last C/2 tokens.
// recompute: no cache kept between calls; each fed token re-runs the whole window it sees (the
// cost a KV cache saves; same logits up to rounding). For measuring, not for use.
class TransformerStreams : public LmStreams {
 public:
  TransformerStreams(TransformerLM& lm, bool recompute) : lm_(lm), recompute_(recompute) {}

  // ids [T, B] time-major → logits [T, B, V], fed in pieces that fit the context.
  Tensor feed(const std::vector<int64_t>& ids, int64_t T, int64_t B) override {
    RC_CHECK(static_cast<int64_t>(ids.size()) == T * B && T >= 1, "LmStreams", "expected T·B = ", T * B, " ids, got ",
             ids.size());
    if (windows_.empty()) windows_.resize(static_cast<size_t>(B));
    RC_CHECK(static_cast<int64_t>(windows_.size()) == B, "LmStreams", "fed ", B, " streams, holding ", windows_.size());
    const int64_t C = lm_.options().context, V = lm_.options().vocab;
    if (recompute_) return feed_recomputing(ids, T, B);
    Tensor out({T, B, V});
    for (int64_t done = 0; done < T;) {
      if (cache_.len() == C) slide();
      const int64_t n = std::min(C - cache_.len(), T - done);
      std::vector<int64_t> piece(static_cast<size_t>(B * n));  // [B, n]
      for (int64_t b = 0; b < B; ++b)
        for (int64_t i = 0; i < n; ++i) {
          const int64_t id = ids[static_cast<size_t>((done + i) * B + b)];
          piece[static_cast<size_t>(b * n + i)] = id;
          windows_[static_cast<size_t>(b)].push_back(id);
        }
      Tensor l = lm_.forward_cached(piece, B, n, cache_).contiguous();  // [B, n, V]
      for (int64_t b = 0; b < B; ++b)
        for (int64_t i = 0; i < n; ++i)
          std::copy_n(l.data() + (b * n + i) * V, V, out.data() + ((done + i) * B + b) * V);
      done += n;
    }
    return out;
  }

  // Slide as the cache would, then run the full window from position 0: once for a piece that fits
  // (a prime), once per token otherwise (generation).
  Tensor feed_recomputing(const std::vector<int64_t>& ids, int64_t T, int64_t B) {
    const int64_t C = lm_.options().context, V = lm_.options().vocab;
    Tensor out({T, B, V});
    for (int64_t done = 0; done < T;) {
      if (static_cast<int64_t>(windows_[0].size()) == C)
        for (auto& w : windows_) w.erase(w.begin(), w.end() - C / 2);
      const int64_t n = std::min(C - static_cast<int64_t>(windows_[0].size()), T - done);
      std::vector<int64_t> all;
      for (int64_t b = 0; b < B; ++b) {
        auto& w = windows_[static_cast<size_t>(b)];
        for (int64_t i = 0; i < n; ++i) w.push_back(ids[static_cast<size_t>((done + i) * B + b)]);
        all.insert(all.end(), w.begin(), w.end());
      }
      const int64_t len = static_cast<int64_t>(windows_[0].size());
      LMCache fresh;
      Tensor l = lm_.forward_cached(all, B, len, fresh).contiguous();  // [B, len, V]
      for (int64_t b = 0; b < B; ++b)
        for (int64_t i = 0; i < n; ++i)
          std::copy_n(l.data() + (b * len + len - n + i) * V, V, out.data() + ((done + i) * B + b) * V);
      done += n;
    }
    return out;
  }

  void reorder(const std::vector<int64_t>& from) override {
    std::vector<std::vector<int64_t>> w;
    for (int64_t f : from) w.push_back(windows_.at(static_cast<size_t>(f)));
    windows_ = std::move(w);
    for (KVCache& c : cache_.layers) {
      if (!c.k.defined()) continue;
      c.k = gather_rows(c.k, from);
      c.v = gather_rows(c.v, from);
    }
  }

 private:
  // t [B, capacity, D] → [K, capacity, D] with row k = t[from[k]]
  static Tensor gather_rows(const Tensor& t, const std::vector<int64_t>& from) {
    Tensor src = t.contiguous();
    const int64_t row = src.numel() / src.size(0), K = static_cast<int64_t>(from.size());
    Tensor out({K, src.size(1), src.size(2)});
    for (int64_t k = 0; k < K; ++k) std::copy_n(src.data() + from[static_cast<size_t>(k)] * row, row, out.data() + k * row);
    return out;
  }

  void slide() {
    const int64_t keep = lm_.options().context / 2, B = static_cast<int64_t>(windows_.size());
    cache_.clear();
    if (keep == 0) {
      for (auto& w : windows_) w.clear();
      return;
    }
    std::vector<int64_t> piece;
    for (auto& w : windows_) {
      w.erase(w.begin(), w.end() - keep);
      piece.insert(piece.end(), w.begin(), w.end());
    }
    lm_.forward_cached(piece, B, keep, cache_);  // logits of the kept tokens were returned before
  }

  TransformerLM& lm_;
  bool recompute_;
  LMCache cache_;
  std::vector<std::vector<int64_t>> windows_;
};

}  // namespace

std::unique_ptr<LmStreams> TransformerLanguageModel::streams() {
  return std::make_unique<TransformerStreams>(*lm_, recompute_);
}

}  // namespace recurrent::tasks
