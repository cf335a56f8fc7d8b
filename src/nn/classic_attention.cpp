// Additive (Bahdanau) and multiplicative (Luong) attention; contract in
// include/recurrent/nn/classic_attention.h.
#include "recurrent/nn/classic_attention.h"

#include <cmath>
#include <limits>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"

namespace recurrent {

Tensor attention_mask_tensor(const AttentionMasks& m, int64_t B, int64_t Tq, int64_t S) {
  if (!m.causal && !m.key_padding.defined() && !m.attn_mask.defined()) return Tensor();
  const float ninf = -std::numeric_limits<float>::infinity();
  if (m.key_padding.defined())
    RC_CHECK(m.key_padding.shape() == (Shape{B, S}), "attention mask", "key_padding must be [B, S] = [", B, ", ", S,
             "], got ", shape_str(m.key_padding.shape()));
  if (m.attn_mask.defined())
    RC_CHECK(m.attn_mask.shape() == (Shape{Tq, S}), "attention mask", "attn_mask must be [Tq, S] = [", Tq, ", ", S,
             "], got ", shape_str(m.attn_mask.shape()));
  Tensor out({B, Tq, S});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < Tq; ++i) {
      float* row = &out.at({b, i, 0});
      for (int64_t j = 0; j < S; ++j) {
        float v = m.attn_mask.defined() ? m.attn_mask.at({i, j}) : 0.0f;
        if ((m.key_padding.defined() && m.key_padding.at({b, j}) != 0.0f) || (m.causal && j > i + (S - Tq))) v = ninf;
        row[j] = v;
      }
    }
  return out;
}

namespace {

void check_seq(const Var& x, const char* what, const char* where) {
  RC_CHECK(x.value().dim() == 3, where, what, " must be [B, T, width], got ", shape_str(x.shape()));
}

// α = softmax(e + mask), context = α·values
AttentionResult finish(const Var& e, const Var& values, const AttentionMasks& m) {
  const int64_t B = e.size(0), Tq = e.size(1), S = e.size(2);
  Tensor mask = attention_mask_tensor(m, B, Tq, S);
  Var alpha = softmax(mask.defined() ? add(e, Var(mask)) : e);
  return {matmul(alpha, values), alpha};
}

}  // namespace

AdditiveAttention::AdditiveAttention(int64_t query_dim, int64_t key_dim, int64_t attn_dim, Rng& rng) {
  register_module("query_proj", std::make_shared<nn_detail::Affine>(query_dim, attn_dim, false, rng));
  register_module("key_proj", std::make_shared<nn_detail::Affine>(key_dim, attn_dim, true, rng));
  register_module("v", std::make_shared<nn_detail::Affine>(attn_dim, 1, false, rng));
}

Var AdditiveAttention::project_keys(const Var& keys) const {
  check_seq(keys, "keys", "AdditiveAttention");
  return linear(keys, parameter("key_proj.weight"), parameter("key_proj.bias"));
}

// e_ij = vᵀ tanh(W_q q_i + (W_k k_j + b)):  [B, Tq, 1, A] + [B, 1, S, A] -> [B, Tq, S, A] -> [B, Tq, S]
AttentionResult AdditiveAttention::attend(const Var& query, const Var& projected_keys, const Var& values,
                                          const AttentionMasks& m) const {
  check_seq(query, "query", "AdditiveAttention");
  check_seq(values, "values", "AdditiveAttention");
  const int64_t B = query.size(0), Tq = query.size(1), S = projected_keys.size(1), A = projected_keys.size(2);
  RC_CHECK(projected_keys.size(0) == B && values.size(0) == B && values.size(1) == S, "AdditiveAttention",
           "query ", shape_str(query.shape()), ", keys ", shape_str(projected_keys.shape()), " and values ",
           shape_str(values.shape()), " must share B, and keys and values S");
  Var qp = reshape(linear(query, parameter("query_proj.weight")), {B, Tq, 1, A});
  Var t = tanh(add(qp, reshape(projected_keys, {B, 1, S, A})));
  Var e = reshape(linear(t, parameter("v.weight")), {B, Tq, S});
  return finish(e, values, m);
}

MultiplicativeAttention::MultiplicativeAttention(LuongScore score, int64_t query_dim, int64_t key_dim, bool scaled,
                                                 Rng& rng)
    : score_(score), key_dim_(key_dim), scaled_(scaled) {
  if (score == LuongScore::dot)
    RC_CHECK(query_dim == key_dim, "MultiplicativeAttention", "dot scores need query width ", query_dim,
             " == key width ", key_dim, " (use the general score)");
  else
    register_parameter("weight", [&] {  // [Dk, Dq], U(±1/√Dq) as a bias-free Linear(Dq → Dk)
      Tensor w({key_dim, query_dim});
      const float k = 1.0f / std::sqrt(static_cast<float>(query_dim));
      rng.fill_uniform(w, -k, k);
      return w;
    }());
}

// e = (q W_aᵀ) kᵀ [· 1/√Dk]   [B, Tq, S]
AttentionResult MultiplicativeAttention::forward(const Var& query, const Var& keys, const Var& values,
                                                 const AttentionMasks& m) const {
  for (auto [x, what] : {std::pair{&query, "query"}, {&keys, "keys"}, {&values, "values"}})
    check_seq(*x, what, "MultiplicativeAttention");
  RC_CHECK(keys.size(2) == key_dim_, "MultiplicativeAttention", "keys must have width ", key_dim_, ", got ",
           shape_str(keys.shape()));
  Var q = score_ == LuongScore::general ? linear(query, parameter("weight")) : query;
  Var e = matmul(q, keys, false, true);
  if (scaled_) e = scale(e, 1.0f / std::sqrt(static_cast<float>(key_dim_)));
  return finish(e, values, m);
}

}  // namespace recurrent
