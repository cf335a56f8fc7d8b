// Transformer modules (recurrent/nn/attention.h, transformer.h): finite-difference checks of the
// encoder / decoder layers (inputs and every parameter), the key/value cache against the full
// forward, positional encodings, dropout determinism and the parameter names PyTorch uses.
// PyTorch parity on checked-in fixtures: test_attention_pytorch.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>

#include "autograd/gradcheck.h"
#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/nn/transformer.h"
#include "recurrent/optim/adam.h"

using namespace recurrent;
using namespace recurrent::testing;

namespace {

// Finite differences on module parameters (the harness differentiates w.r.t. its own inputs; a
// module's parameters live inside it): for up to `per_param` elements of every parameter, spread
// over the tensor, compare the tape gradient of L = Σ w ⊙ f() with the central difference.
// Tolerance as gradcheck.h (h = 1e-2, O(1) values, fan-out ≲ 50).
::testing::AssertionResult params_gradcheck_transformer(Module& m, const std::function<Var()>& f, int per_param = 7,
                                            double atol = 2e-3, double rtol = 1e-2) {
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
    const int64_t n = p.value().numel(), step = std::max<int64_t>(1, n / per_param);
    for (int64_t j = (n > 1 ? 1 : 0); j < n; j += step) {
      const float x0 = x[j], xp = x0 + 1e-2f, xm = x0 - 1e-2f;
      x[j] = xp;
      const double lp = loss();
      x[j] = xm;
      const double lm = loss();
      x[j] = x0;
      const double num = (lp - lm) / (static_cast<double>(xp) - xm), ana = g.data()[j];
      if (!(std::fabs(num - ana) <= atol + rtol * std::fabs(num)))
        return ::testing::AssertionFailure() << name << " flat " << j << ": analytic " << ana << ", numeric " << num;
    }
  }
  return ::testing::AssertionSuccess();
}

TransformerLayerOptions small_layer(bool norm_first, Activation act, bool batch_first) {
  TransformerLayerOptions o;
  o.d_model = 6;
  o.heads = 2;
  o.ff = 10;
  o.dropout = 0.0f;
  o.activation = act;
  o.norm_first = norm_first;
  o.batch_first = batch_first;
  return o;
}

AttentionMasks padded_causal(int64_t B, int64_t T) {
  AttentionMasks m;
  m.causal = true;
  m.key_padding = Tensor({B, T});
  m.key_padding.at({B - 1, T - 1}) = 1.0f;  // last batch entry: its last step is padding
  return m;
}

// GELU only: relu's kink makes a difference quotient meaningless whenever one of the 80 hidden
// pre-activations lies within h of 0, which a perturbation of the input moves through layer norm
// and attention (seen in practice). The relu feed-forward is matched against PyTorch instead
// (test_attention_pytorch.cpp, post-LN relu fixture), and relu itself is gradchecked as an op.
TEST(TransformerEncoderLayer, GradcheckInputsAndParameters) {
  for (bool pre : {true, false}) {
    SCOPED_TRACE(pre ? "pre-LN" : "post-LN");
    Rng rng(21);
    TransformerEncoderLayer layer(small_layer(pre, Activation::gelu, true), rng);
    const AttentionMasks m = padded_causal(2, 4);
    auto f = [&](const std::vector<Var>& v) { return layer.forward(v[0], m); };
    Tensor x = random_tensor({2, 4, 6}, rng);
    EXPECT_TRUE(gradcheck_ok(f, {x}));
    EXPECT_TRUE(params_gradcheck_transformer(layer, [&] { return layer.forward(Var(x), m); }));
  }
}

TEST(TransformerDecoderLayer, GradcheckInputsAndParameters) {
  for (bool pre : {true, false}) {
    SCOPED_TRACE(pre ? "pre-LN" : "post-LN");
    Rng rng(22);
    TransformerDecoderLayer layer(small_layer(pre, Activation::gelu, false), rng);  // time-first
    AttentionMasks self_m;
    self_m.causal = true;
    AttentionMasks mem_m;
    mem_m.key_padding = Tensor({2, 5});
    mem_m.key_padding.at({0, 4}) = 1.0f;
    auto f = [&](const std::vector<Var>& v) { return layer.forward(v[0], v[1], self_m, mem_m); };
    Tensor x = random_tensor({3, 2, 6}, rng), mem = random_tensor({5, 2, 6}, rng);
    EXPECT_TRUE(gradcheck_ok(f, {x, mem}));
    EXPECT_TRUE(params_gradcheck_transformer(layer, [&] { return layer.forward(Var(x), Var(mem), self_m, mem_m); }));
  }
}

