// reshape, transpose, concat, slice (src/autograd/ops_shape.cpp): finite-difference gradients,
// forward values written out by hand, strided inputs, errors.
//
// Tolerance: gradcheck.h's defaults. Every shape op is linear with fan-out 1 (each input element
// lands in at most one output element), so the central difference has no truncation error and its
// rounding error is ≈ u·|w·x|/h ≈ 6e-8·1.5/1e-2 ≈ 1e-5 — far below atol 2e-3, while a gradient
// routed to the wrong element is off by |w| ~ 0.5.
#include <gtest/gtest.h>

#include "autograd/op_test_util.h"

using namespace recurrent;
using namespace recurrent::testing;

namespace {

// 0, 1, 2, ... in row-major order: forward checks then read as index arithmetic.
Tensor iota(const Shape& s) {
  Tensor t(s);
  for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<float>(i);
  return t;
}

// ---- reshape ------------------------------------------------------------------------------------

TEST(Reshape, GradientsMatchFiniteDifferences) {
  Rng rng(31);
  for (Shape to : {Shape{6, 4}, Shape{4, -1}, Shape{24}, Shape{2, 2, 3, 2}}) {
    auto f = [to](const std::vector<Var>& v) { return reshape(v[0], to); };
    EXPECT_TRUE(gradcheck_ok(f, {random_tensor({2, 3, 4}, rng)})) << shape_str(to);
  }
}

TEST(Reshape, ForwardKeepsRowMajorOrderAndInfersMinusOne) {
  Var y = reshape(Var(iota({2, 3})), {3, -1});
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
  EXPECT_TRUE(tensor_near(y.value(), {0, 1, 2, 3, 4, 5}, 0.0 + 1e-30));
}

TEST(Reshape, StridedInputsAndErrors) {
  Rng rng(32);
  EXPECT_TRUE(strided_inputs_match([](const std::vector<Var>& v) { return reshape(v[0], {4, 3}); },
                                   {random_tensor({3, 4}, rng)}));
  EXPECT_TRUE(throws_error([] { reshape(Var(Tensor({2, 3})), {4, 2}); }, "reshape", "cannot view"));
}

// ---- transpose ----------------------------------------------------------------------------------

TEST(Transpose, GradientsMatchFiniteDifferences) {
  Rng rng(33);
  for (auto [d0, d1] : {std::pair<int64_t, int64_t>{0, 1}, {0, 2}, {1, 2}, {-1, -3}, {1, 1}}) {
    auto f = [d0, d1](const std::vector<Var>& v) { return transpose(v[0], d0, d1); };
    EXPECT_TRUE(gradcheck_ok(f, {random_tensor({2, 3, 4}, rng)})) << d0 << "," << d1;
  }
}

TEST(Transpose, ForwardByHand) {
  // [[0, 1, 2], [3, 4, 5]]ᵀ = [[0, 3], [1, 4], [2, 5]]
  Var y = transpose(Var(iota({2, 3})), 0, 1);
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
  EXPECT_TRUE(y.value().is_contiguous());
  EXPECT_TRUE(tensor_near(y.value(), {0, 3, 1, 4, 2, 5}, 1e-30));
}

TEST(Transpose, StridedInputsAndErrors) {
  Rng rng(34);
  EXPECT_TRUE(strided_inputs_match([](const std::vector<Var>& v) { return transpose(v[0], 0, 2); },
                                   {random_tensor({2, 3, 4}, rng)}));
  EXPECT_TRUE(throws_error([] { transpose(Var(Tensor({2, 3})), 0, 2); }, "transpose", "out of range"));
}

// ---- concat -------------------------------------------------------------------------------------

TEST(Concat, GradientsMatchFiniteDifferencesAlongEveryDim) {
  Rng rng(35);
  for (int64_t dim : {0, 1, 2, -1}) {
    const int64_t d = dim < 0 ? dim + 3 : dim;
    Shape a{2, 3, 2}, b{2, 3, 2}, c{2, 3, 2};
    b[d] = 1;  // unequal lengths along dim: the slice offsets must be right
    c[d] = 3;
    auto f = [dim](const std::vector<Var>& v) { return concat(v, dim); };
    EXPECT_TRUE(gradcheck_ok(f, {random_tensor(a, rng), random_tensor(b, rng), random_tensor(c, rng)})) << dim;
  }
}

TEST(Concat, InputsWithoutGradAreSkipped) {
  // Middle input constant: the other two still get the right blocks.
  Rng rng(36);
  GradCheckOptions o;
  o.check = {true, false, true};
  auto f = [](const std::vector<Var>& v) { return concat(v, 1); };
  EXPECT_TRUE(gradcheck_ok(f, {random_tensor({2, 2}, rng), random_tensor({2, 3}, rng), random_tensor({2, 1}, rng)}, o));
}

TEST(Concat, ForwardByHand) {
  Var a(iota({2, 2})), b(Tensor::from({10, 11, 12, 13, 14, 15}, {2, 3}));
  EXPECT_TRUE(tensor_near(concat({a, b}, 1).value(), {0, 1, 10, 11, 12, 2, 3, 13, 14, 15}, 1e-30));
  Var c = concat({a, Var(Tensor::from({7, 8}, {1, 2}))}, 0);
  EXPECT_EQ(c.shape(), (Shape{3, 2}));
  EXPECT_TRUE(tensor_near(c.value(), {0, 1, 2, 3, 7, 8}, 1e-30));
}

TEST(Concat, StridedInputsAndErrors) {
  Rng rng(37);
  EXPECT_TRUE(strided_inputs_match([](const std::vector<Var>& v) { return concat(v, 0); },
                                   {random_tensor({2, 3}, rng), random_tensor({1, 3}, rng)}));
  EXPECT_TRUE(throws_error([] { concat({}, 0); }, "concat", "at least one"));
  EXPECT_TRUE(throws_error([] { concat({Var(Tensor({2, 3})), Var(Tensor({2, 4}))}, 0); }, "concat",
                           "except along dim 0"));
  EXPECT_TRUE(throws_error([] { concat({Var(Tensor({2, 3})), Var(Tensor({2, 3, 1}))}, 0); }, "concat",
                           "tensor 1 has shape"));
}

// ---- slice --------------------------------------------------------------------------------------

TEST(Slice, GradientsMatchFiniteDifferences) {
  Rng rng(38);
  struct Case {
    int64_t dim, start, end;
  };
  for (Case c : {Case{0, 1, 2}, Case{1, 0, 2}, Case{1, 1, 3}, Case{2, 2, 4}, Case{-1, 0, 4}, Case{2, 1, 1}}) {
    auto f = [c](const std::vector<Var>& v) { return slice(v[0], c.dim, c.start, c.end); };
    EXPECT_TRUE(gradcheck_ok(f, {random_tensor({2, 3, 4}, rng)})) << c.dim << " [" << c.start << ", " << c.end << ")";
  }
}

TEST(Slice, OverlappingSlicesAddTheirGradients) {
  // y = slice(x, 0, 0, 3) ⊙ slice(x, 0, 1, 4): x[1], x[2] receive gradient from both slices.
  Rng rng(39);
  auto f = [](const std::vector<Var>& v) { return mul(slice(v[0], 0, 0, 3), slice(v[0], 0, 1, 4)); };
  EXPECT_TRUE(gradcheck_ok(f, {random_tensor({4, 2}, rng)}));
}

TEST(Slice, ForwardByHand) {
  // iota [2, 3] = [[0, 1, 2], [3, 4, 5]]; columns [1, 3) -> [[1, 2], [4, 5]]
  Var y = slice(Var(iota({2, 3})), 1, 1, 3);
  EXPECT_EQ(y.shape(), (Shape{2, 2}));
  EXPECT_TRUE(tensor_near(y.value(), {1, 2, 4, 5}, 1e-30));
}

TEST(Slice, StridedInputsAndErrors) {
  Rng rng(40);
  EXPECT_TRUE(strided_inputs_match([](const std::vector<Var>& v) { return slice(v[0], 1, 1, 3); },
                                   {random_tensor({3, 4}, rng)}));
  EXPECT_TRUE(throws_error([] { slice(Var(Tensor({2, 3})), 1, 2, 4); }, "slice", "out of bounds"));
  EXPECT_TRUE(throws_error([] { slice(Var(Tensor({2, 3})), 1, 2, 1); }, "slice", "out of bounds"));
  EXPECT_TRUE(throws_error([] { slice(Var(Tensor({2, 3})), 2, 0, 1); }, "slice", "out of range"));
}

// A chain of shape ops routes every element back to where it came from.
TEST(ShapeOps, ComposedChain) {
  Rng rng(41);
  auto f = [](const std::vector<Var>& v) {
    Var t = transpose(reshape(v[0], {3, 2, 2}), 0, 2);  // [2, 2, 3]
    return concat({slice(t, 2, 1, 3), v[1]}, 2);         // [2, 2, 2] | [2, 2, 1] -> [2, 2, 3]
  };
  EXPECT_TRUE(gradcheck_ok(f, {random_tensor({12}, rng), random_tensor({2, 2, 1}, rng)}));
}

}  // namespace
