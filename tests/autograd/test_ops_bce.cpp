// sigmoid_bce (src/autograd/ops_bce.cpp): finite-difference gradients for every reduction and kind of
// row weights, the forward against a double loop of the naive formula, PyTorch's BCEWithLogitsLoss on
// the committed fixtures (scripts/fixtures/make_bce_fixtures.py: none / sum / mean, with and without
// weight = row_weights[..., None], logits of scale 60 where e^x overflows float32), large logits, strided
// inputs, and the argument errors.
//
// Tolerances:
//  * gradcheck: gradcheck.h's defaults. ℓ'' = σ(1 − σ) ≤ 1/4 and |ℓ'''| ≤ 0.1, so the truncation error
//    is ≈ 2e-6; each input feeds one output (fan-out 1), so rounding is far below atol.
//  * fixtures: the oracle is float64 rounded once; we store σ and the loss terms in float and sum in
//    double, so each element's loss / gradient is within a few float ulps: rtol 1e-5 on totals,
//    atol 1e-6 + rtol 1e-5 element-wise.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "autograd/op_test_util.h"
#include "recurrent/autograd/bce.h"
#include "recurrent/io/safetensors.h"

using namespace recurrent;
using namespace recurrent::testing;

namespace {

struct BceCase {
  const char* label;
  BceReduction red;
  int weights;  // 0 none, 1 a 0/1 mask, 2 positive reals
};

void PrintTo(const BceCase& c, std::ostream* os) { *os << c.label; }

const BceCase kBceCases[] = {
    {"none", BceReduction::none, 0},         {"sum", BceReduction::sum, 0},
    {"mean", BceReduction::mean, 0},         {"mean_rows", BceReduction::mean_rows, 0},
    {"none_mask", BceReduction::none, 1},    {"sum_mask", BceReduction::sum, 1},
    {"mean_mask", BceReduction::mean, 1},    {"mean_rows_mask", BceReduction::mean_rows, 1},
    {"sum_real", BceReduction::sum, 2},      {"mean_rows_real", BceReduction::mean_rows, 2},
};

// 0/1 labels with every third a soft label.
Tensor targets_for(const Shape& s, Rng& rng) {
  Tensor t(s);
  for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = i % 3 == 2 ? rng.uniform() : (rng.bernoulli(0.3f) ? 1.0f : 0.0f);
  return t;
}

SigmoidBceOptions options_for(const BceCase& c, int64_t rows, Rng& rng) {
  SigmoidBceOptions o;
  o.reduction = c.red;
  for (int64_t r = 0; r < rows && c.weights; ++r)
    o.row_weights.push_back(c.weights == 1 ? (r % 3 == 1 ? 0.0f : 1.0f) : 0.25f + 1.5f * rng.uniform());
  return o;
}

GradFn bce_fn(const Tensor& y, const SigmoidBceOptions& o) {
  return [y, o](const std::vector<Var>& v) { return sigmoid_bce(v[0], y, o); };
}

}  // namespace

class SigmoidBceEvery : public ::testing::TestWithParam<BceCase> {};

TEST_P(SigmoidBceEvery, GradientsMatchFiniteDifferences) {
  Rng rng(2301);
  const Shape s{3, 2, 5};  // rows 6, labels 5
  const Tensor y = targets_for(s, rng);
  const SigmoidBceOptions o = options_for(GetParam(), 6, rng);
  EXPECT_TRUE(gradcheck_ok(bce_fn(y, o), {random_tensor(s, rng, -4.0f, 4.0f)}));
}

TEST_P(SigmoidBceEvery, ForwardMatchesTheNaiveFormulaInDouble) {
  const BceCase& c = GetParam();
  Rng rng(2302);
  const int64_t R = 4, K = 6;
  const Tensor y = targets_for({R, K}, rng), x = random_tensor({R, K}, rng, -5.0f, 5.0f);
  const SigmoidBceOptions o = options_for(c, R, rng);
  std::vector<double> elem(R * K);
  double total = 0.0, wsum = 0.0;
  for (int64_t r = 0; r < R; ++r) {
    const double w = o.row_weights.empty() ? 1.0 : o.row_weights[r];
    wsum += w;
    for (int64_t k = 0; k < K; ++k) {
      const double xv = x.data()[r * K + k], yv = y.data()[r * K + k], s = 1.0 / (1.0 + std::exp(-xv));
      elem[r * K + k] = -w * (yv * std::log(s) + (1 - yv) * std::log(1 - s));  // fine for |x| ≤ 5
      total += elem[r * K + k];
    }
  }
  const Tensor out = sigmoid_bce(Var(x), y, o).value();
  if (c.red == BceReduction::none) {
    EXPECT_TRUE(tensor_near(out, tensor_of(elem, {R, K}), 1e-6, 1e-6));
    return;
  }
  const double want = c.red == BceReduction::sum ? total : c.red == BceReduction::mean ? total / (R * K) : total / wsum;
  EXPECT_NEAR(out.item(), want, 1e-6 * std::fabs(want));
}

TEST_P(SigmoidBceEvery, StridedLogits) {
  Rng rng(2303);
  const Tensor y = targets_for({4, 3}, rng);
  EXPECT_TRUE(strided_inputs_match(bce_fn(y, options_for(GetParam(), 4, rng)), {random_tensor({4, 3}, rng, -3.0f, 3.0f)}));
}

INSTANTIATE_TEST_SUITE_P(Cases, SigmoidBceEvery, ::testing::ValuesIn(kBceCases),
                         [](const auto& info) { return std::string(info.param.label); });

