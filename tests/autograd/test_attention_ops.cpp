// The transformer ops (recurrent/autograd/attention.h): GELU and the fused scaled dot-product
// attention, against a composition of existing tape ops (matmul, softmax, add, concat) and by
// finite differences (gradcheck.h, lopsided loss; each test states its tolerance).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "autograd/gradcheck.h"
#include "recurrent/autograd/attention.h"
#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"

using namespace recurrent;
using namespace recurrent::testing;

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Bit-identical values (tensor_near with atol = rtol = 0 divides 0 by 0).
::testing::AssertionResult same_values(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return ::testing::AssertionFailure() << shape_str(a.shape()) << " vs " << shape_str(b.shape());
  Tensor x = a.contiguous(), y = b.contiguous();
  for (int64_t i = 0; i < x.numel(); ++i)
    if (x.data()[i] != y.data()[i])
      return ::testing::AssertionFailure() << "flat " << i << ": " << x.data()[i] << " vs " << y.data()[i];
  return ::testing::AssertionSuccess();
}

// Additive mask [B, Tq, Tk] equivalent to opt's masks (attn_mask + −inf for padding / causal).
Tensor full_mask(int64_t B, int64_t Tq, int64_t Tk, const AttentionOptions& o) {
  Tensor m({B, Tq, Tk});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < Tq; ++i)
      for (int64_t j = 0; j < Tk; ++j) {
        float v = o.attn_mask.defined() ? o.attn_mask.at({i, j}) : 0.0f;
        if (o.key_padding.defined() && o.key_padding.at({b, j}) != 0.0f) v = kNegInf;
        if (o.causal && j > i + (Tk - Tq)) v = kNegInf;
        m.at({b, i, j}) = v;
      }
  return m;
}

// The same attention composed from existing ops, per head: softmax(scale·Q_h K_hᵀ + mask) V_h.
Var composed_attention(Var q, Var k, Var v, const AttentionOptions& o) {
  if (!o.batch_first) q = transpose(q, 0, 1), k = transpose(k, 0, 1), v = transpose(v, 0, 1);
  const int64_t B = q.size(0), Tq = q.size(1), Tk = k.size(1), H = o.heads;
  const int64_t dh = q.size(2) / H, dv = v.size(2) / H;
  const float scale = o.scale != 0.0f ? o.scale : 1.0f / std::sqrt(static_cast<float>(dh));
  Var mask(full_mask(B, Tq, Tk, o));
  std::vector<Var> heads;
  for (int64_t h = 0; h < H; ++h) {
    Var s = scale * matmul(slice(q, 2, h * dh, (h + 1) * dh), slice(k, 2, h * dh, (h + 1) * dh), false, true);
    heads.push_back(matmul(softmax(s + mask), slice(v, 2, h * dv, (h + 1) * dv)));
  }
  Var out = concat(heads, 2);
  return o.batch_first ? out : transpose(out, 0, 1);
}

struct Case {
  int64_t B, Tq, Tk, H, dh, dv;
  bool batch_first = true, causal = false, padding = false, additive = false;
  float dropout = 0.0f;
};

Shape seq_shape(const Case& c, int64_t T, int64_t width) {
  return c.batch_first ? Shape{c.B, T, width} : Shape{T, c.B, width};
}

AttentionOptions options(const Case& c, Rng& rng) {
  AttentionOptions o;
  o.heads = c.H;
  o.batch_first = c.batch_first;
  o.causal = c.causal;
  o.dropout = c.dropout;
  o.dropout_seed = 1234;
  if (c.padding) {  // batch entry b has its last b keys padded (always ≥ 1 real key)
    o.key_padding = Tensor({c.B, c.Tk});
    for (int64_t b = 0; b < c.B; ++b)
      for (int64_t j = std::max<int64_t>(1, c.Tk - b); j < c.Tk; ++j) o.key_padding.at({b, j}) = 1.0f;
  }
  if (c.additive) o.attn_mask = random_tensor({c.Tq, c.Tk}, rng, -1.0f, 1.0f);
  return o;
}

std::vector<Tensor> qkv_inputs(const Case& c, Rng& rng) {
  return {random_tensor(seq_shape(c, c.Tq, c.H * c.dh), rng, -1.5f, 1.5f),
          random_tensor(seq_shape(c, c.Tk, c.H * c.dh), rng, -1.5f, 1.5f),
          random_tensor(seq_shape(c, c.Tk, c.H * c.dv), rng)};
}

const Case kAttentionCases[] = {
    {2, 3, 3, 1, 4, 4},
    {2, 4, 5, 2, 3, 2, true, false, true, true},
    {3, 4, 4, 3, 2, 3, false, true, true, false},
    {2, 5, 5, 2, 3, 3, true, true, false, true},
    {1, 2, 6, 2, 4, 3, true, true, false, false},   // Tq < Tk: bottom-right causal (a cache of 4 steps)
    {2, 70, 70, 2, 3, 2, true, true, true, false},  // two query blocks of the kernel (64 + 6 rows)
    {2, 67, 9, 1, 5, 4, false, false, true, true},
};

