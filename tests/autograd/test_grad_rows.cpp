// Row-sparse gradients (include/recurrent/autograd/var.h: Node::grad_rows): an embedding's backward
// records the rows it adds into; zero_grad, the gradient norm, clipping and a plain SGD step then visit
// those rows only, and any dense write makes the gradient dense again. Each test compares the sparse
// path with the same gradient handled densely (support forgotten), bit for bit where the arithmetic is
// the same, so a support that missed a row would show as a difference.
#include <gtest/gtest.h>

#include <cmath>
#include <utility>
#include <vector>

#include "recurrent/autograd/ops.h"
#include "recurrent/optim/adam.h"
#include "recurrent/optim/clip.h"
#include "recurrent/optim/sgd.h"

using namespace recurrent;

namespace {

constexpr int64_t kV = 8, kD = 3;

Tensor table(float scale) {
  std::vector<float> v(kV * kD);
  for (size_t i = 0; i < v.size(); ++i) v[i] = scale * (static_cast<float>(i % 7) - 2.5f);
  return Tensor::from(v, {kV, kD});
}

// sum(embedding(W, idx) * weights): d/dW[idx_i] += weights_i (a non-uniform gradient).
void backward_through_embedding(Var& w, const std::vector<int64_t>& idx) {
  const int64_t n = static_cast<int64_t>(idx.size());
  std::vector<float> k(static_cast<size_t>(n * kD));
  for (size_t i = 0; i < k.size(); ++i) k[i] = 0.25f + 0.5f * static_cast<float>(i);
  Var e = embedding(w, idx, {n});
  sum(mul(e, Var(Tensor::from(k, {n, kD})))).backward();
}

std::vector<int64_t> support(Var& w) {
  const std::vector<int64_t>* r = grad_row_support(*w.node());
  return r ? *r : std::vector<int64_t>{-1};
}

void forget_support(Var& w) { (void)w.grad(); }  // a write access

}  // namespace

TEST(GradRows, EmbeddingBackwardRecordsTheDistinctRowsSorted) {
  Var w(table(1.0f), true);
  backward_through_embedding(w, {5, 1, 5, 3});
  EXPECT_EQ(support(w), (std::vector<int64_t>{1, 3, 5}));
  std::vector<float> g = w.node()->grad.to_vector();
  for (int64_t r : {0, 2, 4, 6, 7})
    for (int64_t k = 0; k < kD; ++k) EXPECT_EQ(g[static_cast<size_t>(r * kD + k)], 0.0f) << "row " << r;
  backward_through_embedding(w, {0});  // accumulates: the support grows
  EXPECT_EQ(support(w), (std::vector<int64_t>{0, 1, 3, 5}));
}

TEST(GradRows, ZeroGradClearsTheRowsAndStartsAnEmptySupport) {
  Var w(table(1.0f), true);
  backward_through_embedding(w, {2, 6});
  w.zero_grad();
  EXPECT_EQ(support(w), std::vector<int64_t>{});
  for (float v : w.node()->grad.to_vector()) EXPECT_EQ(v, 0.0f);
  backward_through_embedding(w, {4});
  EXPECT_EQ(support(w), std::vector<int64_t>{4});
}

TEST(GradRows, AnyDenseWriteForgetsTheSupportAndZeroGradThenClearsAll) {
  {  // tied weights: the table also feeds a matmul, whose backward writes every row
    Var w(table(1.0f), true);
    Var e = embedding(w, {1}, {1});
    Var logits = matmul(e, transpose(w, 0, 1));  // [1, V]
    sum(logits).backward();
    EXPECT_EQ(support(w), std::vector<int64_t>{-1});
    w.zero_grad();
    for (float v : w.node()->grad.to_vector()) EXPECT_EQ(v, 0.0f) << "a dense gradient must be zeroed whole";
  }
  {  // Var::grad() is write access
    Var w(table(1.0f), true);
    backward_through_embedding(w, {1});
    forget_support(w);
    w.grad().data()[0] = 7.0f;  // row 0, outside the old support
    w.zero_grad();
    EXPECT_EQ(w.node()->grad.to_vector()[0], 0.0f);
  }
  {  // cross_entropy writes its input's gradient in place when it exists
    Var x(Tensor::zeros({2, kD}), true);
    x.zero_grad();
    (void)x.grad();
    x.zero_grad();  // allocated and zeroed: an (empty) support is known
    cross_entropy(x, {0, 2}).backward();
    EXPECT_EQ(grad_row_support(*x.node()), nullptr);
  }
}

TEST(GradRows, SpansAreTheRunsOfConsecutiveRows) {
  Var w(table(1.0f), true);
  backward_through_embedding(w, {4, 1, 2, 7});
  const float* g0 = std::as_const(w.node()->grad).data();  // reading: no version bump
  std::vector<std::pair<int64_t, int64_t>> spans;
  for_each_grad_span(*w.node(), [&](float* g, int64_t n) { spans.push_back({g - g0, n}); });
  EXPECT_EQ(spans, (std::vector<std::pair<int64_t, int64_t>>{{1 * kD, 2 * kD}, {4 * kD, kD}, {7 * kD, kD}}));
}

