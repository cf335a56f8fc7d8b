// MultiheadAttention::set_record (nn/attention.h): the weights P [B, H, Tq, Tk] each call's attention op
// computed. Checked: every visible row sums to 1, masked keys (causal, padding) get 0, and P is what
// the forward used — P·V through the output projection gives the module's output — for the packed
// self-attention, the cross-attention, the KV-cache step (rows equal the full causal forward's) and
// attend_memory (equal to forward on the memory).
#include <gtest/gtest.h>

#include <cmath>

#include "nn/rnn_test_util.h"
#include "recurrent/nn/attention.h"

using namespace recurrent;
using namespace recurrent::testing;

namespace {

constexpr int64_t D = 8, H = 2, dh = D / H;

// out[b, i, :] = out_proj(Σ_j P[b, h, i, j] v[b, j, h-th head]), v = value·W_vᵀ + b_v (batch-first).
Tensor from_weights(MultiheadAttention& m, const Tensor& P, const Tensor& value) {
  const int64_t B = P.size(0), Tq = P.size(2), Tk = P.size(3);
  const float* w = m.parameter("in_proj_weight").value().data() + 2 * D * D;
  const float* bv = m.parameter("in_proj_bias").value().data() + 2 * D;
  const Tensor& wo = m.parameter("out_proj.weight").value();
  const Tensor& bo = m.parameter("out_proj.bias").value();
  Tensor out({B, Tq, D});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < Tq; ++i) {
      std::vector<double> mix(D, 0.0);
      for (int64_t j = 0; j < Tk; ++j) {
        const float* x = value.data() + (b * Tk + j) * D;
        for (int64_t c = 0; c < D; ++c) {
          double v = bv[c];
          for (int64_t k = 0; k < D; ++k) v += static_cast<double>(w[c * D + k]) * x[k];
          mix[c] += P.data()[((b * H + c / dh) * Tq + i) * Tk + j] * v;
        }
      }
      for (int64_t o = 0; o < D; ++o) {
        double acc = bo.data()[o];
        for (int64_t c = 0; c < D; ++c) acc += wo.data()[o * D + c] * mix[c];
        out.data()[(b * Tq + i) * D + o] = static_cast<float>(acc);
      }
    }
  return out;
}

void expect_near(const Tensor& a, const Tensor& b, float tol) {
  ASSERT_EQ(a.numel(), b.numel());
  const Tensor x = a.contiguous(), y = b.contiguous();
  for (int64_t k = 0; k < a.numel(); ++k) EXPECT_NEAR(x.data()[k], y.data()[k], tol) << k;
}

TEST(AttentionRecord, SelfAttentionWeightsAreTheForwardsCausalAndPadded) {
  Rng rng(3);
  MultiheadAttention m(D, H, 0.0f, true, rng);
  m.eval();
  const int64_t B = 2, T = 5;
  Tensor x = random_tensor({B, T, D}, rng);
  AttentionMasks mask;
  mask.causal = true;
  mask.key_padding = Tensor({B, T});
  mask.key_padding.data()[T + 4] = 1.0f;  // sequence 1's last step is padding
  auto rec = std::make_shared<std::vector<Tensor>>();
  m.set_record(rec);
  const Tensor y = m.self_attention(Var(x), mask).value();
  m.set_record(nullptr);
  m.self_attention(Var(x), mask);
  ASSERT_EQ(rec->size(), 1u);  // detached: the second call recorded nothing
  const Tensor& P = (*rec)[0];
  ASSERT_EQ(P.shape(), (Shape{B, H, T, T}));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < T; ++i) {
        double s = 0;
        for (int64_t j = 0; j < T; ++j) {
          const float p = P.data()[((b * H + h) * T + i) * T + j];
          if (j > i || (b == 1 && j == 4)) {
            EXPECT_EQ(p, 0.0f) << b << h << i << j;
          }
          s += p;
        }
        EXPECT_NEAR(s, 1.0, 1e-5);
      }
  expect_near(from_weights(m, P, x), y, 1e-4f);
}

TEST(AttentionRecord, CrossAttentionAndTheInferencePathsRecordTheSameWeights) {
  Rng rng(4);
  MultiheadAttention m(D, H, 0.0f, true, rng);
  m.eval();
  const int64_t T = 4, S = 6;
  Tensor q = random_tensor({1, T, D}, rng), mem = random_tensor({1, S, D}, rng);
  AttentionMasks mask;
  mask.key_padding = Tensor({1, S});
  auto rec = std::make_shared<std::vector<Tensor>>();
  m.set_record(rec);
  const Tensor y = m.forward(Var(q), Var(mem), Var(mem), mask).value();
  expect_near(from_weights(m, (*rec)[0], mem), y, 1e-4f);
  m.attend_memory(q, m.project_memory(mem), mask.key_padding);  // the decoder's cached cross-attention
  ASSERT_EQ(rec->size(), 2u);
  expect_near((*rec)[1], (*rec)[0], 1e-6f);
  // The KV-cache path, one step at a time: each step's row equals the full causal forward's row.
  rec->clear();
  AttentionMasks causal;
  causal.causal = true;
  m.self_attention(Var(q), causal);
  KVCache cache;
  for (int64_t t = 0; t < T; ++t) m.step(q.slice(1, t, t + 1).contiguous(), cache, T);
  ASSERT_EQ(rec->size(), 1u + T);
  const Tensor& full = (*rec)[0];
  for (int64_t t = 0; t < T; ++t) {
    const Tensor& row = (*rec)[1 + t];
    ASSERT_EQ(row.shape(), (Shape{1, H, 1, t + 1}));
    for (int64_t h = 0; h < H; ++h)
      for (int64_t j = 0; j <= t; ++j) EXPECT_NEAR(row.data()[h * (t + 1) + j], full.data()[(h * T + t) * T + j], 1e-6);
  }
}

}  // namespace
