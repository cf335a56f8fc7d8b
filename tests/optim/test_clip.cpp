// Gradient clipping (include/recurrent/optim/clip.h): by global norm (returns the norm before
// clipping, torch.nn.utils.clip_grad_norm_ coefficient max_norm / (norm + 1e-6)) and by value.
// Hand-computed numbers: gradients (3, 4) and (12) have global norm sqrt(9 + 16 + 144) = 13.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "recurrent/core/error.h"
#include "recurrent/optim/clip.h"

using namespace recurrent;

namespace {

struct Params {
  Var a{Tensor::zeros({2}), true}, b{Tensor::zeros({1}), true}, no_grad{Tensor::zeros({3}), true};
  Params(std::vector<float> ga, float gb) {
    a.node()->grad = Tensor::from(std::move(ga), {2});
    b.node()->grad = Tensor::from({gb}, {1});
  }
  std::vector<Var> all() const { return {a, b, no_grad}; }  // no_grad has no gradient: skipped
};

TEST(Clip, GlobalNormIsOverAllGradientsAndSkipsMissingOnes) {
  Params p({3, 4}, 12);
  EXPECT_DOUBLE_EQ(grad_norm(p.all()), 13.0);
  EXPECT_FALSE(p.no_grad.has_grad()) << "grad_norm must not allocate a gradient";
}

TEST(Clip, ByNormScalesEveryGradientAndReturnsTheNormBeforeClipping) {
  Params p({3, 4}, 12);
  const float norm = clip_grad_norm(p.all(), 6.5);
  EXPECT_FLOAT_EQ(norm, 13.0f);
  const double coef = 6.5 / (13.0 + 1e-6);  // PyTorch's coefficient, just under 0.5
  EXPECT_NEAR(p.a.grad().data()[0], 3 * coef, 1e-6);
  EXPECT_NEAR(p.a.grad().data()[1], 4 * coef, 1e-6);
  EXPECT_NEAR(p.b.grad().data()[0], 12 * coef, 1e-6);
  EXPECT_NEAR(grad_norm(p.all()), 6.5, 1e-5);
}

TEST(Clip, ByNormBelowTheLimitLeavesGradientsBitIdentical) {
  Params p({3, 4}, 12);
  EXPECT_FLOAT_EQ(clip_grad_norm(p.all(), 13.5), 13.0f);
  EXPECT_EQ(p.a.grad().data()[0], 3.0f);
  EXPECT_EQ(p.a.grad().data()[1], 4.0f);
  EXPECT_EQ(p.b.grad().data()[0], 12.0f);
}

TEST(Clip, NonFiniteNormIsReturnedAndGradientsAreLeftAlone) {
  Params p({3, std::numeric_limits<float>::infinity()}, 12);
  EXPECT_TRUE(std::isinf(clip_grad_norm(p.all(), 1.0)));
  EXPECT_EQ(p.a.grad().data()[0], 3.0f);
  EXPECT_FALSE(all_finite(p.all()));
  Params q({3, std::nanf("")}, 12);
  EXPECT_TRUE(std::isnan(clip_grad_norm(q.all(), 1.0)));
  EXPECT_EQ(q.b.grad().data()[0], 12.0f);
  EXPECT_TRUE(all_finite(Params({3, 4}, 12).all()));
}

TEST(Clip, NormOfHugeFiniteGradientsDoesNotOverflow) {
  const float big = std::numeric_limits<float>::max();
  Params p({big, big}, 0);
  const float norm = clip_grad_norm(p.all(), 1.0);
  EXPECT_TRUE(std::isinf(norm)) << "sqrt(2) * FLT_MAX does not fit a float: saturates";
  // The double norm was finite, so the gradients were scaled to norm 1.
  EXPECT_NEAR(grad_norm(p.all()), 1.0, 1e-6);
  EXPECT_NEAR(p.a.grad().data()[0], std::sqrt(0.5), 1e-6);
}

TEST(Clip, ByValueClampsEachElementAndKeepsNaN) {
  Params p({-3, 0.5}, std::nanf(""));
  clip_grad_value(p.all(), 1.0f);
  EXPECT_EQ(p.a.grad().data()[0], -1.0f);
  EXPECT_EQ(p.a.grad().data()[1], 0.5f);
  EXPECT_TRUE(std::isnan(p.b.grad().data()[0]));
  Params q({7, -0.25}, 2);
  clip_grad_value(q.all(), 0.25f);
  EXPECT_EQ(q.a.grad().data()[0], 0.25f);
  EXPECT_EQ(q.a.grad().data()[1], -0.25f);
  EXPECT_EQ(q.b.grad().data()[0], 0.25f);
}

TEST(Clip, BadLimitsAreErrorsNamingTheArgument) {
  Params p({3, 4}, 12);
  try {
    clip_grad_norm(p.all(), 0.0);
    ADD_FAILURE() << "max_norm 0 accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "clip_grad_norm max_norm");
  }
  EXPECT_THROW(clip_grad_norm(p.all(), std::nan("")), Error);
  EXPECT_THROW(clip_grad_value(p.all(), -1.0f), Error);
}

}  // namespace
