// Positional encodings, transformer encoder / decoder layers and the causal LM body; contract,
// equations and parameter names in include/recurrent/nn/transformer.h.
#include "recurrent/nn/transformer.h"

#include <cmath>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"

namespace recurrent {

namespace nn_detail {
Table::Table(int64_t rows, int64_t dim, float stddev, Rng& rng) {
  Tensor w({rows, dim});
  rng.fill_normal(w, 0.0f, stddev);
  register_parameter("weight", w);
}
}  // namespace nn_detail

// PE[p, 2i] = sin(p·ω_i), PE[p, 2i+1] = cos(p·ω_i), ω_i = 10000^{−2i/D}   (Vaswani et al. 2017, §3.5)
Tensor sinusoidal_positions(int64_t T, int64_t D, int64_t offset) {
  Tensor pe({T, D});
  for (int64_t t = 0; t < T; ++t) {
    const double p = static_cast<double>(offset + t);
    for (int64_t c = 0; c < D; c += 2) {
      const double w = std::pow(10000.0, -static_cast<double>(c) / static_cast<double>(D));
      pe.at({t, c}) = static_cast<float>(std::sin(p * w));
      if (c + 1 < D) pe.at({t, c + 1}) = static_cast<float>(std::cos(p * w));
    }
  }
  return pe;
}

namespace {

void check_layer_options(const TransformerLayerOptions& o, const char* where) {
  RC_CHECK(o.d_model > 0 && o.heads > 0 && o.d_model % o.heads == 0, where, "d_model ", o.d_model,
           " must be a positive multiple of heads ", o.heads);
  RC_CHECK(o.ff > 0, where, "dim_feedforward must be positive, got ", o.ff);
  RC_CHECK(o.dropout >= 0.0f && o.dropout < 1.0f, where, "dropout must be in [0, 1), got ", o.dropout);
}

Var activate(const Var& x, Activation a) { return a == Activation::gelu ? gelu(x) : relu(x); }

}  // namespace

// ---- encoder layer ------------------------------------------------------------------------------

TransformerEncoderLayer::TransformerEncoderLayer(const TransformerLayerOptions& o, Rng& rng) : o_(o) {
  check_layer_options(o, "TransformerEncoderLayer");
  // Registration order = PyTorch's state_dict order.
  self_attn_ = register_module("self_attn",
                               std::make_shared<MultiheadAttention>(o.d_model, o.heads, o.dropout, o.batch_first, rng));
  linear1_ = register_module("linear1", std::make_shared<nn_detail::Affine>(o.d_model, o.ff, true, rng));
  linear2_ = register_module("linear2", std::make_shared<nn_detail::Affine>(o.ff, o.d_model, true, rng));
  norm1_ = register_module("norm1", std::make_shared<nn_detail::Norm>(o.d_model, o.layer_norm_eps));
  norm2_ = register_module("norm2", std::make_shared<nn_detail::Norm>(o.d_model, o.layer_norm_eps));
  rng_ = Rng(rng.next_u64(), 0xE1C);
}

// ff(x) = linear2(drop(act(linear1(x))))
Var TransformerEncoderLayer::feed_forward(const Var& x) {
  return linear2_->forward(dropout(activate(linear1_->forward(x), o_.activation), o_.dropout, is_training(), rng_));
}

Var TransformerEncoderLayer::forward(const Var& x, const AttentionMasks& m) {
  const float p = o_.dropout;
  const bool tr = is_training();
  if (o_.norm_first) {  // x + drop(sa(norm1(x))), then + drop(ff(norm2(·)))
    Var h = add(x, dropout(self_attn_->self_attention(norm1_->forward(x), m), p, tr, rng_));
    return add(h, dropout(feed_forward(norm2_->forward(h)), p, tr, rng_));
  }
  Var h = norm1_->forward(add(x, dropout(self_attn_->self_attention(x, m), p, tr, rng_)));
  return norm2_->forward(add(h, dropout(feed_forward(h), p, tr, rng_)));
}

// Inference, dropout off: the same equations with the attention replaced by a cached causal step.
Tensor TransformerEncoderLayer::forward_cached(const Tensor& x_new, KVCache& cache, int64_t capacity) {
  NoGradGuard ng;
  const bool tr = is_training();
  train(false);
  Var x(x_new), h;
  if (o_.norm_first) {
    h = add(x, Var(self_attn_->step(norm1_->forward(x).value(), cache, capacity)));
    h = add(h, feed_forward(norm2_->forward(h)));
  } else {
    h = norm1_->forward(add(x, Var(self_attn_->step(x_new, cache, capacity))));
    h = norm2_->forward(add(h, feed_forward(h)));
  }
  train(tr);
  return h.value();
}

// ---- decoder layer ------------------------------------------------------------------------------

TransformerDecoderLayer::TransformerDecoderLayer(const TransformerLayerOptions& o, Rng& rng) : o_(o) {
  check_layer_options(o, "TransformerDecoderLayer");
  auto mha = [&] { return std::make_shared<MultiheadAttention>(o.d_model, o.heads, o.dropout, o.batch_first, rng); };
  self_attn_ = register_module("self_attn", mha());
  cross_attn_ = register_module("multihead_attn", mha());
  linear1_ = register_module("linear1", std::make_shared<nn_detail::Affine>(o.d_model, o.ff, true, rng));
  linear2_ = register_module("linear2", std::make_shared<nn_detail::Affine>(o.ff, o.d_model, true, rng));
  norm1_ = register_module("norm1", std::make_shared<nn_detail::Norm>(o.d_model, o.layer_norm_eps));
  norm2_ = register_module("norm2", std::make_shared<nn_detail::Norm>(o.d_model, o.layer_norm_eps));
  norm3_ = register_module("norm3", std::make_shared<nn_detail::Norm>(o.d_model, o.layer_norm_eps));
  rng_ = Rng(rng.next_u64(), 0xDEC);
}

Var TransformerDecoderLayer::feed_forward(const Var& x) {
  return linear2_->forward(dropout(activate(linear1_->forward(x), o_.activation), o_.dropout, is_training(), rng_));
}

Var TransformerDecoderLayer::forward(const Var& x, const Var& memory, const AttentionMasks& self_masks,
                                     const AttentionMasks& memory_masks) {
  const float p = o_.dropout;
  const bool tr = is_training();
  auto cross = [&](const Var& q) { return cross_attn_->forward(q, memory, memory, memory_masks); };
  if (o_.norm_first) {
    Var h = add(x, dropout(self_attn_->self_attention(norm1_->forward(x), self_masks), p, tr, rng_));
    h = add(h, dropout(cross(norm2_->forward(h)), p, tr, rng_));
    return add(h, dropout(feed_forward(norm3_->forward(h)), p, tr, rng_));
  }
  Var h = norm1_->forward(add(x, dropout(self_attn_->self_attention(x, self_masks), p, tr, rng_)));
  h = norm2_->forward(add(h, dropout(cross(h), p, tr, rng_)));
  return norm3_->forward(add(h, dropout(feed_forward(h), p, tr, rng_)));
}

// Inference, dropout off: forward()'s equations with cached self-attention and projected memory.
Tensor TransformerDecoderLayer::forward_cached(const Tensor& x_new, KVCache& cache, int64_t capacity,
                                               const KVCache& memory, const Tensor& memory_padding) {
  NoGradGuard ng;
  const bool tr = is_training();
  train(false);
  auto cross = [&](const Var& q) { return Var(cross_attn_->attend_memory(q.value(), memory, memory_padding)); };
  Var x(x_new), h;
  if (o_.norm_first) {
    h = add(x, Var(self_attn_->step(norm1_->forward(x).value(), cache, capacity)));
    h = add(h, cross(norm2_->forward(h)));
    h = add(h, feed_forward(norm3_->forward(h)));
  } else {
    h = norm1_->forward(add(x, Var(self_attn_->step(x_new, cache, capacity))));
    h = norm2_->forward(add(h, cross(h)));
    h = norm3_->forward(add(h, feed_forward(h)));
  }
  train(tr);
  return h.value();
}

// ---- causal language model ----------------------------------------------------------------------

TransformerLM::TransformerLM(const TransformerLMOptions& o, Rng& rng) : o_(o) {
  RC_CHECK(o.vocab > 0, "TransformerLM", "vocab must be positive, got ", o.vocab);
  RC_CHECK(o.context > 0 && o.layers > 0, "TransformerLM", "context and layers must be positive, got ", o.context,
           " and ", o.layers);
  tok_emb_ = register_module("tok_emb", std::make_shared<nn_detail::Table>(o.vocab, o.d_model, 0.02f, rng));
  if (o.positional == PositionalKind::learned)
    pos_emb_ = register_module("pos_emb", std::make_shared<nn_detail::Table>(o.context, o.d_model, 0.02f, rng));
  auto list = register_module("layers", std::make_shared<nn_detail::ModuleList>());
  TransformerLayerOptions lo;
  lo.d_model = o.d_model;
  lo.heads = o.heads;
  lo.ff = o.ff;
  lo.dropout = o.dropout;
  lo.activation = o.activation;
  lo.norm_first = true;
  lo.batch_first = true;
  for (int64_t n = 0; n < o.layers; ++n) layers_.push_back(list->add(std::make_shared<TransformerEncoderLayer>(lo, rng)));
  norm_ = register_module("norm", std::make_shared<nn_detail::Norm>(o.d_model));
  if (!o.tie_embeddings) head_ = register_module("head", std::make_shared<nn_detail::Affine>(o.d_model, o.vocab, false, rng));
  rng_ = Rng(rng.next_u64(), 0x1A);
}

// h = drop(tok_emb[tokens] + pos[offset .. offset+T−1])   [B, T, D]
Var TransformerLM::embed(const std::vector<int64_t>& tokens, int64_t B, int64_t T, int64_t offset) {
  RC_CHECK(static_cast<int64_t>(tokens.size()) == B * T, "TransformerLM", "expected B·T = ", B * T, " tokens, got ",
           tokens.size());
  RC_CHECK(offset + T <= o_.context, "TransformerLM", "positions ", offset, " .. ", offset + T - 1,
           " exceed the context ", o_.context);
  Var e = embedding(tok_emb_->weight(), tokens, {B, T});
  Var pos = pos_emb_ ? slice(pos_emb_->weight(), 0, offset, offset + T) : Var(sinusoidal_positions(T, o_.d_model, offset));
  return dropout(add(e, pos), o_.dropout, is_training(), rng_);
}

// logits = norm(h) · Wᵀ, W = tok_emb.weight (tied) or head.weight   [B, T, V]
Var TransformerLM::logits(const Var& h) {
  Var n = norm_->forward(h);
  return head_ ? head_->forward(n) : linear(n, tok_emb_->weight());
}

Var TransformerLM::forward(const std::vector<int64_t>& tokens, int64_t B, int64_t T) {
  Var h = embed(tokens, B, T, 0);
  AttentionMasks causal;
  causal.causal = true;
  for (auto& layer : layers_) h = layer->forward(h, causal);
  return logits(h);
}

Tensor TransformerLM::forward_cached(const std::vector<int64_t>& tokens, int64_t B, int64_t t, LMCache& cache) {
  NoGradGuard ng;
  if (cache.layers.empty()) cache.layers.resize(layers_.size());
  const bool tr = is_training();
  train(false);  // generation: no dropout
  Tensor h = embed(tokens, B, t, cache.len()).value();
  for (size_t n = 0; n < layers_.size(); ++n) h = layers_[n]->forward_cached(h, cache.layers[n], o_.context);
  Tensor out = logits(Var(h)).value();
  train(tr);
  return out;
}

Var TransformerLM::forward_time_major(const std::vector<int64_t>& ids, int64_t T, int64_t B) {
  RC_CHECK(static_cast<int64_t>(ids.size()) == T * B, "TransformerLM", "expected T·B = ", T * B, " ids, got ",
           ids.size());
  std::vector<int64_t> bt(ids.size());  // [T, B] -> [B, T]
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b) bt[static_cast<size_t>(b * T + t)] = ids[static_cast<size_t>(t * B + b)];
  return transpose(forward(bt, B, T), 0, 1);
}

