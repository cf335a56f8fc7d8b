// Multi-head attention module and its key/value cache; contract in include/recurrent/nn/attention.h.
#include "recurrent/nn/attention.h"

#include <cmath>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"

namespace recurrent {

namespace nn_detail {

Affine::Affine(int64_t in, int64_t out, bool bias, Rng& rng) {
  // PyTorch Linear.reset_parameters: kaiming_uniform(a=√5) on weight = U(±1/√in); bias U(±1/√in).
  const float k = 1.0f / std::sqrt(static_cast<float>(in));
  Tensor w({out, in});
  rng.fill_uniform(w, -k, k);
  register_parameter("weight", w);
  if (bias) {
    Tensor b({out});
    rng.fill_uniform(b, -k, k);
    register_parameter("bias", b);
  }
}

Var Affine::forward(const Var& x) const {
  return linear(x, parameter("weight"), has_parameter("bias") ? parameter("bias") : Var());
}

Norm::Norm(int64_t dim, float eps) : eps_(eps) {
  register_parameter("weight", Tensor::ones({dim}));
  register_parameter("bias", Tensor({dim}));
}

Var Norm::forward(const Var& x) const { return layer_norm(x, parameter("weight"), parameter("bias"), eps_); }

}  // namespace nn_detail

MultiheadAttention::MultiheadAttention(int64_t embed_dim, int64_t num_heads, float dropout, bool batch_first, Rng& rng)
    // The dropout stream is seeded by a draw from rng (fork() alone depends only on rng's seed and
    // stream, so every layer built from one Rng would share the same attention-dropout masks).
    : D_(embed_dim), H_(num_heads), dropout_(dropout), batch_first_(batch_first), rng_(rng.next_u64(), 0xA77E) {
  RC_CHECK(D_ > 0 && H_ > 0 && D_ % H_ == 0, "MultiheadAttention", "embed_dim ", D_,
           " must be a positive multiple of num_heads ", H_);
  RC_CHECK(dropout >= 0.0f && dropout < 1.0f, "MultiheadAttention", "dropout must be in [0, 1), got ", dropout);
  // Xavier-uniform over the stacked [3D, D] matrix, as PyTorch's _reset_parameters: U(±√(6/(D + 3D))).
  const float a = std::sqrt(6.0f / static_cast<float>(D_ + 3 * D_));
  Tensor w({3 * D_, D_});
  rng.fill_uniform(w, -a, a);
  register_parameter("in_proj_weight", w);
  register_parameter("in_proj_bias", Tensor({3 * D_}));
  out_proj_ = register_module("out_proj", std::make_shared<nn_detail::Affine>(D_, D_, true, rng));
  out_proj_->parameter("bias").value().zero_();
}

AttentionOptions MultiheadAttention::options(const AttentionMasks& m) {
  AttentionOptions o;
  o.heads = H_;
  o.batch_first = batch_first_;
  o.causal = m.causal;
  o.key_padding = m.key_padding;
  o.attn_mask = m.attn_mask;
  if (is_training() && dropout_ > 0.0f) {
    o.dropout = dropout_;
    o.dropout_seed = rng_.next_u64();
  }
  o.weights = recording();
  return o;
}

// q | k | v = x·in_proj_weightᵀ + in_proj_bias  [.., 3D];  out = out_proj(attention_packed(qkv))
Var MultiheadAttention::self_attention(const Var& x, const AttentionMasks& m) {
  Var qkv = linear(x, parameter("in_proj_weight"), parameter("in_proj_bias"));
  return out_proj_->forward(attention_packed(qkv, options(m)));
}

Var MultiheadAttention::forward(const Var& query, const Var& key, const Var& value, const AttentionMasks& m) {
  if (query.node() == key.node() && key.node() == value.node()) return self_attention(query, m);
  const Var w = parameter("in_proj_weight"), b = parameter("in_proj_bias");
  auto proj = [&](const Var& x, int64_t part) {
    return linear(x, slice(w, 0, part * D_, (part + 1) * D_), slice(b, 0, part * D_, (part + 1) * D_));
  };
  return out_proj_->forward(attention(proj(query, 0), proj(key, 1), proj(value, 2), options(m)));
}

Tensor MultiheadAttention::step(const Tensor& x_new, KVCache& cache, int64_t capacity) {
  NoGradGuard ng;
  RC_CHECK(x_new.dim() == 3 && x_new.size(2) == D_, "MultiheadAttention::step", "input must be [B, t, ", D_,
           "], got ", shape_str(x_new.shape()));
  const int64_t B = x_new.size(0), t = x_new.size(1);
  if (!cache.k.defined()) {
    cache.k = Tensor({B, capacity, D_});
    cache.v = Tensor({B, capacity, D_});
    cache.len = 0;
  }
  RC_CHECK(cache.k.size(0) == B, "KVCache", "batch ", B, " differs from the cache's ", cache.k.size(0));
  RC_CHECK(cache.len + t <= cache.capacity(), "KVCache", "full: ", cache.len, " + ", t, " steps exceed capacity ",
           cache.capacity());
  Tensor qkv = linear(Var(x_new), parameter("in_proj_weight"), parameter("in_proj_bias")).value();  // [B, t, 3D]
  const int64_t end = cache.len + t;
  cache.k.slice(1, cache.len, end).copy_(qkv.slice(2, D_, 2 * D_));
  cache.v.slice(1, cache.len, end).copy_(qkv.slice(2, 2 * D_, 3 * D_));
  cache.len = end;
  AttentionOptions o;
  o.heads = H_;
  o.causal = true;  // bottom-right: new step i sees the cache up to its own position
  o.weights = recording();
  Tensor a = attention_inference(qkv.slice(2, 0, D_), cache.k.slice(1, 0, end), cache.v.slice(1, 0, end), o);
  return out_proj_->forward(Var(a)).value();
}

// k = memory·W_kᵀ + b_k, v = memory·W_vᵀ + b_v   [B, S, D] each
KVCache MultiheadAttention::project_memory(const Tensor& memory) {
  NoGradGuard ng;
  RC_CHECK(memory.dim() == 3 && memory.size(2) == D_, "MultiheadAttention::project_memory", "memory must be [B, S, ",
           D_, "], got ", shape_str(memory.shape()));
  const Var w = parameter("in_proj_weight"), b = parameter("in_proj_bias");
  Tensor kv = linear(Var(memory), slice(w, 0, D_, 3 * D_), slice(b, 0, D_, 3 * D_)).value();  // [B, S, 2D]
  KVCache c;
  c.k = kv.slice(2, 0, D_).contiguous();
  c.v = kv.slice(2, D_, 2 * D_).contiguous();
  c.len = memory.size(1);
  return c;
}

// q = x_new·W_qᵀ + b_q;  out = out_proj(attention(q, k_mem, v_mem; key_padding))
Tensor MultiheadAttention::attend_memory(const Tensor& x_new, const KVCache& memory, const Tensor& key_padding) {
  NoGradGuard ng;
  RC_CHECK(x_new.dim() == 3 && x_new.size(2) == D_, "MultiheadAttention::attend_memory", "input must be [B, t, ", D_,
           "], got ", shape_str(x_new.shape()));
  RC_CHECK(memory.k.defined() && memory.k.size(0) == x_new.size(0), "MultiheadAttention::attend_memory",
           "the memory's batch differs from the query's ", x_new.size(0));
  const Var w = parameter("in_proj_weight"), b = parameter("in_proj_bias");
  Tensor q = linear(Var(x_new), slice(w, 0, 0, D_), slice(b, 0, 0, D_)).value();  // [B, t, D]
  AttentionOptions o;
  o.heads = H_;
  o.key_padding = key_padding;
  o.weights = recording();
  Tensor a = attention_inference(q, memory.k.slice(1, 0, memory.len), memory.v.slice(1, 0, memory.len), o);
  return out_proj_->forward(Var(a)).value();
}

}  // namespace recurrent
