// softmax and log_softmax over the last dim (src/autograd/ops_softmax.cpp): finite-difference
// gradients on 1-D, 2-D and 3-D inputs, forward values by hand and against a double loop, large
// inputs, strided inputs.
//
// Tolerance: gradcheck.h's defaults. One input element feeds the C outputs of its row (fan-out
// C ≤ 5 here) and the derivatives of softmax are bounded (|∂³y/∂x³| ≤ 1, and for log-softmax the
// third derivative is that of −log Σ e^x, also ≤ 1 per direction), so with logits in [-2, 2] and
// h = 1e-2 the truncation error is ≤ h²/6·C·|w| ≈ 1.3e-4 and the rounding error ≈ C·u·|w·y|/h
// ≈ 5e-5 (log-softmax outputs are up to ~5 in size: ≈ 2e-4). Both sit well under atol 2e-3.
#include <gtest/gtest.h>

#include <cmath>
#include <ostream>

#include "autograd/op_test_util.h"

using namespace recurrent;
using namespace recurrent::testing;

namespace {

struct SoftmaxCase {
  const char* label;
  bool log;
  Shape shape;
};

// gtest prints this instead of the raw bytes of the parameter when a case fails.
void PrintTo(const SoftmaxCase& c, std::ostream* os) { *os << c.label; }

Var apply_ops_softmax(bool log_out, const Var& x) { return log_out ? log_softmax(x) : softmax(x); }

class SoftmaxEvery : public ::testing::TestWithParam<SoftmaxCase> {};

GradFn fn_ops_softmax(bool log_out) {
  return [log_out](const std::vector<Var>& v) { return apply_ops_softmax(log_out, v[0]); };
}

TEST_P(SoftmaxEvery, GradientsMatchFiniteDifferences) {
  Rng rng(61);
  EXPECT_TRUE(gradcheck_ok(fn_ops_softmax(GetParam().log), {random_tensor(GetParam().shape, rng, -2.0f, 2.0f)}));
}

TEST_P(SoftmaxEvery, ForwardMatchesDoubleLoop) {
  Rng rng(62);
  Tensor x = random_tensor(GetParam().shape, rng, -2.0f, 2.0f);
  const int64_t C = x.size(-1), R = x.numel() / C;
  std::vector<double> xs = values(x), ref(xs.size());
  for (int64_t r = 0; r < R; ++r) {
    double z = 0.0;
    for (int64_t c = 0; c < C; ++c) z += std::exp(xs[r * C + c]);
    for (int64_t c = 0; c < C; ++c)
      ref[r * C + c] = GetParam().log ? xs[r * C + c] - std::log(z) : std::exp(xs[r * C + c]) / z;
  }
  EXPECT_TRUE(tensor_near(apply_ops_softmax(GetParam().log, Var(x)).value(), tensor_of(ref, x.shape()), 1e-6, 1e-6));
}

TEST_P(SoftmaxEvery, StridedInputs) {
  Rng rng(63);
  EXPECT_TRUE(strided_inputs_match(fn_ops_softmax(GetParam().log), {random_tensor(GetParam().shape, rng, -2.0f, 2.0f)}));
}

const SoftmaxCase kSoftmaxCases[] = {
    {"softmax_1d", false, {5}},          {"softmax_2d", false, {3, 5}},          {"softmax_3d", false, {2, 3, 4}},
    {"softmax_c1", false, {3, 1}},       {"log_softmax_1d", true, {5}},          {"log_softmax_2d", true, {3, 5}},
    {"log_softmax_3d", true, {2, 3, 4}}, {"log_softmax_c1", true, {3, 1}},
};

INSTANTIATE_TEST_SUITE_P(Ops, SoftmaxEvery, ::testing::ValuesIn(kSoftmaxCases),
                         [](const auto& info) { return std::string(info.param.label); });

TEST(Softmax, ForwardByHand) {
  // x = [0, ln 3]: e^x = [1, 3] -> softmax [1/4, 3/4], log-softmax [−ln 4, ln 3/4]
  Tensor x = Tensor::from({0.0f, std::log(3.0f)}, {1, 2});
  EXPECT_TRUE(tensor_near(softmax(Var(x)).value(), {0.25f, 0.75f}, 1e-7));
  EXPECT_TRUE(tensor_near(log_softmax(Var(x)).value(), {-std::log(4.0f), std::log(0.75f)}, 1e-6));
}

TEST(Softmax, BackwardByHand) {
  // y = [1/4, 3/4], g = [1, 0]:  ∂x = y ⊙ (g − g·y) = [1/4·3/4, 3/4·(−1/4)] = [3/16, −3/16]
  // log-softmax, same g:        ∂x = g − softmax·Σg = [1 − 1/4, −3/4]
  Var x(Tensor::from({0.0f, std::log(3.0f)}, {2}), true);
  softmax(x).backward(Tensor::from({1, 0}, {2}));
  EXPECT_TRUE(tensor_near(x.grad(), {3.0f / 16, -3.0f / 16}, 1e-7));
  x.zero_grad();
  log_softmax(x).backward(Tensor::from({1, 0}, {2}));
  EXPECT_TRUE(tensor_near(x.grad(), {0.75f, -0.75f}, 1e-7));
}

TEST(Softmax, LargeLogitsDoNotOverflow) {
  // Max subtraction: e^{1000} would overflow float; the result depends only on differences.
  Tensor big = Tensor::from({1000.0f, 1000.0f + std::log(3.0f), -1000.0f}, {3});
  // 1000 + ln 3 is stored to ±ulp(1000)/2 = 3e-5, which moves the probabilities by ≤ 3e-5·3/16.
  Tensor y = softmax(Var(big)).value();
  EXPECT_TRUE(tensor_near(y, {0.25f, 0.75f, 0.0f}, 2e-5));
  // log-softmax: max = 1000 + ln 3, lse = ln 4/3 -> [−ln 4, ln 3/4, −2000 − ln 3 − ln 4/3 = −2000 − ln 4]
  Tensor ly = log_softmax(Var(big)).value();
  EXPECT_NEAR(ly.data()[0], -std::log(4.0), 1e-4);
  EXPECT_TRUE(std::isfinite(ly.data()[2]));
  EXPECT_NEAR(ly.data()[2], -2000.0 - std::log(4.0), 1e-3);  // ulp(2000) = 1.2e-4
}

TEST(Softmax, GradientAtLargeLogits) {
  // Same check far from 0: shift invariance means the gradient equals the one at the shifted input.
  Rng rng(64);
  Tensor x = random_tensor({2, 4}, rng, -2.0f, 2.0f);
  Tensor shifted = x.clone();
  for (int64_t i = 0; i < shifted.numel(); ++i) shifted.data()[i] += 500.0f;
  for (bool log_out : {false, true}) {
    Var a(x, true), b(shifted, true);
    Tensor g = random_tensor({2, 4}, rng);
    apply_ops_softmax(log_out, a).backward(g);
    apply_ops_softmax(log_out, b).backward(g);
    EXPECT_TRUE(tensor_near(b.grad(), a.grad(), 1e-4)) << (log_out ? "log_softmax" : "softmax");  // ulp(500) = 3e-5
  }
}

TEST(Softmax, Errors) {
  EXPECT_TRUE(throws_error([] { softmax(Var(Tensor({3, 0}))); }, "softmax", "C > 0"));
  EXPECT_TRUE(throws_error([] { log_softmax(Var(Tensor::scalar(1.0f))); }, "log_softmax", "at least one dim"));
}

}  // namespace