std::vector<Rng*> TransformerLM::dropout_rngs() {
  std::vector<Rng*> r{&rng_};
  for (auto& l : layers_) {
    r.push_back(&l->dropout_rng());
    r.push_back(&l->self_attn().dropout_rng());
  }
  return r;
}

LMCache LMCache::clone() const {
  LMCache c;
  for (const KVCache& l : layers) c.layers.push_back({l.k.defined() ? l.k.clone() : Tensor(), l.v.defined() ? l.v.clone() : Tensor(), l.len});
  return c;
}

Tensor TransformerStream::feed(const std::vector<int64_t>& tokens) {
  RC_CHECK(!tokens.empty(), "TransformerStream", "feed() needs at least one token");
  const int64_t C = lm_->options().context;
  std::vector<int64_t> todo = tokens;
  if (position() + static_cast<int64_t>(todo.size()) > C) {  // slide: restart from the last C/2 tokens
    window_.insert(window_.end(), todo.begin(), todo.end());
    const int64_t keep = std::min<int64_t>(C / 2 > 0 ? C / 2 : 1, static_cast<int64_t>(window_.size()));
    window_.erase(window_.begin(), window_.end() - keep);
    todo = window_;
    window_.clear();
    cache_.clear();
  }
  Tensor logits = lm_->forward_cached(todo, 1, static_cast<int64_t>(todo.size()), cache_);  // [1, t, V]
  window_.insert(window_.end(), todo.begin(), todo.end());
  return logits.select(0, 0).select(0, logits.size(1) - 1).contiguous();
}

TransformerStream TransformerStream::clone() const {
  TransformerStream s(*lm_);
  s.cache_ = cache_.clone();
  s.window_ = window_;
  return s;
}

}  // namespace recurrent
