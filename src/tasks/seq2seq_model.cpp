// Encoder-decoder models: tokens, vocabularies, configuration (JSON), the RNN encoder-decoder with
// attention, loading. Contract and equations in include/recurrent/tasks/seq2seq.h.
#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/data/utf8.h"
#include "recurrent/data/vocab.h"
#include "recurrent/tasks/classify.h"
#include "recurrent/tasks/load_model.h"
#include "recurrent/tasks/seq2seq.h"
#include "recurrent/train/checkpoint.h"
#include "recurrent/io/json_int.h"
#include "tasks/layer_options.h"

namespace recurrent::tasks {

using nlohmann::json;

std::vector<std::string> seq2seq_tokens(const std::string& text, const std::string& where) {
  std::u32string u = data::utf8_decode(text, where);
  for (char32_t& c : u) c = data::lower_latin(c);
  return classify_tokens(data::utf8_encode(u, where), false, false, where);
}

// ---- vocabulary -------------------------------------------------------------------------------------
TokenVocab::TokenVocab(std::vector<std::string> tokens) : tokens_(std::move(tokens)) {
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const bool fresh = index_.emplace(tokens_[i], static_cast<int64_t>(i)).second;
    RC_CHECK(fresh, "vocabulary", "token '", tokens_[i], "' listed twice");
  }
}

TokenVocab TokenVocab::build(const std::vector<std::vector<std::string>>& sentences, std::vector<std::string> specials,
                             int64_t max_size, int64_t min_count) {
  std::map<std::string, int64_t> counts;  // byte order: the tie-break
  for (const auto& s : sentences)
    for (const std::string& t : s) ++counts[t];
  return TokenVocab(data::frequent_tokens(counts, std::move(specials), min_count, max_size));
}

int64_t TokenVocab::id(const std::string& t) const {
  auto it = index_.find(t);
  return it == index_.end() ? kUnk : it->second;
}

const std::string& TokenVocab::token(int64_t id) const {
  RC_CHECK(id >= 0 && id < size(), "vocabulary", "token id ", id, " outside [0, ", size(), ")");
  return tokens_[static_cast<size_t>(id)];
}

AttentionKind parse_attention(const std::string& s) {
  if (s == "none") return AttentionKind::none;
  if (s == "bahdanau") return AttentionKind::bahdanau;
  if (s == "luong-dot") return AttentionKind::luong_dot;
  if (s == "luong-general") return AttentionKind::luong_general;
  throw Error("--attention", "expected none, bahdanau, luong-dot or luong-general, got '" + s + "'");
}

const char* attention_name(AttentionKind a) {
  switch (a) {
    case AttentionKind::none: return "none";
    case AttentionKind::bahdanau: return "bahdanau";
    case AttentionKind::luong_dot: return "luong-dot";
    case AttentionKind::luong_general: return "luong-general";
  }
  return "?";
}

// ---- configuration ----------------------------------------------------------------------------------
void Seq2SeqConfig::validate() const {
  RC_CHECK(arch == "rnn" || arch == "transformer", "--arch", "expected rnn or transformer, got '", arch, "'");
  RC_CHECK(dropout >= 0.0f && dropout < 1.0f, "--dropout", "expected a value in [0, 1), got ", dropout);
  RC_CHECK(src.size() >= 1 && src.token(0) == "<unk>", "source vocabulary", "expected <unk> as token 0");
  RC_CHECK(tgt.size() >= 3 && tgt.token(kUnk) == "<unk>" && tgt.token(kBos) == "<bos>" && tgt.token(kEos) == "<eos>",
           "target vocabulary", "expected <unk>, <bos>, <eos> as tokens 0, 1, 2");
  if (arch == "transformer") {
    RC_CHECK(depth >= 1, "--layers", "expected >= 1 transformer blocks per side, got ", depth);
    RC_CHECK(heads >= 1, "--heads", "expected >= 1, got ", heads);
    RC_CHECK(d_model >= 1 && d_model % heads == 0, "--d-model", "expected a positive multiple of --heads ", heads,
             ", got ", d_model);
    RC_CHECK(ff >= 1, "--ff", "expected >= 1, got ", ff);
    return;
  }
  RC_CHECK(embed >= 1, "--embed", "expected >= 1, got ", embed);
  RC_CHECK(!layers.empty(), "--layers", "expected at least one layer");
  for (const LayerSpec& l : layers) {
    RC_CHECK(l.proj == 0, "--hidden", "projections are not supported in the encoder-decoder");
    RC_CHECK(!bidirectional || l.hidden % 2 == 0, "--hidden",
             "with --bidirectional each hidden size is split over two directions: expected even sizes, got ", l.hidden);
  }
}