std::string label(const Case& c) {
  std::ostringstream os;
  os << "B" << c.B << " Tq" << c.Tq << " Tk" << c.Tk << " H" << c.H << " dh" << c.dh << " dv" << c.dv
     << (c.batch_first ? " bf" : " tf") << (c.causal ? " causal" : "") << (c.padding ? " pad" : "")
     << (c.additive ? " mask" : "") << (c.dropout > 0 ? " dropout" : "");
  return os.str();
}

TEST(Attention, MatchesComposedOpsForwardAndBackward) {
  for (const Case& c : kAttentionCases) {
    SCOPED_TRACE(label(c));
    Rng rng(11);
    AttentionOptions o = options(c, rng);
    std::vector<Tensor> in = qkv_inputs(c, rng);
    std::vector<Var> a, b;
    for (auto& t : in) a.emplace_back(t.clone(), true), b.emplace_back(t.clone(), true);
    Var fa = attention(a[0], a[1], a[2], o), fb = composed_attention(b[0], b[1], b[2], o);
    // float32 both ways, different summation orders: a few ulps of O(1) values.
    EXPECT_TRUE(tensor_near(fa.value(), fb.value(), 2e-6, 2e-6));
    Tensor seed = random_tensor(fa.shape(), rng);
    fa.backward(seed);
    fb.backward(seed);
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(tensor_near(a[i].grad(), b[i].grad(), 1e-5, 1e-5)) << "input " << i;
  }
}

// Finite differences. Tolerance: gradcheck.h's defaults argue O(1) values and fan-out ≲ 50; a
// score feeds Tk probabilities and each output mixes Tk values, so the fan-out of one k or v
// element is Tq·dv ≲ 30 here: the defaults hold.
TEST(Attention, Gradcheck) {
  for (const Case& c : kAttentionCases) {
    if (c.Tq > 10) continue;  // the 64+ row cases are covered by the comparison above
    SCOPED_TRACE(label(c));
    Rng rng(5);
    AttentionOptions o = options(c, rng);
    auto f = [&](const std::vector<Var>& v) { return attention(v[0], v[1], v[2], o); };
    EXPECT_TRUE(gradcheck_ok(f, qkv_inputs(c, rng)));
  }
}

// Dropout on the probabilities: the mask is regenerated in backward from the counter-based RNG,
// so with a fixed seed the op is a deterministic smooth function and gradchecks like any other.
TEST(Attention, GradcheckWithDropout) {
  for (Case c : {Case{2, 4, 4, 2, 3, 3, true, true, true, false, 0.3f}, Case{2, 3, 5, 1, 4, 2, false, false, false, true, 0.5f}}) {
    SCOPED_TRACE(label(c));
    Rng rng(6);
    AttentionOptions o = options(c, rng);
    auto f = [&](const std::vector<Var>& v) { return attention(v[0], v[1], v[2], o); };
    EXPECT_TRUE(gradcheck_ok(f, qkv_inputs(c, rng)));
  }
}

TEST(Attention, PackedEqualsSeparate) {
  for (bool bf : {true, false}) {
    Case c{2, 5, 5, 2, 3, 3, bf, true, true, false, 0.2f};
    Rng rng(3);
    AttentionOptions o = options(c, rng);
    Tensor x = random_tensor(seq_shape(c, 5, 18), rng);
    Var p(x.clone(), true), s(x.clone(), true);
    Var fp = attention_packed(p, o);
    Var fs = attention(slice(s, 2, 0, 6), slice(s, 2, 6, 12), slice(s, 2, 12, 18), o);
    EXPECT_TRUE(same_values(fp.value(), fs.value())) << "same kernel, same operands: bit-identical";
    Tensor seed = random_tensor(fp.shape(), rng);
    fp.backward(seed);
    fs.backward(seed);
    EXPECT_TRUE(tensor_near(p.grad(), s.grad(), 1e-6, 1e-6));
    auto f = [&](const std::vector<Var>& v) { return attention_packed(v[0], o); };
    EXPECT_TRUE(gradcheck_ok(f, {x}));
  }
}

// With V = identity (dv = Tk, one head) the output rows are the dropped-out probabilities P̃ = P ⊙ M/(1−p):
// every entry is 0 or P/(1−p), about a fraction p are 0, and a different seed gives a different mask.
TEST(Attention, DropoutMaskStatistics) {
  const int64_t T = 64;
  Rng rng(9);
  Tensor q = random_tensor({1, T, 4}, rng), k = random_tensor({1, T, 4}, rng), eye({1, T, T});
  for (int64_t j = 0; j < T; ++j) eye.at({0, j, j}) = 1.0f;
  AttentionOptions o;
  Tensor p = attention(Var(q), Var(k), Var(eye), o).value();
  o.dropout = 0.25f;
  o.dropout_seed = 77;
  Tensor d = attention(Var(q), Var(k), Var(eye), o).value();
  int64_t zeros = 0;
  for (int64_t i = 0; i < T * T; ++i) {
    if (d.data()[i] == 0.0f) ++zeros;
    else EXPECT_NEAR(d.data()[i], p.data()[i] / 0.75f, 1e-6f);
  }
  const double frac = static_cast<double>(zeros) / (T * T);
  EXPECT_NEAR(frac, 0.25, 0.03);  // 4096 Bernoulli(0.25) draws: σ ≈ 0.0068, so 0.03 is > 4σ
  o.dropout_seed = 78;
  Tensor d2 = attention(Var(q), Var(k), Var(eye), o).value();
  EXPECT_FALSE(tensor_near(d, d2, 1e-6));
  o.dropout_seed = 77;
  EXPECT_TRUE(same_values(attention(Var(q), Var(k), Var(eye), o).value(), d)) << "same seed, same mask";
}

