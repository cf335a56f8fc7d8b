// recurrent/nn/transformer.h — positional encodings, transformer encoder / decoder layers (PyTorch
// 1.13 names and semantics) and a GPT-style causal language-model body with a key/value cache.
//
// Dimension legend: B batch, T steps (S: memory steps), D = d_model, F = dim_feedforward,
// H heads, V vocabulary, C context (maximum positions), N layers.
//
// TransformerEncoderLayer (nn.TransformerEncoderLayer(D, H, F, dropout, activation, norm_first)):
//   norm_first (pre-LN, the default here; Xiong et al. 2020, GPT-2):
//     x = x + drop1(self_attn(norm1(x)));   x = x + drop2(linear2(drop(act(linear1(norm2(x))))))
//   post-LN (Vaswani et al. 2017, PyTorch's default):
//     x = norm1(x + drop1(self_attn(x)));   x = norm2(x + drop2(linear2(drop(act(linear1(x))))))
//   names: self_attn.{in_proj_weight, in_proj_bias, out_proj.weight, out_proj.bias},
//          linear1.{weight [F, D], bias}, linear2.{weight [D, F], bias}, norm1.*, norm2.* ([D])
// TransformerDecoderLayer (nn.TransformerDecoderLayer, same options), with memory [B, S, D]:
//     x = x + drop1(self_attn(norm1(x)));  x = x + drop2(multihead_attn(norm2(x), memory, memory));
//     x = x + drop3(ff(norm3(x)))                         (pre-LN; post-LN as for the encoder)
//   names: self_attn.*, multihead_attn.*, linear1.*, linear2.*, norm1.*, norm2.*, norm3.*
// Positional encodings (added to the token embeddings, no √D scaling): sinusoidal (Vaswani et al. §3.5, PE[p, 2i] = sin(p / 10000^{2i/D}),
//   PE[p, 2i+1] = cos(·)), a constant; or learned, a parameter [C, D] initialised N(0, 0.02²) (GPT-2).
// TransformerLM (GPT-style; Radford et al. 2019): tokens [B, T] ->
//     h = drop(tok_emb[tokens] + pos(0..T−1));  h = layer_n(h, causal) for n < N;  logits = head(norm(h))
//   names: tok_emb.weight [V, D] ~ N(0, 0.02²), pos_emb.weight [C, D] (learned only), layers.{n}.*
//   (encoder-layer names above), norm.{weight, bias}, head.weight [V, D] (absent when tied to
//   tok_emb.weight; no bias either way). GPT-2 also scales the init of the residual output
//   projections by 1/√(2N); we keep PyTorch's layer defaults so a layer matches nn.* as constructed.
//   Causal self-attention layers are encoder layers with the causal mask (a decoder without
//   cross-attention). Generation: forward_cached() runs only the new steps against a KV cache.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "recurrent/nn/attention.h"

namespace recurrent {

enum class Activation { gelu, relu };

namespace nn_detail {
// A lookup table with one parameter "weight" [N, D] (token or learned position embeddings).
class Table : public Module {
 public:
  Table(int64_t rows, int64_t dim, float stddev, Rng& rng);
  Var weight() const { return parameter("weight"); }
};
// Numbered children "0", "1", … (PyTorch's nn.ModuleList naming).
class ModuleList : public Module {
 public:
  template <typename M>
  std::shared_ptr<M> add(std::shared_ptr<M> m) {
    return register_module(std::to_string(size_++), std::move(m));
  }

 private:
  int64_t size_ = 0;
};
}  // namespace nn_detail
enum class PositionalKind { learned, sinusoidal };

// [T, D] sinusoidal table for positions offset .. offset + T − 1 (computed in double).
Tensor sinusoidal_positions(int64_t T, int64_t D, int64_t offset = 0);

struct TransformerLayerOptions {
  int64_t d_model = 64, heads = 4, ff = 256;
  float dropout = 0.1f;
  Activation activation = Activation::gelu;
  bool norm_first = true;
  bool batch_first = true;
  float layer_norm_eps = 1e-5f;
};

class TransformerEncoderLayer : public Module {
 public:
  TransformerEncoderLayer(const TransformerLayerOptions& o, Rng& rng);
  Var forward(const Var& x, const AttentionMasks& m = {});
  // Inference on new steps x_new [B, t, D] (batch-first) with a causal KV cache (pre-LN or post-LN).
  Tensor forward_cached(const Tensor& x_new, KVCache& cache, int64_t capacity);
  const TransformerLayerOptions& options() const { return o_; }
  Rng& dropout_rng() { return rng_; }
  MultiheadAttention& self_attn() { return *self_attn_; }