std::string Seq2SeqConfig::to_json() const {
  if (arch == "transformer")
    return json{{"task", "seq2seq"}, {"arch", arch}, {"units", "words-lower"}, {"layers", depth},
                {"d_model", d_model}, {"heads", heads}, {"ff", ff}, {"pos", "sinusoidal"}, {"dropout", dropout},
                {"src_vocab", src.tokens()}, {"tgt_vocab", tgt.tokens()}}.dump();
  json ls = json::array();
  for (const LayerSpec& l : layers) ls.push_back(layer_json(l));
  json j = {{"task", "seq2seq"},           {"arch", arch},
            {"units", "words-lower"},      {"embed", embed},
            {"layers", ls},                {"bidirectional", bidirectional},
            {"dropout", dropout},          {"attention", attention_name(attention)},
            {"src_vocab", src.tokens()},   {"tgt_vocab", tgt.tokens()}};
  return j.dump();
}

Seq2SeqConfig Seq2SeqConfig::from_json(const std::string& text, const std::string& where) {
  try {
    json j = json::parse(text);
    RC_CHECK(j.value("task", "") == "seq2seq", where, "not an encoder-decoder model (task '", j.value("task", ""), "')");
    Seq2SeqConfig c;
    c.arch = j.at("arch").get<std::string>();
    if (c.arch == "transformer") {
      c.depth = io::json_int_at<int64_t>(j, "layers");
      c.d_model = io::json_int_at<int64_t>(j, "d_model");
      c.heads = io::json_int_at<int64_t>(j, "heads");
      c.ff = io::json_int_at<int64_t>(j, "ff");
      RC_CHECK(j.value("pos", "") == "sinusoidal", where, "unknown positional encoding '", j.value("pos", ""), "'");
      c.dropout = j.at("dropout").get<float>();
      c.src = TokenVocab(j.at("src_vocab").get<std::vector<std::string>>());
      c.tgt = TokenVocab(j.at("tgt_vocab").get<std::vector<std::string>>());
      c.validate();
      return c;
    }
    c.embed = io::json_int_at<int64_t>(j, "embed");
    for (const json& l : j.at("layers"))
      c.layers.push_back(layer_from_json(l));
    c.bidirectional = j.at("bidirectional").get<bool>();
    c.dropout = j.at("dropout").get<float>();
    c.attention = parse_attention(j.at("attention").get<std::string>());
    c.src = TokenVocab(j.at("src_vocab").get<std::vector<std::string>>());
    c.tgt = TokenVocab(j.at("tgt_vocab").get<std::vector<std::string>>());
    c.validate();
    return c;
  } catch (const json::exception& e) {
    throw Error(where, std::string("bad model configuration: ") + e.what());
  } catch (const Error& e) {
    throw Error(where, "bad model configuration: " + std::string(e.what()));
  }
}

// ---- the interface's shared helpers -------------------------------------------------------------
std::vector<int64_t> Seq2SeqModel::encode_source(const std::string& text, const std::string& where) const {
  std::vector<int64_t> ids;
  for (const std::string& t : seq2seq_tokens(text, where)) ids.push_back(cfg_.src.id(t));
  if (ids.empty()) ids.push_back(kUnk);  // the encoder needs ≥ 1 step
  return ids;
}

