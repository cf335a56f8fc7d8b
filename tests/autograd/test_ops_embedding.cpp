// embedding lookup (src/autograd/ops_embedding.cpp): finite-difference gradient of the table with
// repeated and unused indices, 0-D to 2-D index shapes, the float-index overload, forward values
// by hand, strided tables, errors.
//
// Tolerance: gradcheck.h's defaults. The op is linear in the table; one table element feeds as
// many outputs as its row is looked up (≤ 3 here), so there is no truncation error and the
// rounding error is ≈ 3·u·|w·W|/h ≈ 3e-5 — far under atol 2e-3, while a repeated index that
// overwrites instead of adding is off by a whole |w_i| ~ 0.5.
#include <gtest/gtest.h>

#include <ostream>

#include "autograd/op_test_util.h"

using namespace recurrent;
using namespace recurrent::testing;

namespace {

constexpr int64_t kV = 5, kD = 3;

struct EmbCase {
  const char* label;
  std::vector<int64_t> idx;
  Shape idx_shape;
};

// gtest prints this instead of the raw bytes of the parameter when a case fails.
void PrintTo(const EmbCase& c, std::ostream* os) { *os << c.label; }

const EmbCase kEmbCases[] = {
    {"distinct_1d", {4, 0, 2}, {3}},
    {"repeated_1d", {1, 3, 1, 1}, {4}},              // row 1 three times, rows 0, 2, 4 unused
    {"repeated_2d", {0, 4, 4, 2, 0, 4}, {2, 3}},     // [B, T] token ids, as a language model uses them
    {"single_0d", {2}, {}},                           // one index -> [D]
};

class EmbeddingEvery : public ::testing::TestWithParam<EmbCase> {};

GradFn fn(const EmbCase& c) {
  return [c](const std::vector<Var>& v) { return embedding(v[0], c.idx, c.idx_shape); };
}

TEST_P(EmbeddingEvery, GradientsMatchFiniteDifferences) {
  Rng rng(71);
  EXPECT_TRUE(gradcheck_ok(fn(GetParam()), {random_tensor({kV, kD}, rng)}));
}

TEST_P(EmbeddingEvery, ForwardCopiesRowsAndBackwardScatterAdds) {
  const EmbCase& c = GetParam();
  Rng rng(72);
  Tensor w = random_tensor({kV, kD}, rng);
  Var wv(w, true);
  Var y = embedding(wv, c.idx, c.idx_shape);
  Shape expect_shape = c.idx_shape;
  expect_shape.push_back(kD);
  ASSERT_EQ(y.shape(), expect_shape);
  // Reference: out row i = W[idx_i]; ∂W[v] = Σ_{i: idx_i = v} g_i.
  Tensor g = random_tensor(expect_shape, rng);
  std::vector<double> ref_out, ref_grad(kV * kD, 0.0);
  for (size_t i = 0; i < c.idx.size(); ++i)
    for (int64_t d = 0; d < kD; ++d) {
      ref_out.push_back(w.at({c.idx[i], d}));
      ref_grad[c.idx[i] * kD + d] += g.data()[i * kD + d];
    }
  EXPECT_TRUE(tensor_near(y.value(), tensor_of(ref_out, expect_shape), 0.0 + 1e-30));
  y.backward(g);
  EXPECT_TRUE(tensor_near(wv.grad(), tensor_of(ref_grad, {kV, kD}), 1e-6));
}

TEST_P(EmbeddingEvery, StridedTable) {
  Rng rng(73);
  EXPECT_TRUE(strided_inputs_match(fn(GetParam()), {random_tensor({kV, kD}, rng)}));
}

INSTANTIATE_TEST_SUITE_P(Indices, EmbeddingEvery, ::testing::ValuesIn(kEmbCases),
                         [](const auto& info) { return std::string(info.param.label); });

TEST(Embedding, ByHand) {
  // W rows [0, 1], [10, 11], [20, 21]; ids [2, 0, 2] -> rows 2, 0, 2. g = ones: ∂W = [[1,1],[0,0],[2,2]].
  Var w(Tensor::from({0, 1, 10, 11, 20, 21}, {3, 2}), true);
  Var y = embedding(w, {2, 0, 2}, {3});
  EXPECT_TRUE(tensor_near(y.value(), {20, 21, 0, 1, 20, 21}, 1e-30));
  y.backward(Tensor::ones({3, 2}));
  EXPECT_TRUE(tensor_near(w.grad(), {1, 1, 0, 0, 2, 2}, 1e-30));
}

TEST(Embedding, FloatIndexTensorOverload) {
  Rng rng(74);
  Tensor ids = Tensor::from({3, 1, 1, 0}, {2, 2});
  auto f = [ids](const std::vector<Var>& v) { return embedding(v[0], ids); };
  EXPECT_TRUE(gradcheck_ok(f, {random_tensor({kV, kD}, rng)}));
  Tensor w = random_tensor({kV, kD}, rng);
  EXPECT_TRUE(tensor_near(embedding(Var(w), ids).value(), embedding(Var(w), {3, 1, 1, 0}, {2, 2}).value(), 1e-30));
}

TEST(Embedding, Errors) {
  Var w(Tensor({kV, kD}));
  EXPECT_TRUE(throws_error([&] { embedding(w, {0, 5}, {2}); }, "embedding", "index 5 at position 1 is out of range"));
  EXPECT_TRUE(throws_error([&] { embedding(w, {-1}, {1}); }, "embedding", "out of range"));
  EXPECT_TRUE(throws_error([&] { embedding(w, {0, 1, 2}, {2}); }, "embedding", "3 indices for index shape"));
  EXPECT_TRUE(throws_error([&] { embedding(Var(Tensor({kV})), {0}, {1}); }, "embedding", "weight must be"));
  EXPECT_TRUE(throws_error([&] { embedding(w, Tensor::from({0.5f}, {1})); }, "embedding", "expected an integer"));
}

}  // namespace
