// cross_entropy (ignore index, per-token weights / masks, every reduction), mse_loss and
// bce_with_logits (src/autograd/ops_loss.cpp): finite-difference gradients, forward values and
// gradients by hand, a cross-check of cross-entropy against the composed log_softmax path, large
// logits, errors.
//
// Tolerance: gradcheck.h's defaults.
//  * cross-entropy: per row ℓ = log Σ e^x − x_t, whose third derivatives are those of log-sum-exp
//    (≤ 1 in any direction); logits in [-2, 2], h = 1e-2 -> truncation ≤ h²/6·|w| ≈ 3e-5. The output
//    (≤ C·R·max ℓ ≈ 30 for sum) is rounded to float once, so rounding ≈ u·30/h ≈ 2e-4.
//  * mse: quadratic, so the central difference is exact up to rounding (≈ u·|L|/h ≲ 1e-4).
//  * bce with logits: ℓ'' = σ(1 − σ) ≤ 1/4, |ℓ'''| ≤ 0.1 -> truncation ≈ 2e-6; rounding as above.
// A wrong gradient term here (a missing 1/Σw, an ignored row that still gets gradient, the wrong
// sign of the target term) is off by O(|w|/N) ≥ 0.02 with N ≤ 24 rows — above atol 2e-3.
#include <gtest/gtest.h>

#include <cmath>
#include <ostream>

#include "autograd/op_test_util.h"
#include "recurrent/kernels/target.h"

using namespace recurrent;
using namespace recurrent::testing;