TEST(SigmoidBce, MatchesPyTorchBCEWithLogitsLoss) {
  const io::SafeTensors fx = io::read_safetensors(std::string(RECURRENT_TEST_DATA) + "/bce/bce_cases.safetensors");
  EXPECT_EQ(fx.metadata_or("torch_version", "").rfind("1.13", 0), 0u);
  const int n = std::stoi(fx.metadata().at("cases"));
  ASSERT_GE(n, 27);
  int sum_cases = 0, mean_cases = 0, weighted = 0;
  for (int k = 0; k < n; ++k) {
    const std::string c = "c" + std::to_string(k);
    SCOPED_TRACE(c + " " + fx.metadata().at(c));
    const nlohmann::json meta = nlohmann::json::parse(fx.metadata().at(c));
    SigmoidBceOptions o;
    const std::string red = meta.at("reduction");
    o.reduction = red == "none" ? BceReduction::none : red == "sum" ? BceReduction::sum : BceReduction::mean;
    if (fx.contains(c + "/row_weights")) {
      const Tensor w = fx.get_f32(c + "/row_weights");
      o.row_weights.assign(w.data(), w.data() + w.numel());
      ++weighted;
    }
    sum_cases += red == "sum", mean_cases += red == "mean";
    Var x(fx.get_f32(c + "/logits"), true);
    Var loss = sigmoid_bce(x, fx.get_f32(c + "/targets"), o);
    const Tensor want = fx.get_f32(c + "/loss");
    if (o.reduction == BceReduction::none)
      EXPECT_TRUE(tensor_near(loss.value(), want, 1e-6, 1e-5));
    else
      EXPECT_NEAR(loss.value().item(), want.item(), 1e-6 + 1e-5 * std::fabs(want.item()));
    loss.backward(fx.get_f32(c + "/grad_out"));
    EXPECT_TRUE(tensor_near(x.grad(), fx.get_f32(c + "/grad"), 1e-6, 1e-5));
  }
  EXPECT_GE(sum_cases, 9);
  EXPECT_GE(mean_cases, 9);
  EXPECT_GE(weighted, 18);
}

TEST(SigmoidBce, ByHand) {
  // x = 0: ℓ = log 2 whatever y; x = 2, y = 1: log(1 + e^{−2}); mean_rows of rows [0, 0] and [2, 2]
  // with y = [1, 0], [1, 1]: (2 log 2 + 2 log(1 + e^{−2})) / 2.
  const Tensor y = Tensor::from({1, 0, 1, 1}, {2, 2});
  Var x(Tensor::from({0, 0, 2, 2}, {2, 2}), true);
  Var l = sigmoid_bce(x, y);
  EXPECT_NEAR(l.value().item(), std::log(2.0) + std::log1p(std::exp(-2.0)), 1e-6);
  l.backward();
  const double s2 = 1.0 / (1.0 + std::exp(-2.0));
  EXPECT_TRUE(tensor_near(x.grad(), Tensor::from({-0.25f, 0.25f, float((s2 - 1) / 2), float((s2 - 1) / 2)}, {2, 2}), 1e-7));
}

TEST(SigmoidBce, HugeLogitsStayFinite) {
  // e^{±1000} overflows any float; the log-sum-exp form gives ℓ = |x| for the wrong label, 0 for the right one.
  const Tensor y = Tensor::from({1, 0, 0, 1}, {1, 4});
  Var x(Tensor::from({1000, 1000, -1000, -1000}, {1, 4}), true);
  SigmoidBceOptions o;
  o.reduction = BceReduction::sum;
  Var l = sigmoid_bce(x, y, o);
  EXPECT_NEAR(l.value().item(), 2000.0f, 1e-3);
  l.backward();
  EXPECT_TRUE(tensor_near(x.grad(), Tensor::from({0, 1, 0, -1}, {1, 4}), 1e-12));
}

TEST(SigmoidBce, AllRowsMaskedGivesZeroNotNaN) {
  SigmoidBceOptions o;
  o.row_weights = {0.0f, 0.0f};
  Var x(Tensor::from({1, -2, 3, 4}, {2, 2}), true);
  Var l = sigmoid_bce(x, Tensor::from({1, 0, 0, 1}, {2, 2}), o);
  EXPECT_EQ(l.value().item(), 0.0f);
  l.backward();
  EXPECT_TRUE(tensor_near(x.grad(), Tensor::zeros({2, 2}), 1e-12));
}

TEST(SigmoidBce, NoTapeWithoutGrad) {
  NoGradGuard ng;
  Var x(Tensor::from({1, 2}, {1, 2}), true);
  EXPECT_FALSE(sigmoid_bce(x, Tensor::from({0, 1}, {1, 2})).requires_grad());
}

TEST(SigmoidBce, Errors) {
  const Tensor x = Tensor::zeros({2, 3});
  EXPECT_TRUE(throws_error([&] { sigmoid_bce(Var(x), Tensor::zeros({3, 2})); }, "sigmoid_bce", "differ from logits"));
  SigmoidBceOptions o;
  o.row_weights = {1.0f};
  EXPECT_TRUE(throws_error([&] { sigmoid_bce(Var(x), x, o); }, "sigmoid_bce", "1 row weights for 2 rows"));
  o.row_weights = {1.0f, -1.0f};
  EXPECT_TRUE(throws_error([&] { sigmoid_bce(Var(x), x, o); }, "sigmoid_bce", "expected finite and >= 0"));
  EXPECT_TRUE(throws_error([&] { sigmoid_bce(Var(Tensor::zeros({2, 0})), Tensor::zeros({2, 0})); }, "sigmoid_bce",
                           "label dim"));
}
