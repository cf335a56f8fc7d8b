// Meta-tests of the gradient-check harness (tests/autograd/gradcheck.h): it must FAIL on ops whose
// backward is wrong in the ways real backward code goes wrong — wrong sign, transposed gradient,
// overwriting instead of adding, a missing factor, a wrong term in only one of two inputs, a NaN,
// no tape node — and pass on the same ops written correctly. Without these, a passing gradcheck
// would prove nothing.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/op_test_util.h"

using namespace recurrent;
using namespace recurrent::testing;

namespace {

enum class Bug { none, wrong_sign, transposed, overwrites, missing_factor, nan };

// y = X ⊙ X (elementwise square of a square matrix X [n, n]);  correct: ∂X = 2·X ⊙ G.
Var square_op(const Var& x, Bug bug) {
  Tensor xv = x.value().contiguous();
  Tensor y(xv.shape());
  for (int64_t i = 0; i < y.numel(); ++i) y.data()[i] = xv.data()[i] * xv.data()[i];
  return make_op("test_square", y, {x}, [xv, bug](Node& o) {
    Tensor g = o.grad;
    if (bug == Bug::transposed) g = o.grad.transpose(0, 1).contiguous();
    Tensor d(xv.shape());
    const float factor = bug == Bug::missing_factor ? 1.0f : (bug == Bug::wrong_sign ? -2.0f : 2.0f);
    for (int64_t i = 0; i < d.numel(); ++i) d.data()[i] = factor * xv.data()[i] * g.data()[i];
    if (bug == Bug::nan) d.data()[d.numel() / 2] = NAN;
    if (bug == Bug::overwrites) {
      grad_buffer(*o.inputs[0]).copy_(d);  // drops whatever was accumulated before
      return;
    }
    accumulate_grad(*o.inputs[0], d);
  });
}

GradFn square_fn(Bug bug) {
  return [bug](const std::vector<Var>& v) { return square_op(v[0], bug); };
}

const Shape kSquare{3, 3};

TEST(GradcheckHarness, PassesTheCorrectOp) {
  Rng rng(1);
  EXPECT_TRUE(gradcheck_ok(square_fn(Bug::none), {random_tensor(kSquare, rng)}));
}

TEST(GradcheckHarness, FailsOnWrongSign) {
  Rng rng(1);
  GradCheckResult r = gradcheck(square_fn(Bug::wrong_sign), {random_tensor(kSquare, rng)});
  EXPECT_FALSE(r.ok) << r.message;
  EXPECT_NE(r.message.find("worst element"), std::string::npos) << r.message;
}

TEST(GradcheckHarness, FailsOnTransposedGradient) {
  Rng rng(1);
  GradCheckResult r = gradcheck(square_fn(Bug::transposed), {random_tensor(kSquare, rng)});
  EXPECT_FALSE(r.ok) << r.message;
}

TEST(GradcheckHarness, TransposedGradientHidesUnderAPlainSum) {
  // Why the loss is lopsided: with L = Σ out the seed gradient is all ones, which equals its own
  // transpose, so the transposed backward above yields exactly the right numbers.
  Rng rng(1);
  Tensor x = random_tensor(kSquare, rng);
  Var good(x.clone(), true), bad(x.clone(), true);
  square_op(good, Bug::none).backward(Tensor::ones(kSquare));
  square_op(bad, Bug::transposed).backward(Tensor::ones(kSquare));
  EXPECT_TRUE(tensor_near(bad.grad(), good.grad(), 1e-12));
}

TEST(GradcheckHarness, FailsWhenBackwardOverwritesInsteadOfAdding) {
  Rng rng(1);
  GradCheckResult r = gradcheck(square_fn(Bug::overwrites), {random_tensor(kSquare, rng)});
  EXPECT_FALSE(r.ok) << r.message;
}

TEST(GradcheckHarness, FailsOnAMissingFactorOfTwo) {
  Rng rng(1);
  GradCheckResult r = gradcheck(square_fn(Bug::missing_factor), {random_tensor(kSquare, rng)});
  EXPECT_FALSE(r.ok) << r.message;
}

TEST(GradcheckHarness, FailsOnNaN) {
  Rng rng(1);
  GradCheckResult r = gradcheck(square_fn(Bug::nan), {random_tensor(kSquare, rng)});
  EXPECT_FALSE(r.ok) << r.message;
  EXPECT_EQ(r.worst_index, kSquare[0] * kSquare[1] / 2) << r.message;
}

// y = a ⊙ b, with the gradient of b wrong (uses b instead of a): only input 1 fails, and the
// report names it.
TEST(GradcheckHarness, NamesTheInputWithTheWrongGradient) {
  auto f = [](const std::vector<Var>& v) {
    Tensor a = v[0].value().contiguous(), b = v[1].value().contiguous();
    Tensor y(a.shape());
    for (int64_t i = 0; i < y.numel(); ++i) y.data()[i] = a.data()[i] * b.data()[i];
    return make_op("test_mul", y, {v[0], v[1]}, [a, b](Node& o) {
      Tensor ga(a.shape()), gb(b.shape());
      for (int64_t i = 0; i < ga.numel(); ++i) {
        ga.data()[i] = o.grad.data()[i] * b.data()[i];
        gb.data()[i] = o.grad.data()[i] * b.data()[i];  // bug: should be a
      }
      if (needs_grad(o, 0)) accumulate_grad(*o.inputs[0], ga);
      if (needs_grad(o, 1)) accumulate_grad(*o.inputs[1], gb);
    });
  };
  Rng rng(2);
  std::vector<Tensor> in{random_tensor({2, 3}, rng), random_tensor({2, 3}, rng)};
  GradCheckOptions only_a;
  only_a.check = {true, false};
  EXPECT_TRUE(gradcheck_ok(f, in, only_a));
  GradCheckResult r = gradcheck(f, in);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.worst_input, 1u) << r.message;
}

