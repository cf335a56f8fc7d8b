// The language model: configuration (JSON), module, evaluation and loading (contract in tasks/lm.h).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "recurrent/train/dist.h"
#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/tasks/lm.h"
#include "recurrent/tasks/lm_transformer.h"
#include "recurrent/train/checkpoint.h"
#include "recurrent/io/json_int.h"
#include "tasks/layer_options.h"

namespace recurrent::tasks {

using nlohmann::json;

RNNOptions LmConfig::rnn_options() const {
  RNNOptions o;
  o.input_size = embed;
  o.layers = layers;
  o.dropout = dropout;
  o.precision = precision;
  return o;
}

void LmConfig::validate() const {
  RC_CHECK(embed >= 1, "--embed", "expected >= 1, got ", embed);
  RC_CHECK(!layers.empty(), "--layers", "expected at least one layer");
  RC_CHECK(dropout >= 0.0f && dropout < 1.0f, "--dropout", "expected a value in [0, 1), got ", dropout);
  rnn_options().validate();
  RC_CHECK(!tie_weights || layers.back().out_size() == embed, "--tie-weights",
           "needs the embedding size (", embed, ") equal to the last layer's output size (", layers.back().out_size(), ")");
}

std::string LmConfig::to_json() const {
  json ls = json::array();
  for (const LayerSpec& l : layers) ls.push_back(layer_json(l));
  json j = {{"task", "lm"},       {"level", data::level_name(vocab.level())}, {"lower", vocab.lower()},
            {"embed", embed},     {"layers", ls},
            {"dropout", dropout}, {"tie_weights", tie_weights},
            {"precision", precision_name(precision)}, {"vocab", vocab.tokens()}};
  return j.dump();
}

LmConfig LmConfig::from_json(const std::string& text, const std::string& where) {
  try {
    json j = json::parse(text);
    RC_CHECK(j.value("task", "") == "lm", where, "not a language model (task '", j.value("task", ""), "')");
    RC_CHECK(j.value("arch", "rnn") == "rnn", where, "a ", j.value("arch", ""), " language model, not an RNN one");
    LmConfig c;
    c.vocab = data::Vocab(data::parse_level(j.at("level").get<std::string>()),
                          j.at("vocab").get<std::vector<std::string>>(), j.at("lower").get<bool>());
    c.embed = io::json_int_at<int64_t>(j, "embed");
    for (const json& l : j.at("layers"))
      c.layers.push_back(layer_from_json(l));
    c.dropout = j.at("dropout").get<float>();
    c.tie_weights = j.at("tie_weights").get<bool>();
    c.precision = parse_precision(j.value("precision", std::string("fp32")));  // older models: fp32
    c.validate();
    return c;
  } catch (const json::exception& e) {
    throw Error(where, std::string("bad model configuration: ") + e.what());
  } catch (const Error& e) {
    throw Error(where, "bad model configuration: " + std::string(e.what()));
  }
}

LanguageModel::LanguageModel(LmConfig cfg, Rng& rng) : cfg_(std::move(cfg)), dropout_rng_(rng.fork(0x6c6d64)) {
  cfg_.validate();
  const int64_t V = cfg_.vocab.size(), E = cfg_.embed;
  Tensor e({V, E});
  rng.fill_normal(e, 0.0f, 1.0f);  // torch.nn.Embedding default
  if (cfg_.tie_weights) rng.fill_uniform(e, -0.1f, 0.1f);  // shared with the decoder: PyTorch's word LM example
  emb_ = register_parameter("embedding.weight", e);
  rnn_ = register_module("rnn", std::make_shared<RNN>(cfg_.rnn_options(), rng));
  const int64_t R = cfg_.layers.back().out_size();
  const float k = 1.0f / std::sqrt(static_cast<float>(R));  // torch.nn.Linear default
  if (!cfg_.tie_weights) {
    Tensor w({V, R});
    rng.fill_uniform(w, -k, k);
    dec_w_ = register_parameter("decoder.weight", w);
  }
  Tensor b({V});
  rng.fill_uniform(b, -k, k);
  dec_b_ = register_parameter("decoder.bias", b);
}

void LanguageModel::init_uniform(float a, Rng& rng) {
  for (auto& [name, p] : named_parameters())
    if (!keeps_own_init(name)) rng.fill_uniform(p.value(), -a, a);
}

Var LanguageModel::forward(const std::vector<int64_t>& ids, int64_t T, int64_t B, RNNState& state) {
  // ids [T*B] → x [T, B, E] → y [T, B, R] → logits [T, B, V]
  const float p = cfg_.dropout;
  Var x = dropout(embedding(emb_, ids, {T, B}), p, is_training(), dropout_rng_);
  RNNOutput out = rnn_->forward(x, {}, state);
  state = {};
  for (auto& h : out.final_state.h) state.h.push_back(h.detach());
  for (auto& c : out.final_state.c) state.c.push_back(c.defined() ? c.detach() : Var());
  Var y = dropout(out.output, p, is_training(), dropout_rng_);
  return linear(y, cfg_.tie_weights ? emb_ : dec_w_, dec_b_);
}

std::string LanguageModel::summary() const {
  return std::to_string(cfg_.layers.size()) + (cfg_.layers.size() == 1 ? " recurrent layer" : " recurrent layers") +
         (cfg_.precision == Precision::bf16 ? " (bf16)" : "");
}

std::vector<std::pair<std::string, Rng*>> LanguageModel::dropout_rngs() {
  return {{"dropout_rng", &dropout_rng_}, {"rnn_dropout_rng", &rnn_->dropout_rng()}};
}

namespace {

// Rows `from` of every state tensor [D, B, R] → a new state [D, K, R] (beam reordering).
RNNState gather_state(const RNNState& s, const std::vector<int64_t>& from) {
  auto gather = [&](const Var& v) {
    if (!v.defined()) return Var();
    const Tensor& t = v.value();
    const int64_t D = t.size(0), B = t.size(1), R = t.size(2), K = static_cast<int64_t>(from.size());
    Tensor src = t.contiguous(), out({D, K, R});
    for (int64_t d = 0; d < D; ++d)
      for (int64_t k = 0; k < K; ++k)
        std::copy_n(src.data() + (d * B + from[k]) * R, R, out.data() + (d * K + k) * R);
    return Var(out);
  };
  RNNState r;
  for (auto& h : s.h) r.h.push_back(gather(h));
  for (auto& c : s.c) r.c.push_back(gather(c));
  return r;
}

// The RNN's streams: its hidden state, carried from call to call (zeros at the start).
class RnnStreams : public LmStreams {
 public:
  explicit RnnStreams(LanguageModel& m) : m_(m) {}
  Tensor feed(const std::vector<int64_t>& ids, int64_t T, int64_t B) override {
    NoGradGuard ng;
    return m_.forward(ids, T, B, st_).value();
  }
  void reorder(const std::vector<int64_t>& from) override { st_ = gather_state(st_, from); }