TEST(MultiheadAttention, SelfAttentionPathEqualsSeparateProjections) {
  Rng rng(3);
  MultiheadAttention a(8, 2, 0.0f, true, rng);
  Tensor x = random_tensor({2, 5, 8}, rng);
  AttentionMasks m = padded_causal(2, 5);
  Var packed = a.self_attention(Var(x), m);
  Var sep = a.forward(Var(x), Var(x.clone()), Var(x.clone()), m);  // different nodes: three projections
  EXPECT_TRUE(tensor_near(packed.value(), sep.value(), 1e-6, 1e-5));
  auto names = a.named_parameters();
  ASSERT_EQ(names.size(), 4u);
  EXPECT_EQ(names[0].first, "in_proj_weight");
  EXPECT_EQ(names[2].first, "out_proj.weight");
}

TEST(PositionalEncoding, SinusoidalTable) {
  Tensor pe = sinusoidal_positions(5, 6, 3);
  for (int64_t t = 0; t < 5; ++t)
    for (int64_t i = 0; i < 3; ++i) {
      const double p = 3 + t, w = std::pow(10000.0, -2.0 * i / 6.0);
      EXPECT_NEAR(pe.at({t, 2 * i}), std::sin(p * w), 1e-7);
      EXPECT_NEAR(pe.at({t, 2 * i + 1}), std::cos(p * w), 1e-7);
    }
  Tensor odd = sinusoidal_positions(2, 5);
  EXPECT_NEAR(odd.at({1, 4}), std::sin(1.0 * std::pow(10000.0, -4.0 / 5.0)), 1e-7);
}

TransformerLMOptions small_lm(PositionalKind pos, bool tie) {
  TransformerLMOptions o;
  o.vocab = 11;
  o.context = 12;
  o.layers = 2;
  o.d_model = 8;
  o.heads = 2;
  o.ff = 16;
  o.dropout = 0.1f;
  o.positional = pos;
  o.tie_embeddings = tie;
  return o;
}

std::vector<int64_t> random_tokens(int64_t n, int64_t V, Rng& rng) {
  std::vector<int64_t> t(static_cast<size_t>(n));
  for (auto& x : t) x = static_cast<int64_t>(rng.below(static_cast<uint64_t>(V)));
  return t;
}

// Generation with the cache (a prompt of 4, then one token at a time) gives the logits of the full
// causal forward at every position: same weights, same positions, causal masking makes the past
// independent of the future.
TEST(TransformerLM, KVCacheEqualsFullForward) {
  for (PositionalKind pos : {PositionalKind::learned, PositionalKind::sinusoidal})
    for (bool tie : {true, false}) {
      SCOPED_TRACE(std::string(pos == PositionalKind::learned ? "learned" : "sinusoidal") + (tie ? " tied" : ""));
      Rng rng(4);
      TransformerLM lm(small_lm(pos, tie), rng);
      lm.eval();
      const int64_t B = 2, T = 12;
      std::vector<int64_t> tok = random_tokens(B * T, 11, rng);
      Tensor full = lm.forward(tok, B, T).value();  // [B, T, V]
      LMCache cache;
      auto cols = [&](int64_t t0, int64_t t1) {
        std::vector<int64_t> out;
        for (int64_t b = 0; b < B; ++b)
          for (int64_t t = t0; t < t1; ++t) out.push_back(tok[static_cast<size_t>(b * T + t)]);
        return out;
      };
      Tensor first = lm.forward_cached(cols(0, 4), B, 4, cache);
      EXPECT_TRUE(tensor_near(first, full.slice(1, 0, 4), 2e-6, 1e-5));
      for (int64_t t = 4; t < T; ++t) {
        Tensor step = lm.forward_cached(cols(t, t + 1), B, 1, cache);
        EXPECT_TRUE(tensor_near(step, full.slice(1, t, t + 1), 2e-6, 1e-5)) << "step " << t;
      }
      EXPECT_EQ(cache.len(), T);
      EXPECT_THROW(lm.forward_cached(cols(0, 1), B, 1, cache), Error);  // context exhausted
      EXPECT_EQ(lm.has_parameter("head.weight"), !tie);
      EXPECT_EQ(lm.has_parameter("pos_emb.weight"), pos == PositionalKind::learned);
    }
}