std::vector<int64_t> Seq2SeqModel::encode_target(const std::string& text, const std::string& where) const {
  std::vector<int64_t> ids;
  for (const std::string& t : seq2seq_tokens(text, where)) ids.push_back(cfg_.tgt.id(t));
  return ids;
}

std::string Seq2SeqModel::render(const std::vector<int64_t>& ids) const {
  std::string s;
  for (int64_t id : ids) {
    if (!s.empty()) s += ' ';
    s += cfg_.tgt.token(id);
  }
  return s;
}

// ---- RNN encoder-decoder ------------------------------------------------------------------------------
namespace {

// ids of B sequences → time-major [T, B] (padded with 0) and lengths.
std::vector<int64_t> time_major(const std::vector<const std::vector<int64_t>*>& seqs, int64_t T, int64_t first,
                                std::vector<int64_t>& lengths) {
  const int64_t B = static_cast<int64_t>(seqs.size());
  std::vector<int64_t> ids(static_cast<size_t>(T * B), 0);
  lengths.clear();
  for (int64_t b = 0; b < B; ++b) {
    const std::vector<int64_t>& s = *seqs[b];
    const int64_t off = first >= 0 ? 1 : 0;
    if (first >= 0) ids[b] = first;
    for (size_t t = 0; t < s.size(); ++t) ids[(static_cast<int64_t>(t) + off) * B + b] = s[t];
    lengths.push_back(static_cast<int64_t>(s.size()) + off);
  }
  return ids;
}

// Encoder final state [D, B, R] → decoder initial state [1, B, D·R] (directions concatenated).
Var merge_directions(const Var& h) {
  if (!h.defined() || h.size(0) == 1) return h;
  const int64_t D = h.size(0), B = h.size(1), R = h.size(2);
  return reshape(transpose(h, 0, 1), {1, B, D * R});
}

// Rows `from` of x along dim 0 (no tape: decoding only).
Tensor gather0(const Tensor& x, const std::vector<int64_t>& from) {
  Tensor src = x.contiguous();
  Shape sh = src.shape();
  const int64_t row = src.numel() / sh[0];
  sh[0] = static_cast<int64_t>(from.size());
  Tensor out(sh);
  for (size_t k = 0; k < from.size(); ++k) std::copy_n(src.data() + from[k] * row, row, out.data() + k * row);
  return out;
}

}  // namespace

struct RnnSeq2Seq::Encoded {
  Var memory;        // [B, S, H]
  Var keys;          // additive: W_k m + b  [B, S, A]
  Tensor padding;    // [B, S], 1 = padding
  RNNState state;    // decoder's initial state
  std::vector<int64_t> lengths;
};

struct RnnDecoderState : DecoderState {
  Var memory, keys;
  Tensor padding;
  RNNState state;
};