 private:
  LanguageModel& m_;
  RNNState st_;
};

}  // namespace

std::unique_ptr<LmStreams> LanguageModel::streams() { return std::make_unique<RnnStreams>(*this); }

double LmEval::bits() const { return loss_nats / std::log(2.0); }
double LmEval::perplexity() const { return std::exp(loss_nats); }

namespace {

// How evaluate_lm's rows line up with one stream (tasks/lm.h): each row first reads W unscored
// tokens, and starts at a multiple of P. RNN: W = seq_len, P = 1. Transformer (context C): its
// window slides when C tokens are cached, keeping C/2 (tasks/lm_transformer.h), so from the C-th
// token of a stream on the window of a token depends on its position mod P = C − C/2; a row that
// starts at a multiple of P and scores only after W ≥ C tokens sees what the stream sees.
struct EvalRows {
  int64_t warmup = 1, period = 1;
};
EvalRows eval_rows(const LmModel& m, int64_t seq_len) {
  int64_t C = 0;
  try {
    C = io::json_int_or<int64_t>(json::parse(m.config_json()), "context", 0);
  } catch (const json::exception&) {
  }
  EvalRows r;
  r.period = C > 0 ? C - C / 2 : 1;
  r.warmup = (std::max(seq_len, C) + r.period - 1) / r.period * r.period;
  return r;
}

}  // namespace

LmEval evaluate_lm(LmModel& m, const std::vector<int64_t>& ids, int64_t batch, int64_t seq_len) {
  RC_CHECK(batch >= 1, "--batch", "expected a positive integer, got ", batch);
  RC_CHECK(seq_len >= 1, "--seq-len", "expected a positive integer, got ", seq_len);
  RC_CHECK(ids.size() >= 2, "evaluation", "need at least 2 tokens, got ", ids.size());
  NoGradGuard ng;
  const bool was_training = m.is_training();
  m.eval();
  // n predictions (of ids[1..N)); row b scores those of inputs [lo_b, hi_b = lo_{b+1}) and is fed
  // from a_b = max(0, lo_b − W), lo_b a multiple of P. Rows: at most n / W, so each scores about W
  // tokens or more (the warm-up at most doubles the work).
  const int64_t n = static_cast<int64_t>(ids.size()) - 1;
  const EvalRows er = eval_rows(m, seq_len);
  const int64_t W = er.warmup, P = er.period;
  // The figure does not depend on B, so B is also capped to keep a chunk's logits [seq_len, B, V]
  // within 2^26 floats (256 MiB).
  const int64_t max_rows = static_cast<int64_t>(0x1p26 / (static_cast<double>(seq_len) * static_cast<double>(m.vocab_size())));
  const int64_t B = std::max<int64_t>(1, std::min({batch, n / W, max_rows}));
  std::vector<int64_t> lo(B + 1), from(B);
  for (int64_t b = 0; b < B; ++b) lo[b] = n * b / B / P * P;
  lo[B] = n;
  int64_t steps = 0;  // the longest row
  for (int64_t b = 0; b < B; ++b) {
    from[b] = std::max<int64_t>(0, lo[b] - W);
    steps = std::max(steps, lo[b + 1] - from[b]);
  }
  // Under mpirun each rank feeds its rows [r0, r0 + R) (train::shard) and the sums are added up.
  const train::Shard mine = train::my_shard(B);
  const int64_t R = mine.count(), r0 = mine.begin;
  std::unique_ptr<LmStreams> st = m.streams();
  CrossEntropyOptions co;
  co.reduction = Reduction::sum;  // unscored steps (warm-up, padding past a row's end): ignore_index
  std::vector<double> nats = {0.0};
  for (int64_t t0 = 0; t0 < steps && R > 0; t0 += seq_len) {
    const int64_t T = std::min(seq_len, steps - t0);
    std::vector<int64_t> in(static_cast<size_t>(T * R), 0), target(in.size(), co.ignore_index);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t r = 0; r < R; ++r) {
        const int64_t b = r0 + r, pos = from[b] + t0 + t;  // input position; past the row's end: padding
        if (pos >= lo[b + 1]) continue;
        in[static_cast<size_t>(t * R + r)] = ids[static_cast<size_t>(pos)];
        if (pos >= lo[b]) target[static_cast<size_t>(t * R + r)] = ids[static_cast<size_t>(pos + 1)];
      }
    nats[0] += cross_entropy(Var(st->feed(in, T, R)), target, co).value().item();
  }
  train::sum_over_ranks(nats, "the evaluation");
  m.train(was_training);
  return {n, nats[0] / static_cast<double>(n)};
}

std::unique_ptr<LanguageModel> load_lm(const std::string& model_path) {
  return load_trained<LanguageModel, LmConfig>(model_path);
}

// "arch" absent or "rnn": LmConfig (the format before transformers existed); "transformer".
std::unique_ptr<LmModel> make_lm(const std::string& config_json, const std::string& where, Rng& rng) {
  std::string arch;
  try {
    arch = json::parse(config_json).value("arch", "rnn");
  } catch (const json::exception& e) {
    throw Error(where, std::string("bad model configuration: ") + e.what());
  }
  if (arch == "transformer")
    return std::make_unique<TransformerLanguageModel>(TransformerLmConfig::from_json(config_json, where), rng);
  RC_CHECK(arch == "rnn", where, "bad model configuration: unknown arch '", arch, "' (rnn or transformer)");
  return std::make_unique<LanguageModel>(LmConfig::from_json(config_json, where), rng);
}

std::unique_ptr<LmModel> open_lm(const std::string& model_path) {
  return load_trained(model_path, make_lm);
}

}  // namespace recurrent::tasks