// y = tanh(x) whose backward is scaled by `factor` (1 = correct): a small multiplicative error in
// a formula, the kind of bug a sign or transpose test does not cover.
GradFn scaled_tanh_fn(float factor) {
  return [factor](const std::vector<Var>& v) {
    Tensor xv = v[0].value().contiguous();
    Tensor y(xv.shape());
    for (int64_t i = 0; i < y.numel(); ++i) y.data()[i] = std::tanh(xv.data()[i]);
    return make_op("test_scaled_tanh", y, {v[0]}, [y, factor](Node& o) {
      Tensor d(y.shape());
      for (int64_t i = 0; i < d.numel(); ++i)
        d.data()[i] = factor * (1.0f - y.data()[i] * y.data()[i]) * o.grad.data()[i];
      accumulate_grad(*o.inputs[0], d);
    });
  };
}

TEST(GradcheckHarness, FailsOnABackwardScaledByFivePercent) {
  // Default tolerance atol 2e-3 + rtol 1e-2·|numeric|: a 5 % error exceeds it wherever
  // 0.04·|∂| > 2e-3, i.e. |∂| > 0.05 — most of the 12 elements (tanh' ≥ 0.42 on [-1, 1], |w| ≤ 1.5).
  Rng rng(5);
  Tensor x = random_tensor({3, 4}, rng);
  EXPECT_TRUE(gradcheck_ok(scaled_tanh_fn(1.0f), {x}));
  GradCheckResult r = gradcheck(scaled_tanh_fn(1.05f), {x});
  EXPECT_FALSE(r.ok) << r.message;
  EXPECT_GT(r.worst_ratio, 1.5) << r.message;
}

TEST(GradcheckHarness, ATightToleranceResolvesAOnePercentError) {
  // The default rtol (1e-2) is, by construction, blind to a 1 % error; an op test that wants to
  // resolve it declares a tighter tolerance, justified here: tanh has fan-out 1 and |tanh'''| ≤ 2,
  // so with h = 1e-2 the truncation error is ≤ h²/6·2·|w| ≈ 5e-5 (|w| ≤ 1.5) and the rounding
  // error ≈ u·|w·out|/h ≈ 1e-5. atol 1e-4, rtol 1e-3 is then ~2× over the worst case, while the
  // 1.01 scale is off by 0.01·|∂| ≥ 0.01·0.42·|w|, above atol + rtol·|∂| unless |w| is tiny.
  GradCheckOptions tight;
  tight.atol = 1e-4;
  tight.rtol = 1e-3;
  Rng rng(6);
  Tensor x = random_tensor({3, 4}, rng);
  EXPECT_TRUE(gradcheck_ok(scaled_tanh_fn(1.0f), {x}, tight));
  GradCheckResult r = gradcheck(scaled_tanh_fn(1.01f), {x}, tight);
  EXPECT_FALSE(r.ok) << r.message;
  // With the default tolerance the same 1 % error passes: rtol sets the resolution of the check.
  EXPECT_TRUE(gradcheck(scaled_tanh_fn(1.01f), {x}).ok);
}

TEST(GradcheckHarness, FailsWhenTheOpRecordsNoTape) {
  auto f = [](const std::vector<Var>& v) { return Var(v[0].value().clone(), false); };  // a detached copy
  Rng rng(3);
  GradCheckResult r = gradcheck(f, {random_tensor({2, 2}, rng)});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("no tape node"), std::string::npos) << r.message;
}

TEST(GradcheckHarness, LeavesTheCallersTensorsUntouched) {
  Rng rng(4);
  Tensor x = random_tensor(kSquare, rng);
  Tensor before = x.clone();
  EXPECT_TRUE(gradcheck_ok(square_fn(Bug::none), {x}));
  EXPECT_TRUE(tensor_near(x, before, 1e-30));
}

}  // namespace
