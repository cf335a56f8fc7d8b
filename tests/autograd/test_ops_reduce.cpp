// sum / mean over everything and over one dim (src/autograd/ops_reduce.cpp): finite-difference
// gradients for every dim with and without keepdim, forward values by hand and against a double
// loop, strided inputs, errors.
//
// Tolerance: gradcheck.h's defaults. Sums are linear (no truncation error); one input element
// feeds exactly one output, and the output is accumulated in double and rounded once, so the
// rounding error of L(x ± h) is ≈ u·|w·out| ≤ 6e-8·1.5·24 and the numeric derivative is off by
// ≲ 2e-4 at h = 1e-2 — below atol 2e-3, while a missing 1/n in mean is off by (1 − 1/n)·|w| ≫ atol.
#include <gtest/gtest.h>

#include <ostream>

#include "autograd/op_test_util.h"

using namespace recurrent;
using namespace recurrent::testing;

namespace {

const Shape kShapeOpsReduce{2, 3, 4};

TEST(Reduce, SumAndMeanOfAllGradients) {
  Rng rng(51);
  EXPECT_TRUE(gradcheck_ok([](const std::vector<Var>& v) { return sum(v[0]); }, {random_tensor(kShapeOpsReduce, rng)}));
  EXPECT_TRUE(gradcheck_ok([](const std::vector<Var>& v) { return mean(v[0]); }, {random_tensor(kShapeOpsReduce, rng)}));
}

TEST(Reduce, SumAndMeanOfAllByHand) {
  Var x(Tensor::from({1, 2, 3, 4, 5, 6}, {2, 3}), true);
  Var s = sum(x);
  EXPECT_EQ(s.shape(), Shape{});
  EXPECT_EQ(s.value().item(), 21.0f);
  EXPECT_EQ(mean(x).value().item(), 3.5f);
  s.backward();
  EXPECT_TRUE(tensor_near(x.grad(), {1, 1, 1, 1, 1, 1}, 1e-30));
  x.zero_grad();
  mean(x).backward();
  EXPECT_TRUE(tensor_near(x.grad(), std::vector<float>(6, 1.0f / 6.0f), 1e-8));
}

TEST(Reduce, SumOfAllIsAccumulatedInDouble) {
  // ops.h promises double accumulation. In float, 1e8 + 1 == 1e8 (the ulp at 1e8 is 8), so a float
  // running sum of 1e8 followed by 1000 ones stays at 1e8; in double it is 100001000, a multiple of
  // 8 and hence exact in float as well.
  std::vector<float> v(1001, 1.0f);
  v[0] = 1e8f;
  const float s = sum(Var(Tensor::from(v, {1001}))).value().item();
  EXPECT_EQ(s, 1e8f + 1000.0f);
}

struct DimCase {
  int64_t dim;
  bool keepdim;
  bool average;
};

// gtest prints this instead of the raw bytes of the parameter when a case fails.
void PrintTo(const DimCase& c, std::ostream* os) {
  *os << (c.average ? "mean" : "sum") << " over dim " << c.dim << (c.keepdim ? ", keepdim" : "");
}

class ReduceDim : public ::testing::TestWithParam<DimCase> {};

GradFn dim_fn(const DimCase& c) {
  return [c](const std::vector<Var>& v) { return c.average ? mean(v[0], c.dim, c.keepdim) : sum(v[0], c.dim, c.keepdim); };
}

TEST_P(ReduceDim, GradientsMatchFiniteDifferences) {
  Rng rng(52);
  EXPECT_TRUE(gradcheck_ok(dim_fn(GetParam()), {random_tensor(kShapeOpsReduce, rng)}));
}

TEST_P(ReduceDim, ForwardMatchesDoubleLoop) {
  const DimCase c = GetParam();
  Rng rng(53);
  Tensor x = random_tensor(kShapeOpsReduce, rng);
  const int64_t d = c.dim < 0 ? c.dim + 3 : c.dim;
  Shape out_shape = kShapeOpsReduce;
  out_shape[d] = 1;
  std::vector<double> ref(shape_numel(out_shape), 0.0);
  for (int64_t i = 0; i < kShapeOpsReduce[0]; ++i)
    for (int64_t j = 0; j < kShapeOpsReduce[1]; ++j)
      for (int64_t k = 0; k < kShapeOpsReduce[2]; ++k) {
        int64_t idx[3] = {i, j, k};
        idx[d] = 0;
        ref[(idx[0] * out_shape[1] + idx[1]) * out_shape[2] + idx[2]] += x.at({i, j, k}) / (c.average ? kShapeOpsReduce[d] : 1.0);
      }
  if (!c.keepdim) out_shape.erase(out_shape.begin() + d);
  EXPECT_TRUE(tensor_near(dim_fn(c)({Var(x)}).value(), tensor_of(ref, out_shape), 1e-6));
}

TEST_P(ReduceDim, StridedInputs) {
  Rng rng(54);
  EXPECT_TRUE(strided_inputs_match(dim_fn(GetParam()), {random_tensor(kShapeOpsReduce, rng)}));
}

std::vector<DimCase> dim_cases() {
  std::vector<DimCase> cs;
  for (int64_t d : {0, 1, 2, -1})
    for (bool keep : {false, true})
      for (bool avg : {false, true}) cs.push_back({d, keep, avg});
  return cs;
}

INSTANTIATE_TEST_SUITE_P(Dims, ReduceDim, ::testing::ValuesIn(dim_cases()), [](const auto& info) {
  const DimCase& c = info.param;
  return std::string(c.average ? "mean" : "sum") + "_dim" + (c.dim < 0 ? "m" + std::to_string(-c.dim) : std::to_string(c.dim)) +
         (c.keepdim ? "_keepdim" : "");
});

TEST(Reduce, DimByHand) {
  // [[1, 2, 3], [4, 5, 6]]: sum over dim 0 = [5, 7, 9]; mean over dim 1 = [2, 5]; keepdim -> [2, 1]
  Tensor x = Tensor::from({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_TRUE(tensor_near(sum(Var(x), 0).value(), {5, 7, 9}, 1e-30));
  Var m = mean(Var(x), 1, true);
  EXPECT_EQ(m.shape(), (Shape{2, 1}));
  EXPECT_TRUE(tensor_near(m.value(), {2, 5}, 1e-7));
}

TEST(Reduce, Errors) {
  EXPECT_TRUE(throws_error([] { sum(Var(Tensor({2, 3})), 2); }, "sum", "out of range"));
  EXPECT_TRUE(throws_error([] { mean(Var(Tensor({2, 3})), -3); }, "mean", "out of range"));
}

}  // namespace