// Causality of the trained path: changing a future token leaves earlier logits bit-identical.
TEST(TransformerLM, FutureTokensDoNotLeakBackwards) {
  Rng rng(5);
  TransformerLM lm(small_lm(PositionalKind::learned, true), rng);
  lm.eval();
  std::vector<int64_t> a = random_tokens(10, 11, rng), b = a;
  b[7] = (b[7] + 1) % 11;
  Tensor la = lm.forward(a, 1, 10).value(), lb = lm.forward(b, 1, 10).value();
  for (int64_t t = 0; t < 10; ++t)
    for (int64_t v = 0; v < 11; ++v) {
      if (t < 7) {
        ASSERT_EQ(la.at({0, t, v}), lb.at({0, t, v})) << "t " << t;
      }
    }
  EXPECT_NE(la.at({0, 7, 0}), lb.at({0, 7, 0}));
}

// Training mode: dropout masks come from the module's seeded streams — same seed, same loss and
// gradient; the loss differs from eval mode; and the LM's gradient passes a spot finite-difference
// check in eval mode (dropout off), through the embedding, all layers and the tied head.
TEST(TransformerLM, DropoutIsSeededAndGradientsCheck) {
  auto run = [](bool training) {
    Rng rng(6);
    TransformerLM lm(small_lm(PositionalKind::learned, true), rng);
    lm.train(training);
    std::vector<int64_t> tok = random_tokens(2 * 6, 11, rng);
    Var l = cross_entropy(lm.forward(tok, 2, 6), random_tokens(12, 11, rng));
    l.backward();
    return std::make_pair(l.value().data()[0], lm.parameter("tok_emb.weight").grad().clone());
  };
  auto [l1, g1] = run(true);
  auto [l2, g2] = run(true);
  auto [l3, g3] = run(false);
  EXPECT_EQ(l1, l2);
  for (int64_t i = 0; i < g1.numel(); ++i) ASSERT_EQ(g1.data()[i], g2.data()[i]) << "flat " << i;
  EXPECT_NE(l1, l3);

  Rng rng(7);
  TransformerLMOptions o = small_lm(PositionalKind::sinusoidal, false);
  o.dropout = 0.0f;
  TransformerLM lm(o, rng);
  std::vector<int64_t> tok = random_tokens(2 * 5, 11, rng);
  EXPECT_TRUE(params_gradcheck_transformer(lm, [&] { return lm.forward(tok, 2, 5); }, 4));
}

// The RNN-LM layout adapter is a transpose of the batch-first forward.
TEST(TransformerLM, TimeMajorForwardIsTheTransposedForward) {
  Rng rng(8);
  TransformerLM lm(small_lm(PositionalKind::learned, true), rng);
  lm.eval();
  const int64_t T = 5, B = 3;
  std::vector<int64_t> tm = random_tokens(T * B, 11, rng), bf(tm.size());
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b) bf[static_cast<size_t>(b * T + t)] = tm[static_cast<size_t>(t * B + b)];
  Tensor a = lm.forward_time_major(tm, T, B).value(), b = lm.forward(bf, B, T).value();
  ASSERT_EQ(a.shape(), (Shape{T, B, 11}));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t j = 0; j < B; ++j)
      for (int64_t v = 0; v < 11; ++v) ASSERT_EQ(a.at({t, j, v}), b.at({j, t, v}));
}

