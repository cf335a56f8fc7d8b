// tanh, sigmoid, relu, exp, log (src/autograd/ops_activation.cpp): gradients, forward values
// against the double-precision functions, behaviour at large |x| and at the kinks, strided inputs.
//
// Tolerance: gradcheck.h's defaults unless a test says otherwise. The fan-out of one element is 1,
// and the third derivatives are bounded on the ranges used: tanh/sigmoid ≤ 2, exp ≤ e on [-1, 1],
// log 2/x³ ≤ 16 on [0.5, 2] (truncation h²/6·16 ≈ 3e-4).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <ostream>

#include "autograd/op_test_util.h"

using namespace recurrent;
using namespace recurrent::testing;

namespace {

struct UnaryCase {
  const char* label;
  std::function<Var(const Var&)> op;
  std::function<double(double)> ref;
  std::function<Tensor(Rng&)> input;  // a domain away from kinks and poles
};

// gtest prints this instead of the raw bytes of the parameter when a case fails.
void PrintTo(const UnaryCase& c, std::ostream* os) { *os << c.label; }

const Shape kShape{3, 4};

const UnaryCase kUnary[] = {
    {"tanh", [](const Var& x) { return recurrent::tanh(x); }, [](double x) { return std::tanh(x); },
     [](Rng& r) { return random_tensor(kShape, r, -2.0f, 2.0f); }},
    {"sigmoid", [](const Var& x) { return sigmoid(x); }, [](double x) { return 1.0 / (1.0 + std::exp(-x)); },
     [](Rng& r) { return random_tensor(kShape, r, -3.0f, 3.0f); }},
    // relu: |x| ≥ 0.2 > h, so no central difference straddles the kink at 0.
    {"relu", [](const Var& x) { return relu(x); }, [](double x) { return x > 0 ? x : 0.0; },
     [](Rng& r) { return random_away_from_zero(kShape, r, 0.2f, 1.0f); }},
    {"exp", [](const Var& x) { return recurrent::exp(x); }, [](double x) { return std::exp(x); },
     [](Rng& r) { return random_tensor(kShape, r, -1.0f, 1.0f); }},
    {"log", [](const Var& x) { return recurrent::log(x); }, [](double x) { return std::log(x); },
     [](Rng& r) { return random_tensor(kShape, r, 0.5f, 2.0f); }},
};

class EveryActivation : public ::testing::TestWithParam<UnaryCase> {};

GradFn unary_fn(const UnaryCase& c) {
  return [op = c.op](const std::vector<Var>& v) { return op(v[0]); };
}

TEST_P(EveryActivation, GradientsMatchFiniteDifferences) {
  Rng rng(21);
  EXPECT_TRUE(gradcheck_ok(unary_fn(GetParam()), {GetParam().input(rng)}));
}

TEST_P(EveryActivation, ForwardMatchesDouble) {
  Rng rng(22);
  Tensor x = GetParam().input(rng);
  std::vector<double> ref = values(x);
  for (double& v : ref) v = GetParam().ref(v);
  // float libm results: a few ulp.
  EXPECT_TRUE(tensor_near(GetParam().op(Var(x)).value(), tensor_of(ref, x.shape()), 1e-7, 1e-6));
}

TEST_P(EveryActivation, StridedInputs) {
  Rng rng(23);
  EXPECT_TRUE(strided_inputs_match(unary_fn(GetParam()), {GetParam().input(rng)}));
}

INSTANTIATE_TEST_SUITE_P(Ops, EveryActivation, ::testing::ValuesIn(kUnary),
                         [](const auto& info) { return std::string(info.param.label); });

const std::vector<float> kLarge = {-100.0f, -30.0f, -15.0f, -8.0f, 8.0f, 15.0f, 30.0f, 100.0f};

TEST(Sigmoid, LargeInputsStayFiniteAndExact) {
  Tensor x = Tensor::from(kLarge, {8});
  Tensor y = sigmoid(Var(x)).value();
  for (int64_t i = 0; i < 8; ++i) {
    const double ref = 1.0 / (1.0 + std::exp(-static_cast<double>(kLarge[i])));
    ASSERT_TRUE(std::isfinite(y.data()[i])) << "x = " << kLarge[i];
    // Relative accuracy also in the tail: σ(−30) ≈ 9.4e-14 must not be rounded to 0 by 1 − σ(30).
    EXPECT_NEAR(y.data()[i], ref, 1e-6 * ref + 1e-44) << "x = " << kLarge[i];
  }
  EXPECT_GT(y.data()[1], 0.0f);  // σ(−30) > 0
}

TEST(Sigmoid, LargeInputsGradient) {
  // At |x| ≥ 15, σ'(x) < 3e-7 and float(σ(x ± h)) near 1 may not move at all: the numeric derivative
  // is 0 or one ulp / 2h ≈ 3e-6, far below atol, so the check proves finiteness and the absence of
  // a large wrong gradient there; at ±8 (σ' = 3.4e-4) it is a real comparison.
  EXPECT_TRUE(gradcheck_ok([](const std::vector<Var>& v) { return sigmoid(v[0]); }, {Tensor::from(kLarge, {8})}));
  Var x(Tensor::from(kLarge, {8}), true);
  sigmoid(x).backward(Tensor::ones({8}));
  for (int64_t i = 0; i < 8; ++i) {
    const double s = 1.0 / (1.0 + std::exp(-static_cast<double>(kLarge[i])));
    EXPECT_NEAR(x.grad().data()[i], s * (1.0 - s), 1e-6 * s + 1e-30) << "x = " << kLarge[i];
  }
}

TEST(Tanh, SaturatesWithoutNaN) {
  Var x(Tensor::from({-100.0f, -20.0f, 20.0f, 100.0f}, {4}), true);
  Var y = recurrent::tanh(x);
  EXPECT_TRUE(tensor_near(y.value(), {-1, -1, 1, 1}, 1e-7));
  y.backward(Tensor::ones({4}));
  EXPECT_TRUE(tensor_near(x.grad(), {0, 0, 0, 0}, 1e-7));
}

TEST(Relu, GradientAtZeroIsZero) {
  // PyTorch's choice, stated in ops.h: the subgradient at 0 is 0.
  Var x(Tensor::from({-1.0f, 0.0f, 2.0f}, {3}), true);
  Var y = relu(x);
  EXPECT_TRUE(tensor_near(y.value(), {0, 0, 2}, 0.0 + 1e-30));
  y.backward(Tensor::from({5, 6, 7}, {3}));
  EXPECT_TRUE(tensor_near(x.grad(), {0, 0, 7}, 1e-30));
}

TEST(Log, OfZeroIsMinusInfinity) {
  Tensor y = recurrent::log(Var(Tensor::from({0.0f, 1.0f}, {2}))).value();
  EXPECT_TRUE(std::isinf(y.data()[0]) && y.data()[0] < 0);
  EXPECT_EQ(y.data()[1], 0.0f);
}

TEST(Exp, LogInvertsExp) {
  Rng rng(24);
  Tensor x = random_tensor({5}, rng, -3.0f, 3.0f);
  EXPECT_TRUE(tensor_near(recurrent::log(recurrent::exp(Var(x))).value(), x, 1e-6));
}

}  // namespace
