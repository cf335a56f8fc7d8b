// recurrent/nn/attention.h — multi-head attention with PyTorch's parameter names, and the
// key/value cache used for generation.
//
// Dimension legend: B batch, Tq query steps, Tk key steps, D = embed_dim, H heads, dh = D/H.
//
//   MultiheadAttention (PyTorch 1.13 nn.MultiheadAttention with need_weights=False, kdim = vdim = D):
//     in_proj_weight [3D, D] = W_q | W_k | W_v stacked,  in_proj_bias [3D],
//     out_proj.weight [D, D], out_proj.bias [D]     — a PyTorch state_dict loads as is
//     q = query·W_qᵀ + b_q,  k = key·W_kᵀ + b_k,  v = value·W_vᵀ + b_v
//     out = attention(q, k, v; heads, masks, dropout) · W_oᵀ + b_o     (autograd/attention.h)
//   Self-attention (query = key = value = x) runs ONE projection x·in_proj_weightᵀ [.., 3D] and the
//   packed attention op on it (no split, no concat).
//   Inputs are [B, T, D] when batch_first, else [T, B, D] (PyTorch's default layout).
//   Init as PyTorch: in_proj_weight Xavier-uniform, out_proj.weight U(±1/√D), both biases 0.
//
//   KVCache: per attention layer, the projected keys and values of every step so far, stored
//   [B, capacity, D] (batch-first whatever the module's layout). step() projects only the new
//   steps, appends their k and v, and attends over the cache (causal, bottom-right aligned), so a
//   generated token costs O(D² + t·D) per layer instead of re-running all t steps.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "recurrent/autograd/attention.h"
#include "recurrent/core/rng.h"
#include "recurrent/nn/module.h"

namespace recurrent {

// Masks of one attention call (see autograd/attention.h for the semantics).
struct AttentionMasks {
  Tensor key_padding;  // [B, Tk], nonzero = padding (PyTorch key_padding_mask with True = ignore)
  Tensor attn_mask;    // [Tq, Tk] additive float mask (−inf blocks)
  bool causal = false; // key j visible to query i iff j ≤ i + (Tk − Tq)
};

namespace nn_detail {
// y = x·Wᵀ + b with PyTorch's Linear names (weight [O, I], bias [O]) and init U(±1/√I).
// Private to the transformer modules until the shared nn Linear module lands.
class Affine : public Module {
 public:
  Affine(int64_t in, int64_t out, bool bias, Rng& rng);
  Var forward(const Var& x) const;
  Var weight() const { return parameter("weight"); }
};
// PyTorch LayerNorm(D): weight [D] = 1, bias [D] = 0, eps 1e-5.
class Norm : public Module {
 public:
  explicit Norm(int64_t dim, float eps = 1e-5f);
  Var forward(const Var& x) const;

 private:
  float eps_;
};
}  // namespace nn_detail

struct KVCache {
  Tensor k, v;           // [B, capacity, D]
  int64_t len = 0;       // steps stored
  int64_t capacity() const { return k.defined() ? k.size(1) : 0; }
};

class MultiheadAttention : public Module {
 public:
  MultiheadAttention(int64_t embed_dim, int64_t num_heads, float dropout, bool batch_first, Rng& rng);

  // query [B, Tq, D], key/value [B, Tk, D] (or time-first) -> [B, Tq, D].
  Var forward(const Var& query, const Var& key, const Var& value, const AttentionMasks& m = {});
  Var self_attention(const Var& x, const AttentionMasks& m = {});

  // Inference (no tape): x_new [B, t, D] batch-first; appends t steps to the cache (allocated with
  // `capacity` steps on first use) and returns [B, t, D] attending causally over all cached steps.
  Tensor step(const Tensor& x_new, KVCache& cache, int64_t capacity);
  // Inference (no tape) cross-attention against a fixed memory [B, S, D] (batch-first): project_memory()
  // projects it once into keys and values (len = capacity = S); attend_memory() projects only the
  // queries x_new [B, t, D] and attends over the S memory steps, key_padding [B, S] (nonzero =
  // padding) masked -> [B, t, D]. Equals forward(x_new, memory, memory, {key_padding}) in eval mode.
  KVCache project_memory(const Tensor& memory);
  Tensor attend_memory(const Tensor& x_new, const KVCache& memory, const Tensor& key_padding);

  int64_t embed_dim() const { return D_; }
  int64_t num_heads() const { return H_; }
  Rng& dropout_rng() { return rng_; }
  // Attention maps (the explorer, docs/explore.md): while a record is attached, every call above appends
  // the weights its attention op computed, P [B, H, Tq, Tk] (AttentionOptions::weights), to it; null detaches.
  void set_record(std::shared_ptr<std::vector<Tensor>> record) { record_ = std::move(record); }

 private:
  AttentionOptions options(const AttentionMasks& m);
  Tensor* recording() { return record_ ? &record_->emplace_back() : nullptr; }  // the next call's P, or null
  std::shared_ptr<std::vector<Tensor>> record_;
  int64_t D_, H_;
  float dropout_;
  bool batch_first_;
  std::shared_ptr<nn_detail::Affine> out_proj_;
  Rng rng_;  // seeds of the attention-dropout masks, one draw per training call
};

}  // namespace recurrent
