// Synthetic long-range tasks: layouts as the papers define them, the stated baselines measured on
// generated data, determinism per seed.
#include <gtest/gtest.h>

#include <cmath>

#include "recurrent/core/error.h"
#include "recurrent/tasks/synthetic.h"

using namespace recurrent;
using namespace recurrent::tasks;

namespace {

TEST(AddingProblem, TwoMarkersOnePerHalfAndTargetIsTheirSum) {
  Rng rng(1);
  const int64_t T = 37, B = 64;  // odd T: halves [0, 18) and [18, 37)
  AddingBatch a = adding_problem(T, B, rng);
  ASSERT_EQ(a.x.shape(), (Shape{T, B, 2}));
  ASSERT_EQ(a.y.shape(), (Shape{B, 1}));
  for (int64_t b = 0; b < B; ++b) {
    std::vector<int64_t> marks;
    double sum = 0.0;
    for (int64_t t = 0; t < T; ++t) {
      float v = a.x.at({t, b, 0}), m = a.x.at({t, b, 1});
      EXPECT_TRUE(v >= 0.0f && v < 1.0f);
      ASSERT_TRUE(m == 0.0f || m == 1.0f);
      if (m == 1.0f) marks.push_back(t), sum += v;
    }
    ASSERT_EQ(marks.size(), 2u) << "sequence " << b;
    EXPECT_LT(marks[0], T / 2);
    EXPECT_GE(marks[1], T / 2);
    EXPECT_FLOAT_EQ(a.y.at({b, 0}), static_cast<float>(sum));
  }
}

TEST(AddingProblem, PredictingOneGivesMseOneSixth) {
  Rng rng(2);
  AddingBatch a = adding_problem(10, 40000, rng);
  double mse = 0.0;
  for (float y : a.y.to_vector()) mse += (y - 1.0) * (y - 1.0);
  mse /= 40000;
  EXPECT_NEAR(mse, adding_baseline_mse(), 0.005);  // 4 standard errors (sd of (s−1)² is 0.197)
  EXPECT_THROW(adding_problem(1, 4, rng), Error);
}

TEST(CopyTask, LayoutAndMemorylessBaseline) {
  Rng rng(3);
  const int64_t T = 15, B = 8, L = T + 20;
  CopyBatch c = copy_task(T, B, rng);
  ASSERT_EQ(c.x.shape(), (Shape{L, B, 10}));
  ASSERT_EQ(c.y.size(), static_cast<size_t>(L * B));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < L; ++t) {
      int64_t tok = -1, ones = 0;
      for (int64_t k = 0; k < 10; ++k)
        if (c.x.at({t, b, k}) == 1.0f) tok = k, ++ones;
      ASSERT_EQ(ones, 1);
      const int64_t y = c.y[t * B + b];
      if (t < 10) {
        EXPECT_TRUE(tok >= 1 && tok <= 8);
        EXPECT_EQ(c.y[(T + 10 + t) * B + b], tok);  // recalled after the delimiter
      } else {
        EXPECT_EQ(tok, t == T + 9 ? 9 : 0);
      }
      if (t < T + 10) {
        EXPECT_EQ(y, 0);
      } else {
        EXPECT_TRUE(y >= 1 && y <= 8);
      }
    }
  // Memoryless predictor: blank with certainty for T+10 steps, uniform over 8 symbols after.
  double ce = 0.0;
  for (int64_t t = 0; t < L; ++t)
    for (int64_t b = 0; b < B; ++b) ce += c.y[t * B + b] == 0 ? 0.0 : std::log(8.0);
  EXPECT_NEAR(ce / (L * B), copy_baseline_ce(T), 1e-12);
  EXPECT_NEAR(copy_baseline_ce(100), 10 * std::log(8.0) / 120, 1e-12);
}

TEST(AgreementTask, SubjectDecidesTheLabel) {
  Rng rng(4);
  const int64_t D = 7, B = 200;
  AgreementBatch a = agreement_task(D, B, rng, 5);
  ASSERT_EQ(a.vocab, 9);
  ASSERT_EQ(a.x.shape(), (Shape{D + 2, B, 9}));
  int64_t plural = 0;
  for (int64_t b = 0; b < B; ++b) {
    EXPECT_EQ(a.x.at({0, b, 1 + a.y[b]}), 1.0f);
    for (int64_t t = 1; t <= D; ++t) {
      float s = 0;
      for (int64_t k = 3; k < 8; ++k) s += a.x.at({t, b, k});
      EXPECT_EQ(s, 1.0f);
    }
    EXPECT_EQ(a.x.at({D + 1, b, 8}), 1.0f);
    plural += a.y[b];
  }
  EXPECT_GT(plural, 70);  // both classes drawn (expected 100)
  EXPECT_LT(plural, 130);
}

TEST(SyntheticTasks, SameSeedSameBatch) {
  Rng r1(9), r2(9);
  EXPECT_EQ(adding_problem(20, 3, r1).x.to_vector(), adding_problem(20, 3, r2).x.to_vector());
  EXPECT_EQ(copy_task(5, 3, r1).y, copy_task(5, 3, r2).y);
}

}  // namespace