TEST(Attention, FullyMaskedRowGivesZeroOutputAndGradient) {
  Rng rng(4);
  AttentionOptions o;
  o.heads = 1;
  o.key_padding = Tensor({2, 3});
  for (int64_t j = 0; j < 3; ++j) o.key_padding.at({1, j}) = 1.0f;  // batch 1: every key is padding
  Var q(random_tensor({2, 2, 4}, rng), true), k(random_tensor({2, 3, 4}, rng), true), v(random_tensor({2, 3, 4}, rng), true);
  Var out = attention(q, k, v, o);
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t c = 0; c < 4; ++c) EXPECT_EQ(out.value().at({1, i, c}), 0.0f);
  out.backward(Tensor::ones(out.shape()));
  for (Var* x : {&q, &k, &v}) {
    Tensor g = x->grad().select(0, 1).contiguous();
    for (int64_t i = 0; i < g.numel(); ++i) EXPECT_EQ(g.data()[i], 0.0f);
    EXPECT_TRUE(std::isfinite(x->grad().select(0, 0).contiguous().data()[0]));
  }
}

// attention_inference on strided views (the first t steps of a [B, T_max, D] cache) equals the op.
TEST(Attention, InferenceOnCacheViewsEqualsOp) {
  Rng rng(8);
  const int64_t B = 2, Tmax = 10, t = 7, D = 6;
  Tensor kc = random_tensor({B, Tmax, D}, rng), vc = random_tensor({B, Tmax, D}, rng);
  Tensor q = random_tensor({B, 1, D}, rng);
  AttentionOptions o;
  o.heads = 3;
  o.causal = true;  // one query at position t−1 sees all t keys
  Tensor kv = kc.slice(1, 0, t), vv = vc.slice(1, 0, t);
  ASSERT_FALSE(kv.is_contiguous());
  Tensor a = attention_inference(q, kv, vv, o);
  Tensor b = attention(Var(q), Var(kv.contiguous()), Var(vv.contiguous()), o).value();
  EXPECT_TRUE(same_values(a, b));
  o.causal = false;
  EXPECT_TRUE(tensor_near(attention_inference(q, kv, vv, o), b, 1e-7, 1e-6)) << "Tq = 1: causal is a no-op";
}

TEST(Attention, ErrorsNameTheProblem) {
  Rng rng(1);
  AttentionOptions o;
  o.heads = 4;
  Var q(random_tensor({2, 3, 6}, rng)), k(random_tensor({2, 3, 6}, rng)), v(random_tensor({2, 3, 6}, rng));
  EXPECT_THROW(attention(q, k, v, o), Error);  // 6 not divisible by 4
  o.heads = 2;
  EXPECT_THROW(attention(q, Var(random_tensor({2, 3, 4}, rng)), v, o), Error);  // q, k widths differ
  EXPECT_THROW(attention(q, k, Var(random_tensor({2, 4, 6}, rng)), o), Error);  // k, v steps differ
  o.key_padding = Tensor({2, 4});
  EXPECT_THROW(attention(q, k, v, o), Error);
  o.key_padding = Tensor();
  o.dropout = 1.0f;
  EXPECT_THROW(attention(q, k, v, o), Error);
  try {
    o.dropout = 0.0f;
    o.attn_mask = Tensor({3, 2});
    attention(q, k, v, o);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("attn_mask"), std::string::npos) << e.what();
  }
}

// GELU: values against the erf formula in double, and finite differences. Inputs in [−4, 4]
// (where the curvature is); tolerance: gradcheck.h's defaults (|gelu'''| ≤ 1.2, fan-out 1).
TEST(Gelu, ValuesAndGradcheck) {
  Rng rng(2);
  Tensor x = random_tensor({3, 17}, rng, -4.0f, 4.0f);
  Tensor y = gelu(Var(x)).value();
  for (int64_t i = 0; i < x.numel(); ++i) {
    const double xi = x.data()[i];
    EXPECT_NEAR(y.data()[i], 0.5 * xi * std::erfc(-xi / std::sqrt(2.0)), 1e-6) << "x = " << xi;
  }
  auto f = [](const std::vector<Var>& v) { return gelu(v[0]); };
  GradCheckOptions opt;
  opt.atol = 1e-3;  // fan-out 1: the rounding term is ~1e-5, far below the default
  EXPECT_TRUE(gradcheck_ok(f, {x}, opt));
}

}  // namespace
