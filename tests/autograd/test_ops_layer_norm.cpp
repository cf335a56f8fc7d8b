// layer_norm over the last dim (src/autograd/ops_layer_norm.cpp): finite-difference gradients of
// input, gain and bias with every affine combination and 1-D to 3-D inputs, forward values by hand
// and against a double loop, constant rows, strided inputs, errors.
//
// Tolerance: gradcheck.h's defaults. Inputs are drawn in [-2, 2] with H = 5, so a row's standard
// deviation is ≈ 1.15 (rstd ≈ 0.9) and x̂ = O(1). One input element feeds the H outputs of its row.
// ∂³y/∂x³ is O(rstd³·|w|) per output, so with h = 1e-2 the truncation error is
// ≲ h²/6·H·rstd³·|w|·|w_loss| ≈ 1e-4/6·5·0.7·1.5·1.5 ≈ 1.3e-4; the rounding error of L(x ± h) is
// ≈ H·u·|w_loss·y|/h ≈ 5·6e-8·3/1e-2 ≈ 1e-4. Both ≈ 10× under atol 2e-3. A wrong term (e.g. the
// x̂·mean(d·x̂) projection dropped) is off by O(rstd·|d|) ~ 0.3.
// Gain and bias are linear in y (no truncation), with fan-out R (rows) ≤ 6.
#include <gtest/gtest.h>

#include <cmath>
#include <ostream>

#include "autograd/op_test_util.h"

using namespace recurrent;
using namespace recurrent::testing;