 private:
  friend class TransformerDecoderLayer;
  Var feed_forward(const Var& x);
  TransformerLayerOptions o_;
  std::shared_ptr<MultiheadAttention> self_attn_;
  std::shared_ptr<nn_detail::Affine> linear1_, linear2_;
  std::shared_ptr<nn_detail::Norm> norm1_, norm2_;
  Rng rng_;  // residual and feed-forward dropout masks
};

class TransformerDecoderLayer : public Module {
 public:
  TransformerDecoderLayer(const TransformerLayerOptions& o, Rng& rng);
  // x [B, T, D], memory [B, S, D]; self_masks on x (usually causal), memory_masks on memory keys.
  Var forward(const Var& x, const Var& memory, const AttentionMasks& self_masks = {},
              const AttentionMasks& memory_masks = {});
  // Inference on new steps x_new [B, t, D]: causal self-attention over a KV cache (capacity steps),
  // cross-attention over memory keys/values from project_memory(memory [B, S, D]), padding [B, S]
  // (nonzero = padding). Equals forward() in eval mode on the whole prefix, restricted to the new steps.
  Tensor forward_cached(const Tensor& x_new, KVCache& cache, int64_t capacity, const KVCache& memory,
                        const Tensor& memory_padding);
  KVCache project_memory(const Tensor& memory) { return cross_attn_->project_memory(memory); }
  const TransformerLayerOptions& options() const { return o_; }
  Rng& dropout_rng() { return rng_; }
  MultiheadAttention& self_attn() { return *self_attn_; }
  MultiheadAttention& cross_attn() { return *cross_attn_; }

 private:
  Var feed_forward(const Var& x);
  TransformerLayerOptions o_;
  std::shared_ptr<MultiheadAttention> self_attn_, cross_attn_;
  std::shared_ptr<nn_detail::Affine> linear1_, linear2_;
  std::shared_ptr<nn_detail::Norm> norm1_, norm2_, norm3_;
  Rng rng_;
};

struct TransformerLMOptions {
  int64_t vocab = 0, context = 256, layers = 2, d_model = 128, heads = 4, ff = 512;
  float dropout = 0.1f;
  PositionalKind positional = PositionalKind::learned;
  bool tie_embeddings = true;
  Activation activation = Activation::gelu;
};

// Per-layer caches of one generation stream (all layers share len). Copies share storage (Tensor
// semantics); clone() gives an independent cache (e.g. one per beam).
struct LMCache {
  std::vector<KVCache> layers;
  int64_t len() const { return layers.empty() ? 0 : layers[0].len; }
  void clear() { layers.clear(); }
  LMCache clone() const;
};

class TransformerLM : public Module {
 public:
  TransformerLM(const TransformerLMOptions& o, Rng& rng);
  // tokens: B·T ids, row-major [B, T] -> logits [B, T, V]. T ≤ context.
  Var forward(const std::vector<int64_t>& tokens, int64_t B, int64_t T);
  // Inference: appends B·t new tokens ([B, t]) to the cache; returns logits [B, t, V] of the new
  // steps. cache.len() + t ≤ context (the caller slides the window by re-running a suffix).
  Tensor forward_cached(const std::vector<int64_t>& tokens, int64_t B, int64_t t, LMCache& cache);
  // The RNN language model's layout: ids [T, B] time-major -> logits [T, B, V] (T ≤ context).
  // Each column is an independent window starting at position 0 (no state crosses calls).
  Var forward_time_major(const std::vector<int64_t>& ids, int64_t T, int64_t B);
  const TransformerLMOptions& options() const { return o_; }
  // Every dropout stream (embedding, then per layer: residual/feed-forward, attention), in a fixed
  // order: what a training checkpoint saves so that a resumed run draws the same masks.
  std::vector<Rng*> dropout_rngs();

 private:
  Var embed(const std::vector<int64_t>& tokens, int64_t B, int64_t T, int64_t offset);
  Var logits(const Var& h);
  TransformerLMOptions o_;
  std::shared_ptr<nn_detail::Table> tok_emb_, pos_emb_;  // pos_emb_ only when learned
  std::vector<std::shared_ptr<TransformerEncoderLayer>> layers_;
  std::shared_ptr<nn_detail::Norm> norm_;
  std::shared_ptr<nn_detail::Affine> head_;  // only when not tied
  Rng rng_;
};

// One generation stream of batch 1 over an unbounded token sequence, for samplers written against
// a step-by-step model (an RNN's "feed a token, get the next distribution"): feed() appends tokens
// and returns the logits [V] after the last one, through the KV cache; when the context is full, the
// window slides by re-running the last context/2 tokens (so a token costs O(t) amortised, t ≤ C).
// clone() forks the stream (beam search).
class TransformerStream {
 public:
  explicit TransformerStream(TransformerLM& lm) : lm_(&lm) {}
  Tensor feed(const std::vector<int64_t>& tokens);  // tokens non-empty -> logits [V]
  int64_t position() const { return static_cast<int64_t>(window_.size()); }
  TransformerStream clone() const;

 private:
  TransformerLM* lm_;
  LMCache cache_;
  std::vector<int64_t> window_;  // the tokens the cache holds
};

}  // namespace recurrent
