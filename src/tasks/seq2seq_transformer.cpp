// The transformer encoder-decoder (`train seq2seq --arch transformer`): equations and parameter
// layout in include/recurrent/tasks/seq2seq.h; the blocks are nn/transformer.h's pre-LN
// TransformerEncoderLayer / TransformerDecoderLayer. No new autograd op: training composes
// embedding, scale, add, dropout, the layers, layer_norm and linear (each gradient-checked on its
// own; the composition is checked against finite differences in tests/tasks/test_seq2seq_transformer.cpp).
//
// Parameters: src_embedding.weight [V_src, D], tgt_embedding.weight [V_tgt, D] (also the output
// projection), encoder.layers.{n}.* (encoder-layer names), encoder.norm.*, decoder.layers.{n}.*
// (decoder-layer names), decoder.norm.*.
// Legend: B batch (sources or hypotheses), S source steps, T target steps, D = d_model, V vocabulary.
#include <algorithm>
#include <cmath>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/tasks/seq2seq.h"

namespace recurrent::tasks {

struct TransformerSeq2Seq::Stack : Module {
  std::vector<std::shared_ptr<TransformerEncoderLayer>> enc;
  std::vector<std::shared_ptr<TransformerDecoderLayer>> dec;
  std::shared_ptr<nn_detail::Norm> norm;