TEST(GradRows, NormAndClippingOverTheSupportEqualTheDenseOnes) {
  Var a(table(1.0f), true), b(table(1.0f), true);
  backward_through_embedding(a, {6, 0, 6});
  backward_through_embedding(b, {6, 0, 6});
  forget_support(b);
  ASSERT_NE(grad_row_support(*a.node()), nullptr);
  EXPECT_DOUBLE_EQ(grad_norm({a}), grad_norm({b}));
  clip_grad_norm({a}, 0.5);
  clip_grad_norm({b}, 0.5);
  EXPECT_EQ(a.node()->grad.to_vector(), b.node()->grad.to_vector());
  EXPECT_EQ(support(a), (std::vector<int64_t>{0, 6})) << "clipping scales, it must keep the support";
}

// SGD without momentum or decay skips the rows without gradient; the others must still visit them all.
TEST(GradRows, OptimizerStepOverTheSupportEqualsTheDenseStep) {
  auto run = [](bool sparse, auto make) {
    Var w(table(0.1f), true);
    auto opt = make(std::vector<Var>{w});
    for (int step = 0; step < 3; ++step) {
      opt->zero_grad();
      backward_through_embedding(w, step == 1 ? std::vector<int64_t>{3} : std::vector<int64_t>{2, 3, 7});
      if (!sparse) forget_support(w);
      opt->step();
    }
    return w.value().to_vector();
  };
  auto sgd = [](double mom, double wd) {
    return [=](std::vector<Var> p) {
      SgdOptions o;
      o.lr = 0.3, o.momentum = mom, o.weight_decay = wd;
      return std::make_unique<Sgd>(p, o);
    };
  };
  auto adam = [](std::vector<Var> p) { return std::make_unique<Adam>(p, AdamOptions{}); };
  EXPECT_EQ(run(true, sgd(0, 0)), run(false, sgd(0, 0)));
  EXPECT_EQ(run(true, sgd(0.9, 0)), run(false, sgd(0.9, 0))) << "momentum moves rows without gradient";
  EXPECT_EQ(run(true, sgd(0, 0.1)), run(false, sgd(0, 0.1))) << "weight decay moves rows without gradient";
  EXPECT_EQ(run(true, adam), run(false, adam));
  const std::vector<float> before = table(0.1f).to_vector(), after = run(true, sgd(0, 0));
  EXPECT_NE(before[3 * kD], after[3 * kD]) << "a supported row must move";
  EXPECT_EQ(before[5 * kD], after[5 * kD]) << "a row never looked up must not";
}

// The support is tied to the gradient's storage and version (core/tensor.h): a gradient assigned
// directly, or written through a fresh non-const access, is dense again whatever the flag said.
TEST(GradRows, AWriteOutsideTheSanctionedPathsIsSeen) {
  {
    Var w(table(1.0f), true);
    (void)w.grad();
    w.zero_grad();  // a known, empty support
    w.node()->grad = Tensor::full({kV, kD}, 1.0f);
    EXPECT_EQ(support(w), std::vector<int64_t>{-1});
    EXPECT_DOUBLE_EQ(grad_norm({w}), std::sqrt(static_cast<double>(kV * kD)));
    w.zero_grad();
    for (float v : w.node()->grad.to_vector()) EXPECT_EQ(v, 0.0f);
  }
  {
    Var w(table(1.0f), true);
    backward_through_embedding(w, {1});
    w.node()->grad.data()[6 * kD] = 2.0f;  // row 6, outside the support
    EXPECT_EQ(support(w), std::vector<int64_t>{-1});
    w.zero_grad();
    EXPECT_EQ(w.node()->grad.to_vector()[6 * kD], 0.0f);
  }
}

// Many backwards without a zero_grad keep the list at most R long, and past R/2 distinct rows the
// gradient is dense.
TEST(GradRows, TheListStaysBoundedAndPastHalfTheRowsTurnsDense) {
  Var w(table(1.0f), true);
  for (int i = 0; i < 10; ++i) backward_through_embedding(w, {2, 2, 3});
  EXPECT_LE(w.node()->grad_rows.size(), static_cast<size_t>(kV));
  EXPECT_EQ(support(w), (std::vector<int64_t>{2, 3}));
  backward_through_embedding(w, {0, 1, 4, 5, 6, 7, 0, 1, 4});
  EXPECT_EQ(support(w), std::vector<int64_t>{-1}) << "8 of 8 rows: dense";
}

TEST(GradRows, ClipByValueAndTheFinitenessCheckSeeTheSupportedRows) {
  Var w(table(1.0f), true);
  backward_through_embedding(w, {3});  // row 3's gradient: 0.25, 0.75, 1.25
  clip_grad_value({w}, 0.5f);
  const std::vector<float> g = w.node()->grad.to_vector();
  EXPECT_EQ(g[3 * kD + 0], 0.25f);
  EXPECT_EQ(g[3 * kD + 2], 0.5f);
  EXPECT_EQ(support(w), std::vector<int64_t>{3});
  EXPECT_TRUE(all_finite({w}));
  backward_through_embedding(w, {3});
  float* d = grad_buffer_rows(*w.node(), {3});  // a scatter that writes a NaN into its row
  d[3 * kD + 1] = std::nanf("");
  EXPECT_FALSE(all_finite({w}));
}
