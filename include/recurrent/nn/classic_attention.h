// recurrent/nn/classic_attention.h — the attention of RNN encoder-decoders: additive (Bahdanau) and
// multiplicative (Luong) scores, composed from tape ops (each op gradient-checked on its own), with
// the same masks as the multi-head attention (nn/attention.h: key padding, causal, additive).
//
// Dimension legend: B batch, Tq query steps (decoder steps; 1 when decoding step by step),
// S key/value steps (encoder steps), Dq query width, Dk key width, Dv value width, A attention width.
//
//   scores e [B, Tq, S];   α = softmax_S(e + mask);   context = α · values   [B, Tq, Dv]
//   AdditiveAttention (Bahdanau, Cho & Bengio 2015, eq. 6 "concat" in Luong et al. 2015):
//     e_ij = vᵀ tanh(W_q q_i + W_k k_j + b)
//     names: query_proj.weight [A, Dq], key_proj.weight [A, Dk], key_proj.bias [A], v.weight [1, A]
//     Memory: the tanh argument is [B, Tq, S, A] (materialised; fine for the usual Tq = 1 decoding).
//     project_keys() computes W_k k + b once per source sequence; attend() reuses it every step.
//   MultiplicativeAttention (Luong, Pham & Manning 2015, §3.1):
//     dot:      e_ij = q_i · k_j                       (Dq = Dk)
//     general:  e_ij = q_iᵀ W_a k_j,  name weight [Dk, Dq]  (computed as (W_a q_i) · k_j)
//     scaled:   e_ij ·= 1/√Dk when asked (Vaswani et al. 2017's fix for large Dk)
// Masked keys get −inf before the softmax (a row with every key masked is not allowed here: unlike
// the fused op, softmax over nothing is undefined; the caller always keeps ≥ 1 real source step).
// Init: PyTorch Linear's U(±1/√fan_in) for every weight and bias.
#pragma once

#include <cstdint>
#include <memory>

#include "recurrent/nn/attention.h"

namespace recurrent {

struct AttentionResult {
  Var context;  // [B, Tq, Dv]
  Var weights;  // α [B, Tq, S] (for inspection and plots; part of the tape)
};

// [B, Tq, S] additive mask: 0 where visible, −inf where padding or (causal) j > i + (S − Tq), plus
// m.attn_mask [Tq, S] if given. Undefined when m has no mask at all.
Tensor attention_mask_tensor(const AttentionMasks& m, int64_t B, int64_t Tq, int64_t S);

class AdditiveAttention : public Module {
 public:
  AdditiveAttention(int64_t query_dim, int64_t key_dim, int64_t attn_dim, Rng& rng);
  // keys [B, S, Dk] -> W_k k + b  [B, S, A]
  Var project_keys(const Var& keys) const;
  // query [B, Tq, Dq], projected keys [B, S, A], values [B, S, Dv]
  AttentionResult attend(const Var& query, const Var& projected_keys, const Var& values,
                         const AttentionMasks& m = {}) const;
  AttentionResult forward(const Var& query, const Var& keys, const Var& values, const AttentionMasks& m = {}) const {
    return attend(query, project_keys(keys), values, m);
  }
};

enum class LuongScore { dot, general };

class MultiplicativeAttention : public Module {
 public:
  MultiplicativeAttention(LuongScore score, int64_t query_dim, int64_t key_dim, bool scaled, Rng& rng);
  // query [B, Tq, Dq], keys [B, S, Dk], values [B, S, Dv]
  AttentionResult forward(const Var& query, const Var& keys, const Var& values, const AttentionMasks& m = {}) const;

 private:
  LuongScore score_;
  int64_t key_dim_;
  bool scaled_;
};

}  // namespace recurrent