  Stack(bool decoder, const TransformerLayerOptions& lo, int64_t n, Rng& rng) {
    auto list = register_module("layers", std::make_shared<nn_detail::ModuleList>());
    for (int64_t i = 0; i < n; ++i) {
      if (decoder) dec.push_back(list->add(std::make_shared<TransformerDecoderLayer>(lo, rng)));
      else enc.push_back(list->add(std::make_shared<TransformerEncoderLayer>(lo, rng)));
    }
    norm = register_module("norm", std::make_shared<nn_detail::Norm>(lo.d_model, lo.layer_norm_eps));
  }
};

namespace {

struct TransformerDecoderState : DecoderState {
  Tensor memory, padding;                    // [B, S, D], [B, S] (1 = padding)
  std::vector<KVCache> cross, self;          // per decoder layer: memory keys/values; self-attention cache
  std::vector<std::vector<int64_t>> prefix;  // per hypothesis: the tokens fed so far (<bos> first)
};

// Rows `from` of x along dim 0 (no tape: decoding only).
Tensor rows(const Tensor& x, const std::vector<int64_t>& from) {
  Tensor src = x.contiguous();
  Shape sh = src.shape();
  const int64_t row = src.numel() / sh[0];
  sh[0] = static_cast<int64_t>(from.size());
  Tensor out(sh);
  for (size_t k = 0; k < from.size(); ++k) std::copy_n(src.data() + from[k] * row, row, out.data() + k * row);
  return out;
}

// Enlarges a self-attention cache to `cap` steps, keeping its first len steps.
void grow(KVCache& c, int64_t cap) {
  if (!c.k.defined() || c.capacity() >= cap) return;
  for (Tensor* t : {&c.k, &c.v}) {
    Tensor n({t->size(0), cap, t->size(2)});
    n.slice(1, 0, c.len).copy_(t->slice(1, 0, c.len));
    *t = n;
  }
}

// B id sequences → row-major [B, T] (after an optional first token), padded with 0; lengths.
std::vector<int64_t> batch_major(const std::vector<const std::vector<int64_t>*>& seqs, int64_t first, int64_t& T,
                                 std::vector<int64_t>& lengths) {
  const int64_t off = first >= 0 ? 1 : 0;
  T = 0;
  lengths.clear();
  for (const auto* s : seqs) {
    lengths.push_back(static_cast<int64_t>(s->size()) + off);
    T = std::max(T, lengths.back());
  }
  std::vector<int64_t> ids(seqs.size() * static_cast<size_t>(T), 0);
  for (size_t b = 0; b < seqs.size(); ++b) {
    int64_t* row = ids.data() + static_cast<int64_t>(b) * T;
    if (first >= 0) row[0] = first;
    std::copy(seqs[b]->begin(), seqs[b]->end(), row + off);
  }
  return ids;
}

}  // namespace

TransformerSeq2Seq::TransformerSeq2Seq(Seq2SeqConfig cfg, Rng& rng) : Seq2SeqModel(std::move(cfg)) {
  cfg_.validate();
  RC_CHECK(cfg_.arch == "transformer", "TransformerSeq2Seq", "configuration of arch '", cfg_.arch, "'");
  const int64_t D = cfg_.d_model;
  const float sd = 1.0f / std::sqrt(static_cast<float>(D));  // √D·E ~ N(0, 1), the scale of PE
  Tensor es({cfg_.src.size(), D}), et({cfg_.tgt.size(), D});
  rng.fill_normal(es, 0.0f, sd);
  rng.fill_normal(et, 0.0f, sd);
  emb_src_ = register_parameter("src_embedding.weight", es);
  emb_tgt_ = register_parameter("tgt_embedding.weight", et);
  TransformerLayerOptions lo;
  lo.d_model = D;
  lo.heads = cfg_.heads;
  lo.ff = cfg_.ff;
  lo.dropout = cfg_.dropout;
  lo.activation = Activation::gelu;
  lo.norm_first = true;
  lo.batch_first = true;
  encoder_ = register_module("encoder", std::make_shared<Stack>(false, lo, cfg_.depth, rng));
  decoder_ = register_module("decoder", std::make_shared<Stack>(true, lo, cfg_.depth, rng));
  dropout_rng_ = Rng(rng.next_u64(), 0x7F5E);
}

// drop(√D·table[ids] + PE[offset .. offset+T))   [B, T, D]
Var TransformerSeq2Seq::embed(const Var& table, const std::vector<int64_t>& ids, int64_t B, int64_t T, int64_t offset) {
  const int64_t D = cfg_.d_model;
  Var e = scale(embedding(table, ids, {B, T}), std::sqrt(static_cast<float>(D)));
  return dropout(add(e, Var(sinusoidal_positions(T, D, offset))), cfg_.dropout, is_training(), dropout_rng_);
}

Var TransformerSeq2Seq::encode(const std::vector<const std::vector<int64_t>*>& src, Tensor& padding) {
  RC_CHECK(!src.empty(), "seq2seq", "empty batch");
  for (const auto* s : src) RC_CHECK(!s->empty(), "seq2seq", "empty source sequence");
  const int64_t B = static_cast<int64_t>(src.size());
  int64_t S = 0;
  std::vector<int64_t> lengths;
  const std::vector<int64_t> ids = batch_major(src, -1, S, lengths);
  padding = Tensor({B, S});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = lengths[b]; j < S; ++j) padding.data()[b * S + j] = 1.0f;
  AttentionMasks m;
  m.key_padding = padding;
  Var x = embed(emb_src_, ids, B, S, 0);
  for (auto& layer : encoder_->enc) x = layer->forward(x, m);
  return encoder_->norm->forward(x);  // memory [B, S, D]
}

// ids [B, T] (<bos> first) → logits [B, T, V] = norm(decoder(ids, memory))·E_tgtᵀ
Var TransformerSeq2Seq::decode(const Var& memory, const Tensor& padding, const std::vector<int64_t>& ids, int64_t B,
                               int64_t T) {
  AttentionMasks self, mem;
  self.causal = true;
  mem.key_padding = padding;
  Var y = embed(emb_tgt_, ids, B, T, 0);
  for (auto& layer : decoder_->dec) y = layer->forward(y, memory, self, mem);
  return linear(decoder_->norm->forward(y), emb_tgt_);
}

Var TransformerSeq2Seq::forward(const Seq2SeqBatch& b) {
  RC_CHECK(b.src.size() == b.tgt.size(), "seq2seq", b.src.size(), " sources but ", b.tgt.size(), " targets");
  Tensor padding;
  Var memory = encode(b.src, padding);
  int64_t T = 0;
  std::vector<int64_t> lengths;
  const std::vector<int64_t> ids = batch_major(b.tgt, kBos, T, lengths);  // <bos> y_1 .. y_n
  return decode(memory, padding, ids, static_cast<int64_t>(b.tgt.size()), T);
}

