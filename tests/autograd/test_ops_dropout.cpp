// dropout and dropout_with_mask (src/autograd/ops_dropout.cpp): finite-difference gradients with a
// fixed mask (a freshly seeded Rng per evaluation, so every evaluation draws the same mask), eval
// mode and p == 0 as identity without rng draws, p == 1, mask statistics and scaling, errors.
//
// Tolerance: gradcheck.h's defaults. With the mask fixed, dropout is linear with fan-out 1: no
// truncation error, rounding ≈ u·|w·x/(1−p)|/h ≈ 2e-5, while a dropped mask in backward (or a
// missing 1/(1−p)) is off by |w|·(1/(1−p)) or |w|·p/(1−p) ~ 0.2–1.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/op_test_util.h"

using namespace recurrent;
using namespace recurrent::testing;

namespace {

// Dropout with its own Rng seeded identically on every call: the harness evaluates f many times.
GradFn seeded_dropout(float p, bool training, uint64_t seed) {
  return [=](const std::vector<Var>& v) {
    Rng r(seed);
    return dropout(v[0], p, training, r);
  };
}

TEST(Dropout, GradientsMatchFiniteDifferencesWithAFixedMask) {
  Rng rng(81);
  for (float p : {0.2f, 0.5f, 0.8f})
    EXPECT_TRUE(gradcheck_ok(seeded_dropout(p, true, 7), {random_tensor({4, 5}, rng)})) << "p = " << p;
}

TEST(Dropout, GradientIsTheMaskItself) {
  // ∂x = g ⊙ m: with g = ones the gradient is exactly the mask, and out = x ⊙ m.
  const float p = 0.4f;
  Rng rng(82);
  Tensor x = random_away_from_zero({6, 7}, rng);
  Var xv(x, true);
  Rng r(9);
  Var y = dropout(xv, p, true, r);
  y.backward(Tensor::ones(x.shape()));
  const float keep = 1.0f / (1.0f - p);
  int dropped = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const float m = xv.grad().data()[i];
    ASSERT_TRUE(m == 0.0f || m == keep) << "mask value " << m << " at " << i;
    EXPECT_EQ(y.value().data()[i], x.data()[i] * m) << i;
    dropped += m == 0.0f;
  }
  EXPECT_GT(dropped, 0);
  EXPECT_LT(dropped, x.numel());
}

TEST(Dropout, MaskFollowsTheRngInElementOrder) {
  // ops.h: m_i = [u_i ≥ p] / (1 − p), u_i the i-th uniform draw. Replay the draws by hand.
  const float p = 0.3f;
  Rng r(11), replay(11);
  Var y = dropout(Var(Tensor::ones({50})), p, true, r);
  for (int64_t i = 0; i < 50; ++i) {
    const float expect = replay.uniform() >= p ? 1.0f / (1.0f - p) : 0.0f;
    EXPECT_EQ(y.value().data()[i], expect) << i;
  }
  EXPECT_EQ(r.next_u64(), replay.next_u64());  // exactly numel draws were consumed
}

TEST(Dropout, SameSeedSameMaskDifferentSeedDifferentMask) {
  Tensor x = Tensor::ones({200});
  Rng a(5), b(5), c(6);
  Tensor ya = dropout(Var(x), 0.5f, true, a).value();
  Tensor yb = dropout(Var(x), 0.5f, true, b).value();
  Tensor yc = dropout(Var(x), 0.5f, true, c).value();
  EXPECT_TRUE(tensor_near(ya, yb, 1e-30));
  EXPECT_FALSE(tensor_near(ya, yc, 1e-30));
}

TEST(Dropout, KeptFractionAndMeanArePreserved) {
  // n = 20000, p = 0.25: kept count ~ Binomial(n, 0.75), sd = sqrt(n·p·(1−p)) ≈ 61; allow 5 sd.
  const int64_t n = 20000;
  const float p = 0.25f;
  Rng r(12);
  Tensor y = dropout(Var(Tensor::ones({n})), p, true, r).value();
  int64_t kept = 0;
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    kept += y.data()[i] != 0.0f;
    s += y.data()[i];
  }
  EXPECT_NEAR(static_cast<double>(kept), 0.75 * n, 5 * std::sqrt(n * 0.25 * 0.75));
  EXPECT_NEAR(s / n, 1.0, 5 * std::sqrt(0.25 * 0.75 / n) / 0.75);  // E[out] = x (inverted dropout)
}

TEST(Dropout, EvalModeAndZeroPAreIdentityWithoutDraws) {
  Rng rng(83);
  Var x(random_tensor({3, 4}, rng), true);
  for (auto [p, training] : {std::pair{0.5f, false}, std::pair{0.0f, true}, std::pair{1.0f, false}}) {
    Rng r(13), untouched(13);
    Var y = dropout(x, p, training, r);
    EXPECT_EQ(y.node(), x.node()) << "p " << p << " training " << training;  // x itself: no copy, no node
    EXPECT_EQ(r.next_u64(), untouched.next_u64()) << "the rng was advanced";
  }
  // The gradient passes through unchanged.
  EXPECT_TRUE(gradcheck_ok(seeded_dropout(0.5f, false, 7), {random_tensor({3, 4}, rng)}));
}

TEST(Dropout, POneGivesZerosAndZeroGradient) {
  Rng rng(84);
  Var x(random_tensor({3, 4}, rng), true);
  Rng r(14);
  Var y = dropout(x, 1.0f, true, r);
  EXPECT_TRUE(tensor_near(y.value(), Tensor({3, 4}), 1e-30));
  y.backward(Tensor::ones({3, 4}));
  EXPECT_TRUE(tensor_near(x.grad(), Tensor({3, 4}), 1e-30));
}

TEST(DropoutWithMask, GradientsAndForwardByHand) {
  Rng rng(85);
  Tensor mask = Tensor::from({0, 2, 2, 0, 2, 0}, {2, 3});
  auto f = [mask](const std::vector<Var>& v) { return dropout_with_mask(v[0], mask); };
  EXPECT_TRUE(gradcheck_ok(f, {random_tensor({2, 3}, rng)}));
  Tensor x = Tensor::from({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_TRUE(tensor_near(dropout_with_mask(Var(x), mask).value(), {0, 4, 6, 0, 10, 0}, 1e-30));
  EXPECT_TRUE(strided_inputs_match(f, {x}));
}

TEST(Dropout, Errors) {
  Rng r(15);
  Var x(Tensor({2, 2}));
  EXPECT_TRUE(throws_error([&] { dropout(x, 1.5f, true, r); }, "dropout", "probability must be in [0, 1]"));
  EXPECT_TRUE(throws_error([&] { dropout(x, -0.1f, false, r); }, "dropout", "probability"));
  EXPECT_TRUE(throws_error([&] { dropout_with_mask(x, Tensor({2, 3})); }, "dropout", "mask shape"));
}

}  // namespace