// The stream: up to the context it is the cached forward; past it, the window restarts from the
// last C/2 tokens; a clone continues independently of its original (no shared cache rows).
TEST(TransformerStream, SlidesTheWindowAndClones) {
  Rng rng(9);
  TransformerLM lm(small_lm(PositionalKind::learned, true), rng);  // context 12
  lm.eval();
  const std::vector<int64_t> tok = random_tokens(20, 11, rng);
  auto last_logits = [&](const std::vector<int64_t>& w) {  // full forward over w, last position
    NoGradGuard ng;
    const int64_t n = static_cast<int64_t>(w.size());
    return lm.forward(w, 1, n).value().select(0, 0).select(0, n - 1).contiguous();
  };
  auto span = [&](int64_t from, int64_t to) { return std::vector<int64_t>(tok.begin() + from, tok.begin() + to); };
  TransformerStream s(lm);
  EXPECT_TRUE(tensor_near(s.feed(span(0, 3)), last_logits(span(0, 3)), 2e-6, 1e-5));
  std::unique_ptr<TransformerStream> fork;
  for (int64_t i = 3; i < 12; ++i) {
    if (i == 6) {  // fork at position 6 and feed the fork a different token first
      fork = std::make_unique<TransformerStream>(s.clone());
      std::vector<int64_t> other = span(0, 6);
      other.push_back((tok[6] + 1) % 11);
      EXPECT_TRUE(tensor_near(fork->feed({other.back()}), last_logits(other), 2e-6, 1e-5));
      s.feed({tok[6]});  // writes its own row 6
      other.push_back(tok[7]);
      EXPECT_TRUE(tensor_near(fork->feed({tok[7]}), last_logits(other), 2e-6, 1e-5)) << "the fork saw the original's row";
      continue;
    }
    EXPECT_TRUE(tensor_near(s.feed({tok[i]}), last_logits(span(0, i + 1)), 2e-6, 1e-5)) << i;
  }
  EXPECT_EQ(s.position(), 12);
  // token 12 does not fit: the window becomes tokens 7..12 (the last C/2 = 6)
  EXPECT_TRUE(tensor_near(s.feed({tok[12]}), last_logits(span(7, 13)), 2e-6, 1e-5));
  EXPECT_EQ(s.position(), 6);
  EXPECT_TRUE(tensor_near(s.feed({tok[13]}), last_logits(span(7, 14)), 2e-6, 1e-5));
  EXPECT_THROW(s.feed({}), Error);
}

// End to end: the model learns to use its context. Each sequence repeats a random pattern of
// P = 5 tokens (V = 10), so after the first period the next token is a copy from P − 1 steps back;
// without attention the best loss is ≈ ln 10 = 2.30 nats on every step, with it ((P − 1)/T)·ln 10
// ≈ 0.46 on T = 20 (only the first P − 1 targets are unpredictable). A tiny 1-layer model trained
// 200 Adam steps must get below 1.0 (measured: 0.47).
TEST(TransformerLM, LearnsToCopyFromContext) {
  Rng rng(10);
  TransformerLMOptions o;
  o.vocab = 10;
  o.context = 20;
  o.layers = 1;
  o.d_model = 32;
  o.heads = 2;
  o.ff = 64;
  o.dropout = 0.0f;
  TransformerLM lm(o, rng);
  AdamOptions ao;
  ao.lr = 1e-2;
  Adam opt(lm.parameters(), ao);
  const int64_t B = 16, T = 20, P = 5;
  auto batch = [&](std::vector<int64_t>& in, std::vector<int64_t>& tgt) {
    in.assign(B * T, 0);
    tgt.assign(B * T, 0);
    for (int64_t b = 0; b < B; ++b) {
      int64_t pat[P];
      for (auto& x : pat) x = static_cast<int64_t>(rng.below(10));
      for (int64_t t = 0; t < T; ++t) {
        in[static_cast<size_t>(b * T + t)] = pat[t % P];
        tgt[static_cast<size_t>(b * T + t)] = pat[(t + 1) % P];
      }
    }
  };
  std::vector<int64_t> in, tgt;
  float first = 0.0f, last = 0.0f;
  for (int step = 0; step < 200; ++step) {
    batch(in, tgt);
    Var loss = cross_entropy(lm.forward(in, B, T), tgt);
    lm.zero_grad();
    loss.backward();
    opt.step();
    (step == 0 ? first : last) = loss.value().item();
  }
  EXPECT_GT(first, 2.0f);
  EXPECT_LT(last, 1.0f) << "first loss " << first;
  std::printf("[ measured ] copy task loss: first %.3f, after 200 steps %.3f nats\n", first, last);
}

TEST(Transformer, ErrorsNameTheProblem) {
  Rng rng(1);
  TransformerLayerOptions o = small_layer(true, Activation::gelu, true);
  o.heads = 4;  // 6 not divisible by 4
  EXPECT_THROW(TransformerEncoderLayer(o, rng), Error);
  TransformerLM lm(small_lm(PositionalKind::learned, true), rng);
  EXPECT_THROW(lm.forward(std::vector<int64_t>(13, 0), 1, 13), Error);  // beyond the context of 12
  EXPECT_THROW(lm.forward(std::vector<int64_t>(5, 0), 1, 4), Error);    // B·T mismatch
}

}  // namespace