namespace {

struct LnCase {
  const char* label;
  Shape x_shape;
  bool weight, bias;
};

// gtest prints this instead of the raw bytes of the parameter when a case fails.
void PrintTo(const LnCase& c, std::ostream* os) { *os << c.label; }

const LnCase kLnCases[] = {
    {"affine_2d", {3, 5}, true, true},     {"affine_3d", {2, 3, 5}, true, true}, {"affine_1d", {5}, true, true},
    {"weight_only", {3, 5}, true, false}, {"bias_only", {3, 5}, false, true}, {"plain", {3, 5}, false, false},
};

constexpr float kEps = 1e-5f;

std::vector<Tensor> inputs_for_ops_layer_norm(const LnCase& c, Rng& rng) {
  const int64_t H = c.x_shape.back();
  std::vector<Tensor> in{random_tensor(c.x_shape, rng, -2.0f, 2.0f)};
  if (c.weight) in.push_back(random_tensor({H}, rng, 0.5f, 1.5f));
  if (c.bias) in.push_back(random_tensor({H}, rng));
  return in;
}

GradFn fn_ops_layer_norm(const LnCase& c) {
  return [c](const std::vector<Var>& v) {
    const Var w = c.weight ? v[1] : Var();
    const Var b = c.bias ? v[c.weight ? 2 : 1] : Var();
    return layer_norm(v[0], w, b, kEps);
  };
}

// y = (x − μ)/sqrt(σ² + eps)·w + b per row, in double.
Tensor ref_layer_norm(const LnCase& c, const std::vector<Tensor>& in) {
  const int64_t H = c.x_shape.back(), R = in[0].numel() / H;
  std::vector<double> x = values(in[0]), y(x.size());
  std::vector<double> w = c.weight ? values(in[1]) : std::vector<double>(H, 1.0);
  std::vector<double> b = c.bias ? values(in[c.weight ? 2 : 1]) : std::vector<double>(H, 0.0);
  for (int64_t r = 0; r < R; ++r) {
    double mu = 0.0, var = 0.0;
    for (int64_t h = 0; h < H; ++h) mu += x[r * H + h] / H;
    for (int64_t h = 0; h < H; ++h) var += (x[r * H + h] - mu) * (x[r * H + h] - mu) / H;
    for (int64_t h = 0; h < H; ++h) y[r * H + h] = (x[r * H + h] - mu) / std::sqrt(var + kEps) * w[h] + b[h];
  }
  return tensor_of(y, in[0].shape());
}

class LayerNormEvery : public ::testing::TestWithParam<LnCase> {};

TEST_P(LayerNormEvery, GradientsMatchFiniteDifferences) {
  Rng rng(91);
  EXPECT_TRUE(gradcheck_ok(fn_ops_layer_norm(GetParam()), inputs_for_ops_layer_norm(GetParam(), rng)));
}

TEST_P(LayerNormEvery, ForwardMatchesDoubleLoop) {
  Rng rng(92);
  auto in = inputs_for_ops_layer_norm(GetParam(), rng);
  std::vector<Var> vs(in.begin(), in.end());
  EXPECT_TRUE(tensor_near(fn_ops_layer_norm(GetParam())(vs).value(), ref_layer_norm(GetParam(), in), 1e-5, 1e-5));
}

TEST_P(LayerNormEvery, StridedInputs) {
  Rng rng(93);
  EXPECT_TRUE(strided_inputs_match(fn_ops_layer_norm(GetParam()), inputs_for_ops_layer_norm(GetParam(), rng)));
}

INSTANTIATE_TEST_SUITE_P(Modes, LayerNormEvery, ::testing::ValuesIn(kLnCases),
                         [](const auto& info) { return std::string(info.param.label); });

TEST(LayerNorm, OnlyOneInputNeedsGrad) {
  // Each input's gradient on its own (the others constant): the backward's needs_grad branches.
  Rng rng(94);
  auto in = inputs_for_ops_layer_norm(kLnCases[0], rng);
  for (size_t k = 0; k < 3; ++k) {
    GradCheckOptions o;
    o.check = {k == 0, k == 1, k == 2};
    EXPECT_TRUE(gradcheck_ok(fn_ops_layer_norm(kLnCases[0]), in, o)) << "input " << k;
  }
}

TEST(LayerNorm, ForwardAndParamGradientsByHand) {
  // x = [1, 3]: μ = 2, σ² = 1, x̂ = [−1, 1] (eps = 0). w = [2, 3], b = [0.5, −1] -> y = [−1.5, 2].
  // g = [1, 1]: ∂b = g = [1, 1], ∂w = g ⊙ x̂ = [−1, 1];
  // ∂x = rstd·(d − mean d − x̂·mean(d ⊙ x̂)), d = g ⊙ w = [2, 3]: mean d = 2.5, mean(d ⊙ x̂) = 0.5
  //    -> [2 − 2.5 + 0.5, 3 − 2.5 − 0.5] = [0, 0]: with H = 2, x̂ = ±[−1, 1] for every x (x0 ≠ x1).
  Var x(Tensor::from({1, 3}, {1, 2}), true), w(Tensor::from({2, 3}, {2}), true), b(Tensor::from({0.5f, -1}, {2}), true);
  Var y = layer_norm(x, w, b, 0.0f);
  EXPECT_TRUE(tensor_near(y.value(), {-1.5f, 2.0f}, 1e-6));
  y.backward(Tensor::ones({1, 2}));
  EXPECT_TRUE(tensor_near(b.grad(), {1, 1}, 1e-6));
  EXPECT_TRUE(tensor_near(w.grad(), {-1, 1}, 1e-6));
  EXPECT_TRUE(tensor_near(x.grad(), {0, 0}, 1e-6));
}

TEST(LayerNorm, InputGradientByHand) {
  // x = [0, 0, 3] (H = 3): μ = 1, σ² = 2, rstd = 1/√2, x̂ = [−1, −1, 2]/√2. No affine, g = [1, 0, 0]:
  // d = g, mean d = 1/3, mean(d ⊙ x̂) = −1/(3√2);
  // ∂x = rstd·(g − 1/3 + x̂/(3√2)) = (1/√2)·([1, 0, 0] − 1/3 + [−1, −1, 2]/6) = (1/√2)·[1/2, −1/2, 0].
  Var x(Tensor::from({0, 0, 3}, {3}), true);
  layer_norm(x, Var(), Var(), 0.0f).backward(Tensor::from({1, 0, 0}, {3}));
  const float s = 1.0f / std::sqrt(2.0f);
  EXPECT_TRUE(tensor_near(x.grad(), {0.5f * s, -0.5f * s, 0.0f}, 1e-6));
}

TEST(LayerNorm, ConstantRowIsFinite) {
  // σ² = 0: rstd = 1/sqrt(eps), x̂ = 0, y = b; the gradient is finite (eps keeps it bounded).
  Var x(Tensor::full({2, 4}, 3.0f), true), b(Tensor::from({1, 2, 3, 4}, {4}), true);
  Var y = layer_norm(x, Var(), b);
  EXPECT_TRUE(tensor_near(y.value(), {1, 2, 3, 4, 1, 2, 3, 4}, 1e-6));
  Rng rng(95);
  y.backward(random_tensor({2, 4}, rng));
  for (int64_t i = 0; i < 8; ++i) EXPECT_TRUE(std::isfinite(x.grad().data()[i])) << i;
}

TEST(LayerNorm, Errors) {
  Var x(Tensor({2, 4}));
  EXPECT_TRUE(throws_error([&] { layer_norm(x, Var(Tensor({3})), Var()); }, "layer_norm", "weight and bias must be [4]"));
  EXPECT_TRUE(throws_error([&] { layer_norm(x, Var(), Var(Tensor({4, 1}))); }, "layer_norm", "must be [4]"));
  EXPECT_TRUE(throws_error([&] { layer_norm(Var(Tensor({2, 0})), Var(), Var()); }, "layer_norm", "non-empty last dim"));
}

}  // namespace