RnnSeq2Seq::RnnSeq2Seq(Seq2SeqConfig cfg, Rng& rng) : Seq2SeqModel(std::move(cfg)), dropout_rng_(rng.fork(0x73327332)) {
  cfg_.validate();
  const int64_t E = cfg_.embed, H = cfg_.layers.back().hidden;
  auto reg = [&](std::string name, Tensor t) { return register_parameter(std::move(name), std::move(t)); };
  Tensor es({cfg_.src.size(), E}), et({cfg_.tgt.size(), E});
  rng.fill_normal(es, 0.0f, 1.0f);  // torch.nn.Embedding default
  rng.fill_normal(et, 0.0f, 1.0f);
  emb_src_ = reg("src_embedding.weight", es);
  emb_tgt_ = reg("tgt_embedding.weight", et);
  RNNOptions enc;
  enc.input_size = E;
  enc.layers = cfg_.layers;
  if (cfg_.bidirectional)
    for (LayerSpec& l : enc.layers) l.hidden /= 2;
  enc.bidirectional = cfg_.bidirectional;
  enc.dropout = cfg_.dropout;
  encoder_ = register_module("encoder", std::make_shared<RNN>(enc, rng));
  RNNOptions dec;
  dec.input_size = E;
  dec.layers = cfg_.layers;
  dec.dropout = cfg_.dropout;
  decoder_ = register_module("decoder", std::make_shared<RNN>(dec, rng));
  if (cfg_.attention == AttentionKind::bahdanau)
    additive_ = register_module("attention", std::make_shared<AdditiveAttention>(H, H, H, rng));
  else if (cfg_.attention != AttentionKind::none)
    multiplicative_ = register_module(
        "attention", std::make_shared<MultiplicativeAttention>(
                         cfg_.attention == AttentionKind::luong_dot ? LuongScore::dot : LuongScore::general, H, H, false, rng));
  auto affine = [&](const std::string& name, int64_t out, int64_t in, Var& w, Var& b) {
    const float k = 1.0f / std::sqrt(static_cast<float>(in));  // torch.nn.Linear default
    Tensor wt({out, in}), bt({out});
    rng.fill_uniform(wt, -k, k);
    rng.fill_uniform(bt, -k, k);
    w = reg(name + ".weight", wt);
    b = reg(name + ".bias", bt);
  };
  affine("combine", H, cfg_.attention == AttentionKind::none ? H : 2 * H, comb_w_, comb_b_);  // W_c
  affine("output", cfg_.tgt.size(), H, out_w_, out_b_);                                        // W_o
}

RnnSeq2Seq::Encoded RnnSeq2Seq::encode(const std::vector<const std::vector<int64_t>*>& src) {
  const int64_t B = static_cast<int64_t>(src.size());
  RC_CHECK(B >= 1, "seq2seq", "empty batch");
  int64_t S = 0;
  for (const auto* s : src) {
    RC_CHECK(!s->empty(), "seq2seq", "empty source sequence");
    S = std::max<int64_t>(S, static_cast<int64_t>(s->size()));
  }
  Encoded e;
  std::vector<int64_t> ids = time_major(src, S, -1, e.lengths);
  const float p = cfg_.dropout;
  Var x = dropout(embedding(emb_src_, ids, {S, B}), p, is_training(), dropout_rng_);  // [S, B, E]
  RNNOutput out = encoder_->forward(x, e.lengths);
  e.memory = transpose(out.output, 0, 1);  // [B, S, H]
  for (size_t l = 0; l < cfg_.layers.size(); ++l) {
    e.state.h.push_back(merge_directions(out.final_state.h[l]));
    e.state.c.push_back(l < out.final_state.c.size() ? merge_directions(out.final_state.c[l]) : Var());
  }
  e.padding = Tensor({B, S});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = e.lengths[b]; j < S; ++j) e.padding.data()[b * S + j] = 1.0f;
  if (additive_) e.keys = additive_->project_keys(e.memory);
  return e;
}

AttentionResult RnnSeq2Seq::attend_and_project(const Var& d, const Encoded& e) {
  AttentionMasks m;
  m.key_padding = e.padding;
  AttentionResult a;
  Var comb_in = d;
  if (additive_) a = additive_->attend(d, e.keys, e.memory, m);
  if (multiplicative_) a = multiplicative_->forward(d, e.memory, e.memory, m);
  if (a.context.defined()) comb_in = concat({a.context, d}, 2);  // [c_t; d_t]  [B, T, 2H]
  Var ht = tanh(linear(comb_in, comb_w_, comb_b_));                 // h̃_t        [B, T, H]
  return {linear(dropout(ht, cfg_.dropout, is_training(), dropout_rng_), out_w_, out_b_), a.weights};
}

