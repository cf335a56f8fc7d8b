// Additive (Bahdanau) and multiplicative (Luong) attention (recurrent/nn/classic_attention.h):
// finite differences w.r.t. query, keys, values and every parameter under padding and causal
// masks; masked keys get weight exactly 0; rows of α sum to 1; the dot score equals the fused
// attention op with one head. PyTorch parity: test_attention_pytorch.cpp.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/gradcheck.h"
#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/nn/classic_attention.h"

using namespace recurrent;
using namespace recurrent::testing;

namespace {

// Finite differences on module parameters, as in test_transformer.cpp (gradcheck.h's tolerances).
::testing::AssertionResult params_gradcheck(Module& m, const std::function<Var()>& f) {
  m.zero_grad();
  Var out = f();
  Rng rng(0xF00D);
  Tensor w = random_tensor(out.shape(), rng, -0.5f, 1.5f);
  out.backward(w);
  auto loss = [&] {
    NoGradGuard ng;
    return recurrent::testing::detail::weighted_sum(f().value(), w);
  };
  for (auto& [name, p] : m.named_parameters()) {
    Tensor g = p.grad().contiguous();
    float* x = p.value().data();
    for (int64_t j = 0; j < p.value().numel(); ++j) {
      const float x0 = x[j], xp = x0 + 1e-2f, xm = x0 - 1e-2f;
      x[j] = xp;
      const double lp = loss();
      x[j] = xm;
      const double lm = loss();
      x[j] = x0;
      const double num = (lp - lm) / (static_cast<double>(xp) - xm), ana = g.data()[j];
      if (!(std::fabs(num - ana) <= 2e-3 + 1e-2 * std::fabs(num)))
        return ::testing::AssertionFailure() << name << " flat " << j << ": analytic " << ana << ", numeric " << num;
    }
  }
  return ::testing::AssertionSuccess();
}

// Padding: batch entry 1 has its last 2 of S keys padded.
AttentionMasks masks(bool causal, int64_t B, int64_t S) {
  AttentionMasks m;
  m.causal = causal;
  m.key_padding = Tensor({B, S});
  m.key_padding.at({1, S - 1}) = 1.0f;
  m.key_padding.at({1, S - 2}) = 1.0f;
  return m;
}

void expect_weights_valid(const Tensor& alpha, const AttentionMasks& m) {
  const int64_t B = alpha.size(0), Tq = alpha.size(1), S = alpha.size(2);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < Tq; ++i) {
      double s = 0.0;
      for (int64_t j = 0; j < S; ++j) {
        const bool masked = m.key_padding.at({b, j}) != 0.0f || (m.causal && j > i + (S - Tq));
        if (masked) {
          EXPECT_EQ(alpha.at({b, i, j}), 0.0f) << b << "," << i << "," << j;
        }
        s += alpha.at({b, i, j});
      }
      EXPECT_NEAR(s, 1.0, 1e-6);
    }
}

TEST(AdditiveAttention, GradcheckAndMasks) {
  for (bool causal : {false, true}) {
    SCOPED_TRACE(causal ? "causal" : "padding");
    Rng rng(31);
    AdditiveAttention att(3, 4, 5, rng);
    const AttentionMasks m = masks(causal, 2, 5);
    Tensor q = random_tensor({2, 3, 3}, rng), k = random_tensor({2, 5, 4}, rng), v = random_tensor({2, 5, 2}, rng);
    auto f = [&](const std::vector<Var>& x) { return att.forward(x[0], x[1], x[2], m).context; };
    EXPECT_TRUE(gradcheck_ok(f, {q, k, v}));
    EXPECT_TRUE(params_gradcheck(att, [&] { return att.forward(Var(q), Var(k), Var(v), m).context; }));
    expect_weights_valid(att.forward(Var(q), Var(k), Var(v), m).weights.value(), m);
    // Keys projected once, reused per decoding step: same result step by step.
    Var pk = att.project_keys(Var(k));
    AttentionMasks pad = m;
    pad.causal = false;
    for (int64_t i = 0; i < 3 && !causal; ++i) {
      Tensor one = att.attend(Var(q.slice(1, i, i + 1).contiguous()), pk, Var(v), pad).context.value();
      EXPECT_TRUE(tensor_near(one, att.forward(Var(q), Var(k), Var(v), pad).context.value().slice(1, i, i + 1), 1e-7, 1e-6));
    }
  }
}

TEST(MultiplicativeAttention, GradcheckAllScores) {
  for (LuongScore sc : {LuongScore::dot, LuongScore::general})
    for (bool scaled : {false, true})
      for (bool causal : {false, true}) {
        SCOPED_TRACE(std::string(sc == LuongScore::dot ? "dot" : "general") + (scaled ? " scaled" : "") +
                     (causal ? " causal" : ""));
        Rng rng(32);
        const int64_t Dq = sc == LuongScore::dot ? 4 : 3;
        MultiplicativeAttention att(sc, Dq, 4, scaled, rng);
        const AttentionMasks m = masks(causal, 2, 4);
        Tensor q = random_tensor({2, 4, Dq}, rng), k = random_tensor({2, 4, 4}, rng), v = random_tensor({2, 4, 3}, rng);
        auto f = [&](const std::vector<Var>& x) { return att.forward(x[0], x[1], x[2], m).context; };
        EXPECT_TRUE(gradcheck_ok(f, {q, k, v}));
        if (sc == LuongScore::general) {
          EXPECT_TRUE(params_gradcheck(att, [&] { return att.forward(Var(q), Var(k), Var(v), m).context; }));
        }
        expect_weights_valid(att.forward(Var(q), Var(k), Var(v), m).weights.value(), m);
      }
}

// Scaled dot attention is the fused op with one head (an independent implementation).
TEST(MultiplicativeAttention, ScaledDotEqualsFusedOp) {
  Rng rng(33);
  MultiplicativeAttention att(LuongScore::dot, 4, 4, true, rng);
  AttentionMasks m = masks(true, 2, 6);
  Tensor q = random_tensor({2, 3, 4}, rng), k = random_tensor({2, 6, 4}, rng), v = random_tensor({2, 6, 5}, rng);
  AttentionOptions o;
  o.causal = true;
  o.key_padding = m.key_padding;
  EXPECT_TRUE(tensor_near(att.forward(Var(q), Var(k), Var(v), m).context.value(),
                          attention(Var(q), Var(k), Var(v), o).value(), 1e-6, 1e-5));
}

TEST(ClassicAttention, ErrorsNameTheProblem) {
  Rng rng(1);
  EXPECT_THROW(MultiplicativeAttention(LuongScore::dot, 3, 4, false, rng), Error);
  MultiplicativeAttention g(LuongScore::general, 3, 4, false, rng);
  EXPECT_THROW(g.forward(Var(Tensor({1, 2, 3})), Var(Tensor({1, 2, 5})), Var(Tensor({1, 2, 2}))), Error);
  AdditiveAttention a(3, 4, 5, rng);
  AttentionMasks m;
  m.key_padding = Tensor({1, 3});  // S is 2
  EXPECT_THROW(a.forward(Var(Tensor({1, 2, 3})), Var(Tensor({1, 2, 4})), Var(Tensor({1, 2, 2})), m), Error);
}

}  // namespace