namespace {

// ---- cross-entropy ------------------------------------------------------------------------------

struct CeCase {
  const char* label;
  Shape logits;
  std::vector<int64_t> targets;
  CrossEntropyOptions opt;
};

// gtest prints this instead of the raw bytes of the parameter when a case fails.
void PrintTo(const CeCase& c, std::ostream* os) { *os << c.label; }

CrossEntropyOptions ce_opt(Reduction red, int64_t ignore = -100, std::vector<float> w = {}) {
  CrossEntropyOptions o;
  o.reduction = red;
  o.ignore_index = ignore;
  o.weights = std::move(w);
  return o;
}

const CeCase kCe[] = {
    {"mean", {4, 5}, {0, 3, 4, 1}, ce_opt(Reduction::mean)},
    {"sum", {4, 5}, {0, 3, 4, 1}, ce_opt(Reduction::sum)},
    {"none", {4, 5}, {0, 3, 4, 1}, ce_opt(Reduction::none)},
    {"ignore_default_mean", {4, 5}, {2, -100, 4, -100}, ce_opt(Reduction::mean)},
    {"ignore_default_none", {4, 5}, {2, -100, 4, -100}, ce_opt(Reduction::none)},
    // ignore_index may be a real class id (e.g. the padding token): rows targeting it contribute nothing
    {"ignore_class_2_sum", {4, 5}, {2, 0, 2, 1}, ce_opt(Reduction::sum, 2)},
    {"mask_mean", {4, 5}, {0, 3, 4, 1}, ce_opt(Reduction::mean, -100, {1, 0, 1, 1})},
    {"weights_mean", {4, 5}, {0, 3, 4, 1}, ce_opt(Reduction::mean, -100, {0.5f, 2.0f, 1.0f, 0.25f})},
    {"weights_and_ignore_sum", {4, 5}, {0, -100, 4, 1}, ce_opt(Reduction::sum, -100, {0.5f, 2.0f, 1.0f, 0.25f})},
    {"weights_none", {4, 5}, {0, 3, 4, 1}, ce_opt(Reduction::none, -100, {0.5f, 2.0f, 0.0f, 0.25f})},
    // [B, T, C] logits of a language model, targets [B·T]
    {"btc_mean", {2, 3, 4}, {0, 1, 2, 3, -100, 1}, ce_opt(Reduction::mean)},
    {"btc_none", {2, 3, 4}, {0, 1, 2, 3, -100, 1}, ce_opt(Reduction::none)},
};

class CrossEntropyEvery : public ::testing::TestWithParam<CeCase> {};

GradFn ce_fn(const CeCase& c) {
  return [c](const std::vector<Var>& v) { return cross_entropy(v[0], c.targets, c.opt); };
}

TEST_P(CrossEntropyEvery, GradientsMatchFiniteDifferences) {
  Rng rng(101);
  EXPECT_TRUE(gradcheck_ok(ce_fn(GetParam()), {random_tensor(GetParam().logits, rng, -2.0f, 2.0f)}));
}

// Composed path: ℓ_r = −w_r·log_softmax(x_r)[t_r] built from other ops (each gradient-checked in
// its own file), reduced by hand. Values and gradients must agree with the fused op.
TEST_P(CrossEntropyEvery, MatchesTheComposedLogSoftmaxPath) {
  const CeCase& c = GetParam();
  Rng rng(102);
  Tensor x = random_tensor(c.logits, rng, -2.0f, 2.0f);
  const int64_t C = c.logits.back(), R = x.numel() / C;
  Tensor sel({R, C});  // −w_r at [r, t_r], 0 elsewhere (and in ignored rows)
  double wsum = 0.0;
  for (int64_t r = 0; r < R; ++r) {
    if (c.targets[r] == c.opt.ignore_index) continue;
    const float w = c.opt.weights.empty() ? 1.0f : c.opt.weights[r];
    sel.at({r, c.targets[r]}) = -w;
    wsum += w;
  }
  Var xf(x.clone(), true), xc(x.clone(), true);
  Var fused = cross_entropy(xf, c.targets, c.opt);
  Var per_row = sum(mul(log_softmax(reshape(xc, {R, C})), Var(sel)), 1);  // [R]
  Var composed = c.opt.reduction == Reduction::none ? reshape(per_row, fused.shape())
                 : c.opt.reduction == Reduction::sum ? sum(per_row)
                                                     : scale(sum(per_row), static_cast<float>(1.0 / wsum));
  EXPECT_TRUE(tensor_near(fused.value(), composed.value(), 1e-5, 1e-5));
  Tensor g = random_tensor(fused.shape(), rng);
  fused.backward(g);
  composed.backward(g);
  EXPECT_TRUE(tensor_near(xf.grad(), xc.grad(), 1e-6, 1e-5));
}

TEST_P(CrossEntropyEvery, StridedLogits) {
  Rng rng(103);
  EXPECT_TRUE(strided_inputs_match(ce_fn(GetParam()), {random_tensor(GetParam().logits, rng, -2.0f, 2.0f)}));
}

INSTANTIATE_TEST_SUITE_P(Cases, CrossEntropyEvery, ::testing::ValuesIn(kCe),
                         [](const auto& info) { return std::string(info.param.label); });

TEST(CrossEntropy, ByHand) {
  // rows [0, ln 3] -> target 1, [0, 0] -> target 0:  ℓ = [ln 4/3, ln 2]
  // softmax rows [1/4, 3/4], [1/2, 1/2]: ∂x (sum, g = 1) = softmax − onehot = [[1/4, −1/4], [−1/2, 1/2]]
  const float l3 = std::log(3.0f);
  Tensor x = Tensor::from({0, l3, 0, 0}, {2, 2});
  const double a = std::log(4.0 / 3.0), b = std::log(2.0);
  EXPECT_NEAR(cross_entropy(Var(x), {1, 0}).value().item(), (a + b) / 2, 1e-6);
  EXPECT_NEAR(cross_entropy(Var(x), {1, 0}, ce_opt(Reduction::sum)).value().item(), a + b, 1e-6);
  EXPECT_TRUE(tensor_near(cross_entropy(Var(x), {1, 0}, ce_opt(Reduction::none)).value(),
                          {static_cast<float>(a), static_cast<float>(b)}, 1e-6));
  // weighted mean Σ w ℓ / Σ w with w = [1, 0.5]; ignoring row 1 leaves ℓ_0 alone
  EXPECT_NEAR(cross_entropy(Var(x), {1, 0}, ce_opt(Reduction::mean, -100, {1.0f, 0.5f})).value().item(),
              (a + 0.5 * b) / 1.5, 1e-6);
  EXPECT_NEAR(cross_entropy(Var(x), {1, -100}).value().item(), a, 1e-6);
  Var xv(x, true);
  cross_entropy(xv, {1, 0}, ce_opt(Reduction::sum)).backward();
  EXPECT_TRUE(tensor_near(xv.grad(), {0.25f, -0.25f, -0.5f, 0.5f}, 1e-6));
}

TEST(CrossEntropy, IgnoredRowsGetNoGradient) {
  Rng rng(104);
  Var x(random_tensor({3, 4}, rng), true);
  cross_entropy(x, {1, -100, 2}).backward();
  for (int64_t c = 0; c < 4; ++c) EXPECT_EQ(x.grad().at({1, c}), 0.0f) << c;
  EXPECT_NE(x.grad().at({0, 1}), 0.0f);
}

TEST(CrossEntropy, AllIgnoredGivesZeroNotNaN) {
  // ops.h: Σ w = 0 -> loss 0 with zero gradient (PyTorch gives NaN).
  Rng rng(105);
  Var x(random_tensor({2, 3}, rng), true);
  Var l = cross_entropy(x, {-100, -100});
  EXPECT_EQ(l.value().item(), 0.0f);
  l.backward();
  EXPECT_TRUE(tensor_near(x.grad(), Tensor({2, 3}), 1e-30));
}

TEST(CrossEntropy, LargeLogitsStayFinite) {
  // ℓ = log(e^{1000} + e^{0}) − 0 ≈ 1000 for target 1 (the small logit); no overflow to inf.
  Var x(Tensor::from({1000.0f, 0.0f}, {1, 2}), true);
  Var l = cross_entropy(x, {1});
  EXPECT_NEAR(l.value().item(), 1000.0f, 1e-3);
  l.backward();
  EXPECT_TRUE(tensor_near(x.grad(), {1.0f, -1.0f}, 1e-6));
}

// A word-LM sized row (C = 10,000 classes, the exp of every SIMD target this CPU runs): loss and
// gradient against a double-precision softmax. The float exp is within 2 ulp and Σ is accumulated
// in float lanes (relative error ≲ √C·2⁻²⁴ ≈ 6e-6), so the loss (≈ 9) is good to ~1e-5 relative
// and each gradient entry (≤ 1/R) to ~1e-6 absolute; a missing normalisation or a wrong max shift
// is off by orders of magnitude more.
TEST(CrossEntropy, WideRowsMatchDoublePrecision) {
  const int64_t saved = simd::default_target();
  for (int64_t target : simd::cpu_targets()) {
    simd::set_default_target(target);
    const std::string isa = simd::target_name(target);
    Rng rng(106);
    const int64_t R = 3, C = 10000;
    Tensor x = random_tensor({R, C}, rng, -4.0f, 4.0f);
    const std::vector<int64_t> t{7, 9999, 4242};
    Var xv(x, true);
    Var l = cross_entropy(xv, t);
    l.backward();
    double loss = 0.0;
    Tensor g({R, C});
    for (int64_t r = 0; r < R; ++r) {
      double mx = -1e30, s = 0.0;
      for (int64_t c = 0; c < C; ++c) mx = std::max<double>(mx, x.at({r, c}));
      for (int64_t c = 0; c < C; ++c) s += std::exp(x.at({r, c}) - mx);
      loss += (std::log(s) + mx - x.at({r, t[r]})) / R;
      for (int64_t c = 0; c < C; ++c)
        g.at({r, c}) = static_cast<float>((std::exp(x.at({r, c}) - mx) / s - (c == t[r] ? 1.0 : 0.0)) / R);
    }
    EXPECT_NEAR(l.value().item(), loss, 1e-5 * loss) << isa;
    EXPECT_TRUE(tensor_near(xv.grad(), g, 1e-6, 1e-5)) << isa;
    NoGradGuard ng;  // without a tape nothing is kept: the same loss through the scratch-row path
    EXPECT_EQ(cross_entropy(Var(x), t).value().item(), l.value().item()) << isa;
  }
  simd::set_default_target(saved);
}

// Backward hands its buffer over as the gradient when the logits have none yet, and adds when they
// do: a gradient already there (here 0.5 everywhere) must be kept and added to.
TEST(CrossEntropy, AddsIntoAnExistingGradient) {
  Rng rng(107);
  Tensor x = random_tensor({3, 5}, rng, -2.0f, 2.0f);
  const std::vector<int64_t> t{1, -100, 4};
  Var fresh(x.clone(), true);
  cross_entropy(fresh, t).backward();
  Var added(x.clone(), true);
  added.grad().fill_(0.5f);
  cross_entropy(added, t).backward();
  Tensor expect = fresh.grad().clone();
  for (int64_t i = 0; i < expect.numel(); ++i) expect.data()[i] += 0.5f;
  EXPECT_TRUE(tensor_near(added.grad(), expect, 1e-7, 1e-6));
  for (int64_t c = 0; c < 5; ++c) EXPECT_EQ(fresh.grad().at({1, c}), 0.0f) << c;  // the ignored row
  // The same logits feeding two losses: the second backward adds into the first's gradient.
  Var twice(x.clone(), true);
  add(cross_entropy(twice, t), cross_entropy(twice, t)).backward();
  Tensor doubled = fresh.grad().clone();
  for (int64_t i = 0; i < doubled.numel(); ++i) doubled.data()[i] *= 2.0f;
  EXPECT_TRUE(tensor_near(twice.grad(), doubled, 1e-7, 1e-6));
}

TEST(CrossEntropy, Errors) {
  Var x(Tensor({2, 3}));
  EXPECT_TRUE(throws_error([&] { cross_entropy(x, {0}); }, "cross_entropy", "got 1 targets"));
  EXPECT_TRUE(throws_error([&] { cross_entropy(x, {0, 3}); }, "cross_entropy", "target 3 at row 1 is out of range"));
  EXPECT_TRUE(throws_error([&] { cross_entropy(x, {0, -1}); }, "cross_entropy", "out of range"));
  EXPECT_TRUE(throws_error([&] { cross_entropy(x, {0, 1}, ce_opt(Reduction::mean, -100, {1.0f})); }, "cross_entropy",
                           "1 token weights for 2 rows"));
  EXPECT_TRUE(throws_error([&] { cross_entropy(Var(Tensor({2, 0})), {0, 0}); }, "cross_entropy", "class dim"));
}

// ---- mse and bce with logits --------------------------------------------------------------------

struct PointwiseLossCase {
  const char* label;
  bool bce;
  Reduction red;
};

// gtest prints this instead of the raw bytes of the parameter when a case fails.
void PrintTo(const PointwiseLossCase& c, std::ostream* os) { *os << c.label; }

const PointwiseLossCase kPointwise[] = {
    {"mse_mean", false, Reduction::mean}, {"mse_sum", false, Reduction::sum}, {"mse_none", false, Reduction::none},
    {"bce_mean", true, Reduction::mean},  {"bce_sum", true, Reduction::sum},  {"bce_none", true, Reduction::none},
};

// bce targets: 0/1 labels and soft labels mixed; mse targets: any reals.
Tensor target_for(bool bce, const Shape& s, Rng& rng) {
  if (!bce) return random_tensor(s, rng);
  Tensor t(s);
  for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = i % 3 == 2 ? rng.uniform() : (rng.bernoulli(0.5f) ? 1.0f : 0.0f);
  return t;
}

class PointwiseLoss : public ::testing::TestWithParam<PointwiseLossCase> {};

GradFn pointwise_fn(const PointwiseLossCase& c, const Tensor& target) {
  return [c, target](const std::vector<Var>& v) {
    return c.bce ? bce_with_logits(v[0], target, c.red) : mse_loss(v[0], target, c.red);
  };
}

TEST_P(PointwiseLoss, GradientsMatchFiniteDifferences) {
  Rng rng(111);
  const Shape s{2, 3, 4};
  Tensor target = target_for(GetParam().bce, s, rng);
  EXPECT_TRUE(gradcheck_ok(pointwise_fn(GetParam(), target), {random_tensor(s, rng, -3.0f, 3.0f)}));
}

TEST_P(PointwiseLoss, ForwardMatchesDoubleLoop) {
  const PointwiseLossCase& c = GetParam();
  Rng rng(112);
  const Shape s{3, 4};
  Tensor target = target_for(c.bce, s, rng), x = random_tensor(s, rng, -3.0f, 3.0f);
  std::vector<double> xs = values(x), ts = values(target), l(xs.size());
  double total = 0.0;
  for (size_t i = 0; i < xs.size(); ++i) {
    // bce reference in the naive form −[y log σ(x) + (1 − y) log(1 − σ(x))], fine for |x| ≤ 3
    const double sg = 1.0 / (1.0 + std::exp(-xs[i]));
    l[i] = c.bce ? -(ts[i] * std::log(sg) + (1 - ts[i]) * std::log(1 - sg)) : (xs[i] - ts[i]) * (xs[i] - ts[i]);
    total += l[i];
  }
  Tensor out = pointwise_fn(c, target)({Var(x)}).value();
  if (c.red == Reduction::none) {
    EXPECT_TRUE(tensor_near(out, tensor_of(l, s), 1e-6, 1e-6));
  } else {
    EXPECT_NEAR(out.item(), c.red == Reduction::sum ? total : total / 12.0, 1e-5 * std::fabs(total));
  }
}

TEST_P(PointwiseLoss, StridedInputs) {
  Rng rng(113);
  Tensor target = target_for(GetParam().bce, {3, 4}, rng);
  EXPECT_TRUE(strided_inputs_match(pointwise_fn(GetParam(), target), {random_tensor({3, 4}, rng, -3.0f, 3.0f)}));
}

INSTANTIATE_TEST_SUITE_P(Cases, PointwiseLoss, ::testing::ValuesIn(kPointwise),
                         [](const auto& info) { return std::string(info.param.label); });

TEST(MseLoss, ByHand) {
  // pred [1, 2, 3], target [0, 2, 5]: squares [1, 0, 4]; mean 5/3, sum 5; ∂(mean) = 2(p − t)/3.
  Tensor t = Tensor::from({0, 2, 5}, {3});
  Var p(Tensor::from({1, 2, 3}, {3}), true);
  EXPECT_NEAR(mse_loss(p, t, Reduction::sum).value().item(), 5.0f, 1e-6);
  EXPECT_TRUE(tensor_near(mse_loss(p, t, Reduction::none).value(), {1, 0, 4}, 1e-7));
  Var l = mse_loss(p, t);
  EXPECT_NEAR(l.value().item(), 5.0f / 3.0f, 1e-6);
  l.backward();
  EXPECT_TRUE(tensor_near(p.grad(), {2.0f / 3, 0.0f, -4.0f / 3}, 1e-6));
}

TEST(BceWithLogits, ByHand) {
  // x = 0: ℓ = ln 2 for any y. x = ln 3, y = 1: ℓ = log(1 + 1/3) = ln 4/3; x = −ln 3, y = 0: same.
  // ∂ℓ/∂x = σ(x) − y: [1/2 − 0.3, 3/4 − 1, 1/4 − 0]
  const float l3 = std::log(3.0f);
  Var x(Tensor::from({0.0f, l3, -l3}, {3}), true);
  Tensor y = Tensor::from({0.3f, 1.0f, 0.0f}, {3});
  const float ln2 = std::log(2.0f), l43 = std::log(4.0f / 3.0f);
  EXPECT_TRUE(tensor_near(bce_with_logits(x, y, Reduction::none).value(), {ln2, l43, l43}, 1e-6));
  bce_with_logits(x, y, Reduction::sum).backward();
  EXPECT_TRUE(tensor_near(x.grad(), {0.2f, -0.25f, 0.25f}, 1e-6));
}

TEST(BceWithLogits, LargeLogitsAreStable) {
  // The naive log σ(x) form overflows or gives log 0 here; the stable form gives |x| or ~0.
  Var x(Tensor::from({100.0f, -100.0f, 100.0f, -100.0f}, {4}), true);
  Tensor y = Tensor::from({0, 1, 1, 0}, {4});
  Var l = bce_with_logits(x, y, Reduction::none);
  EXPECT_TRUE(tensor_near(l.value(), {100, 100, 0, 0}, 1e-4));
  l.backward(Tensor::ones({4}));
  EXPECT_TRUE(tensor_near(x.grad(), {1, -1, 0, 0}, 1e-6));
}

TEST(PointwiseLosses, Errors) {
  Var p(Tensor({2, 3}));
  EXPECT_TRUE(throws_error([&] { mse_loss(p, Tensor({3, 2})); }, "mse_loss", "target shape [3, 2]"));
  EXPECT_TRUE(throws_error([&] { bce_with_logits(p, Tensor({6})); }, "bce_with_logits", "differs from logits"));
}

}  // namespace