std::unique_ptr<DecoderState> TransformerSeq2Seq::start(const std::vector<const std::vector<int64_t>*>& src) {
  NoGradGuard ng;
  auto s = std::make_unique<TransformerDecoderState>();
  s->memory = encode(src, s->padding).value();
  s->batch = static_cast<int64_t>(src.size());
  for (const auto* x : src) s->src_len.push_back(static_cast<int64_t>(x->size()));
  for (auto& layer : decoder_->dec) s->cross.push_back(layer->project_memory(s->memory));
  s->self.resize(decoder_->dec.size());
  s->prefix.resize(src.size());
  return s;
}

Tensor TransformerSeq2Seq::step(DecoderState& ds, const std::vector<int64_t>& prev) {
  NoGradGuard ng;
  auto& s = dynamic_cast<TransformerDecoderState&>(ds);
  const int64_t B = s.batch, V = cfg_.tgt.size();
  RC_CHECK(static_cast<int64_t>(prev.size()) == B, "seq2seq", "step: ", prev.size(), " tokens for ", B, " hypotheses");
  for (int64_t b = 0; b < B; ++b) s.prefix[b].push_back(prev[b]);
  const int64_t t = static_cast<int64_t>(s.prefix[0].size());  // steps so far, this one included
  Tensor logits;                                                // [B, 1, V]
  if (kv_cache_) {
    const int64_t cap = 2 * s.memory.size(1) + 12;  // first allocation (the default length limit + 2)
    for (KVCache& c : s.self)
      if (c.k.defined() && c.len + 1 > c.capacity()) grow(c, 2 * c.capacity());
    Tensor h = embed(emb_tgt_, prev, B, 1, t - 1).value();
    for (size_t l = 0; l < decoder_->dec.size(); ++l)
      h = decoder_->dec[l]->forward_cached(h, s.self[l], cap, s.cross[l], s.padding);
    logits = linear(decoder_->norm->forward(Var(h)), emb_tgt_).value();
  } else {  // the reference: the whole prefix again, last step kept
    std::vector<int64_t> ids;
    for (const auto& p : s.prefix) ids.insert(ids.end(), p.begin(), p.end());
    logits = decode(Var(s.memory), s.padding, ids, B, t).value().slice(1, t - 1, t);
  }
  return log_softmax(Var(logits.contiguous().view({B, V}))).value();
}

void TransformerSeq2Seq::reorder(DecoderState& ds, const std::vector<int64_t>& from) {
  auto& s = dynamic_cast<TransformerDecoderState&>(ds);
  s.memory = rows(s.memory, from);
  s.padding = rows(s.padding, from);
  for (KVCache& c : s.cross) c.k = rows(c.k, from), c.v = rows(c.v, from);
  for (KVCache& c : s.self)
    if (c.k.defined()) c.k = rows(c.k, from), c.v = rows(c.v, from);
  std::vector<std::vector<int64_t>> prefix;
  std::vector<int64_t> len;
  for (int64_t f : from) prefix.push_back(s.prefix[f]), len.push_back(s.src_len[f]);
  s.prefix = std::move(prefix);
  s.src_len = std::move(len);
  s.batch = static_cast<int64_t>(from.size());
}

std::vector<Rng*> TransformerSeq2Seq::dropout_rngs() {
  std::vector<Rng*> r{&dropout_rng_};
  for (auto& l : encoder_->enc) r.push_back(&l->dropout_rng()), r.push_back(&l->self_attn().dropout_rng());
  for (auto& l : decoder_->dec) {
    r.push_back(&l->dropout_rng());
    r.push_back(&l->self_attn().dropout_rng());
    r.push_back(&l->cross_attn().dropout_rng());
  }
  return r;
}

}  // namespace recurrent::tasks