Var RnnSeq2Seq::forward(const Seq2SeqBatch& b) {
  RC_CHECK(b.src.size() == b.tgt.size(), "seq2seq", b.src.size(), " sources but ", b.tgt.size(), " targets");
  Encoded e = encode(b.src);
  const int64_t B = static_cast<int64_t>(b.tgt.size());
  int64_t T = 0;
  for (const auto* t : b.tgt) T = std::max<int64_t>(T, static_cast<int64_t>(t->size()) + 1);
  std::vector<int64_t> lengths;
  std::vector<int64_t> ids = time_major(b.tgt, T, kBos, lengths);  // <bos> y_1 .. y_n  [T, B]
  Var x = dropout(embedding(emb_tgt_, ids, {T, B}), cfg_.dropout, is_training(), dropout_rng_);
  RNNOutput out = decoder_->forward(x, lengths, e.state);
  return attend_and_project(transpose(out.output, 0, 1), e).context;  // [B, T, V]
}

std::unique_ptr<DecoderState> RnnSeq2Seq::start(const std::vector<const std::vector<int64_t>*>& src) {
  Encoded e = encode(src);
  auto s = std::make_unique<RnnDecoderState>();
  s->batch = static_cast<int64_t>(src.size());
  s->src_len = e.lengths;
  s->memory = e.memory, s->keys = e.keys, s->padding = e.padding, s->state = e.state;
  return s;
}

Tensor RnnSeq2Seq::step(DecoderState& ds, const std::vector<int64_t>& prev) {
  auto& s = dynamic_cast<RnnDecoderState&>(ds);
  const int64_t B = s.batch;
  RC_CHECK(static_cast<int64_t>(prev.size()) == B, "seq2seq", "step: ", prev.size(), " tokens for ", B, " hypotheses");
  Var x = embedding(emb_tgt_, prev, {1, B});  // [1, B, E]
  RNNOutput out = decoder_->forward(x, {}, s.state);
  s.state = out.final_state;
  Encoded e;
  e.memory = s.memory, e.keys = s.keys, e.padding = s.padding;
  AttentionResult r = attend_and_project(transpose(out.output, 0, 1), e);  // [B, 1, V]
  const int64_t V = cfg_.tgt.size();
  if (r.weights.defined()) s.last_attention = reshape(r.weights, {B, r.weights.size(2)}).value();
  return log_softmax(reshape(r.context, {B, V})).value();
}

void RnnSeq2Seq::reorder(DecoderState& ds, const std::vector<int64_t>& from) {
  auto& s = dynamic_cast<RnnDecoderState&>(ds);
  auto g0 = [&](const Var& v) { return v.defined() ? Var(gather0(v.value(), from)) : Var(); };
  auto g1 = [&](const Var& v) {  // state [D, B, R]: rows along dim 1
    return v.defined() ? Var(gather0(v.value().transpose(0, 1), from).transpose(0, 1).contiguous()) : Var();
  };
  s.memory = g0(s.memory), s.keys = g0(s.keys);
  s.padding = gather0(s.padding, from);
  for (Var& h : s.state.h) h = g1(h);
  for (Var& c : s.state.c) c = g1(c);
  if (s.last_attention.defined()) s.last_attention = gather0(s.last_attention, from);
  std::vector<int64_t> len;
  for (int64_t f : from) len.push_back(s.src_len[f]);
  s.src_len = len;
  s.batch = static_cast<int64_t>(from.size());
}

std::unique_ptr<Seq2SeqModel> make_seq2seq(const Seq2SeqConfig& cfg, Rng& rng) {
  cfg.validate();
  if (cfg.arch == "transformer") return std::make_unique<TransformerSeq2Seq>(cfg, rng);
  return std::make_unique<RnnSeq2Seq>(cfg, rng);
}

std::unique_ptr<Seq2SeqModel> load_seq2seq(const std::string& model_path) {
  return load_trained(model_path, [](const std::string& json, const std::string& where, Rng& rng) {
    return make_seq2seq(Seq2SeqConfig::from_json(json, where), rng);
  });
}

}  // namespace recurrent::tasks
