// recurrent/autograd/attention.h — the transformer ops: scaled dot-product attention (one fused op
// with a hand-written backward) and GELU. Sources: src/autograd/ops_attention.cpp (the tape ops),
// src/autograd/attention_kernel.cpp (the per-head forward/backward), src/autograd/ops_gelu.cpp.
//
// Dimension legend: B batch, Tq query steps, Tk key/value steps, H heads, Dq = H·dh (query and key
// width), Dv = H·dv (value and output width), D model width.
//
// attention(q, k, v):  for every batch entry b and head h (columns [h·dh, (h+1)·dh) of q and k,
// [h·dv, (h+1)·dv) of v and of the output):
//   S = scale · Q_h K_hᵀ + attn_mask            [Tq, Tk]   (scale = 1/√dh unless given)
//   S_ij = −inf where key j is padding (key_padding[b, j] ≠ 0) or, if causal, j > i + (Tk − Tq)
//   P = softmax_rows(S),  P̃ = P ⊙ M / (1 − p)   (attention dropout, M_ij ~ Bernoulli(1 − p))
//   out_h = P̃ V_h                                [Tq, dv]
// That is PyTorch's F.multi_head_attention_forward between the in- and out-projections, with the
// heads split and merged by addressing (no transposes). The causal rule is "bottom-right aligned":
// query i is the (Tk − Tq + i)-th position, so with a key/value cache of Tk − Tq earlier steps the
// queries see exactly their past (Tq == Tk: the usual j ≤ i).
// A row with every key masked gives output 0 and gradient 0 (PyTorch gives NaN).
//
// Memory (what the op keeps for backward): its inputs (alive on the tape anyway), its output and
// one float per (b, h, query) — the row's log-Σ-exp. No [Tq, Tk] score or probability matrix is
// kept: backward recomputes P one block of query rows at a time from Q, K and the log-Σ-exp
// (the recomputation of FlashAttention, Dao et al. 2022), so each thread holds at most two
// [64, Tk] tiles plus a transposed copy of one head's K and V ([dh, Tk], [dv, Tk]). With a causal
// mask a block of rows only computes the keys it can see (about half of Tq·Tk in total). The
// dropout mask is not stored either: it is regenerated from the counter-based RNG (core/rng.h),
// stream (b·H + h)·Tq + i for query row i, one draw per visible key in key order.
#pragma once

#include <cstdint>

#include "recurrent/autograd/var.h"
#include "recurrent/core/tensor.h"

namespace recurrent {

struct AttentionOptions {
  int64_t heads = 1;
  bool batch_first = true;  // q [B, Tq, Dq], k [B, Tk, Dq], v [B, Tk, Dv] -> [B, Tq, Dv]; false: [T, B, ·]
  bool causal = false;      // key j visible to query i iff j ≤ i + (Tk − Tq)
  Tensor key_padding;       // [B, Tk]: nonzero = padding, ignored (PyTorch's key_padding_mask); or undefined
  Tensor attn_mask;         // [Tq, Tk] added to the scaled scores, −inf blocks (PyTorch's float attn_mask)
  float scale = 0.0f;       // 0: 1/√dh
  float dropout = 0.0f;     // on the attention probabilities; the caller passes 0 outside training
  uint64_t dropout_seed = 0;
  // When set, the op also writes the probabilities it computed, P [B, H, Tq, Tk] (before dropout; 0 for
  // the keys a row does not see), into *weights (a new tensor): what attention maps show (explore).
  Tensor* weights = nullptr;
};

// The fused op. q, k, v may be the same Var (self-attention on one tensor).
Var attention(const Var& q, const Var& k, const Var& v, const AttentionOptions& opt);
// Self-attention on a packed projection: qkv [B, T, 3D] (or [T, B, 3D]) holds q | k | v along the
// last dim (PyTorch's in_proj output); -> [B, T, D]. Saves splitting and re-concatenating.
Var attention_packed(const Var& qkv, const AttentionOptions& opt);
// Forward only, no tape, on views of any strides whose last dim is contiguous (e.g. the first t
// steps of a key/value cache [B, T_max, D]). Returns a contiguous [B, Tq, Dv] (or [Tq, B, Dv]).
Tensor attention_inference(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& opt);

// GELU, exact form (PyTorch's default): y = x·Φ(x);  ∂x = g·(Φ(x) + x·φ(x)). Kernel: kernels/gelu.h.
Var gelu(const Var& x);

}  // namespace recurrent
