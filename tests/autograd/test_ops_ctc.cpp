// ctc_loss / ctc_loss_logits (src/autograd/ops_ctc.cpp): against torch.nn.functional.ctc_loss on the
// 120 committed random cases (tests/fixtures/ctc/, scripts/fixtures/make_ctc_fixtures.py), finite
// differences, hand-computed small cases, PyTorch's conventions (mean, zero_infinity, padded targets,
// input length 0), thread-count independence and every error.
//
// Tolerances.
//  * torch: the op works in double on float32 inputs, torch in float64 on the same values; both results
//    are rounded once to float32, so they agree to ~1e-7 relative. Required: |a − e| ≤ 1e-5·|e| + 1e-7
//    (the 1e-5 relative; the 1e-7 absolute floor covers gradient entries e^{lp} − γ that
//    cancel to ~0, whose float32 rounding is relative to the two terms, not to their difference).
//  * finite differences: the loss is smooth in the logits (a log-sum-exp of sums of logits, third
//    derivatives <~ 1); with logits in [-2, 2] and h = 1e-2 the truncation error is <~ h^2/6 = 2e-5 per
//    unit of |w| and the rounding of the float32 loss (<= ~20, computed in double, rounded once) is
//    ~20 * 6e-8 / 1e-2 = 1e-4 at worst, ~1e-5 typically. Declared here: atol 2e-4, rtol 1e-3 (observed
//    worst |diff| 1.7e-5, under 0.1 of the tolerance). A wrong gradient term (a missing blank
//    transition, a wrong repeat rule, a missing 1/L_b in mean) changes entries by O(1e-2 ... 1e-1).
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <limits>
#include <string>

#include "autograd/op_test_util.h"
#include "recurrent/autograd/ctc.h"
#include "recurrent/core/threads.h"
#include "recurrent/io/safetensors.h"

using namespace recurrent;
using namespace recurrent::testing;

namespace {

const double kInf = std::numeric_limits<double>::infinity();

// |a − e| ≤ rtol·|e| + atol elementwise, with inf == inf and NaN == NaN; records the worst relative
// error among finite reference entries whose magnitude exceeds 1e-3 (the figure docs/ctc.md reports).
struct Compare {
  double worst_rel = 0.0;
  int64_t checked = 0;
  ::testing::AssertionResult operator()(const Tensor& a, const Tensor& e, double rtol, double atol) {
    if (a.shape() != e.shape())
      return ::testing::AssertionFailure() << "shape " << shape_str(a.shape()) << " vs " << shape_str(e.shape());
    Tensor ac = a.contiguous(), ec = e.contiguous();
    for (int64_t i = 0; i < ac.numel(); ++i) {
      const double x = ac.data()[i], y = ec.data()[i];
      ++checked;
      if (std::isnan(y) || std::isinf(y)) {
        if ((std::isnan(y) && std::isnan(x)) || x == y) continue;
        return ::testing::AssertionFailure() << "element " << i << ": got " << x << ", torch " << y;
      }
      const double d = std::fabs(x - y);
      if (std::fabs(y) > 1e-3) worst_rel = std::max(worst_rel, d / std::fabs(y));
      if (!(d <= rtol * std::fabs(y) + atol))
        return ::testing::AssertionFailure() << "element " << unravel(i, ac.shape()) << ": got " << x << ", torch "
                                             << y << " (|diff| " << d << ")";
    }
    return ::testing::AssertionSuccess();
  }
};

CtcOptions options_of(const std::string& json, int64_t padded_width) {
  CtcOptions o;
  auto has = [&](const std::string& s) { return json.find(s) != std::string::npos; };
  const size_t p = json.find("\"blank\": ");
  o.blank = std::stoll(json.substr(p + 9));
  o.reduction = has("\"reduction\": \"none\"") ? Reduction::none
                : has("\"reduction\": \"sum\"") ? Reduction::sum
                                                : Reduction::mean;
  o.zero_infinity = has("\"zero_infinity\": true");
  o.padded_width = has("\"padded\": true") ? padded_width : 0;
  return o;
}

TEST(CtcLoss, MatchesTorchOnTheCommittedRandomCases) {
  const io::SafeTensors f = io::read_safetensors(std::string(RECURRENT_TEST_DATA) + "/ctc/ctc_cases.safetensors");
  const int n = std::stoi(f.metadata_or("n_cases", "0"));
  ASSERT_GE(n, 100);
  Compare loss_cmp, grad_cmp;
  int infeasible = 0;
  for (int k = 0; k < n; ++k) {
    const std::string p = "c" + std::to_string(k) + "/";
    const std::vector<int64_t> targets = f.get_i64(p + "targets"), in_len = f.get_i64(p + "input_lengths"),
                               tgt_len = f.get_i64(p + "target_lengths");
    const int64_t width = f.info(p + "targets").shape.size() == 2 ? f.info(p + "targets").shape[1] : 0;
    const CtcOptions opt = options_of(f.metadata().at("c" + std::to_string(k)), width);
    const Tensor grad_out = f.get_f32(p + "grad_out");
    for (const bool logits : {false, true}) {
      const std::string which = logits ? "logits" : "lp";
      Var x(f.get_f32(p + (logits ? "logits" : "log_probs")), true);
      Var loss = logits ? ctc_loss_logits(x, targets, in_len, tgt_len, opt) : ctc_loss(x, targets, in_len, tgt_len, opt);
      loss.backward(grad_out);
      const Tensor want = f.get_f32(p + "loss_" + which);
      for (int64_t i = 0; i < want.numel(); ++i) infeasible += std::isinf(want.data()[i]) ? 1 : 0;
      EXPECT_TRUE(loss_cmp(loss.value(), want, 1e-5, 1e-7)) << "case " << k << " loss_" << which;
      EXPECT_TRUE(grad_cmp(x.grad(), f.get_f32(p + "grad_" + which), 1e-5, 1e-7)) << "case " << k << " grad_" << which;
    }
  }
  EXPECT_GT(infeasible, 0) << "the fixtures should hold infeasible items that torch reports as inf";
  std::cout << "[ctc vs torch] " << n << " cases x 2 ops: max relative error (|ref| > 1e-3) loss "
            << loss_cmp.worst_rel << " over " << loss_cmp.checked << " values, gradient " << grad_cmp.worst_rel
            << " over " << grad_cmp.checked << " values\n";
}

// ---- finite differences ---------------------------------------------------------------------------

struct FdCase {
  const char* label;
  int64_t T, B, C;
  std::vector<int64_t> targets, in_len, tgt_len;
  CtcOptions opt;
};
void PrintTo(const FdCase& c, std::ostream* os) { *os << c.label; }

CtcOptions opt_of(Reduction r, int64_t blank = 0, bool zi = false, int64_t padded = 0) {
  CtcOptions o;
  o.reduction = r;
  o.blank = blank;
  o.zero_infinity = zi;
  o.padded_width = padded;
  return o;
}

const FdCase kFd[] = {
    {"mean", 5, 2, 4, {1, 2, 3, 1}, {5, 4}, {2, 2}, opt_of(Reduction::mean)},
    {"sum_repeats", 6, 2, 3, {1, 1, 2, 2, 2}, {6, 6}, {2, 3}, opt_of(Reduction::sum)},
    {"none_blank_last", 5, 3, 4, {0, 1, 2, 2, 1}, {5, 3, 4}, {2, 1, 2}, opt_of(Reduction::none, 3)},
    {"t_eq_l", 3, 1, 4, {1, 2, 3}, {3}, {3}, opt_of(Reduction::sum)},
    {"tight_repeat", 3, 1, 3, {1, 1}, {3}, {2}, opt_of(Reduction::sum)},
    {"empty_target_and_padding_frames", 4, 2, 3, {2}, {2, 4}, {0, 1}, opt_of(Reduction::mean, 0)},
    {"padded_targets", 5, 2, 4, {1, 2, 3, 3, 0, 0}, {5, 5}, {3, 1}, opt_of(Reduction::mean, 0, false, 3)},
    // the second item is infeasible ("11" in 2 frames); zero_infinity: its loss and gradient are 0
    {"zero_infinity", 4, 2, 3, {1, 2, 1, 1}, {4, 2}, {2, 2}, opt_of(Reduction::sum, 0, true)},
};

class CtcFd : public ::testing::TestWithParam<FdCase> {};

GradCheckOptions fd_tolerance() {
  GradCheckOptions o;
  o.atol = 2e-4;
  o.rtol = 1e-3;
  return o;
}

TEST_P(CtcFd, FusedLogitsGradientMatchesFiniteDifferences) {
  const FdCase& c = GetParam();
  Rng rng(31);
  auto f = [&c](const std::vector<Var>& v) { return ctc_loss_logits(v[0], c.targets, c.in_len, c.tgt_len, c.opt); };
  const GradCheckResult r = gradcheck(f, {random_tensor({c.T, c.B, c.C}, rng, -2.0f, 2.0f)}, fd_tolerance());
  EXPECT_TRUE(r.ok) << r.message;
  std::cout << "[ctc fd] " << c.label << " logits: " << r.message << "\n";
}

// PyTorch's log_probs gradient is the logits' gradient (ctc.h): checked through log_softmax.
TEST_P(CtcFd, LogProbsGradientThroughLogSoftmaxMatchesFiniteDifferences) {
  const FdCase& c = GetParam();
  Rng rng(32);
  auto f = [&c](const std::vector<Var>& v) {
    return ctc_loss(log_softmax(v[0]), c.targets, c.in_len, c.tgt_len, c.opt);
  };
  const GradCheckResult r = gradcheck(f, {random_tensor({c.T, c.B, c.C}, rng, -2.0f, 2.0f)}, fd_tolerance());
  EXPECT_TRUE(r.ok) << r.message;
  std::cout << "[ctc fd] " << c.label << " log_softmax+ctc_loss: " << r.message << "\n";
}

TEST_P(CtcFd, StridedInputsGiveTheSameResult) {
  const FdCase& c = GetParam();
  Rng rng(33);
  auto f = [&c](const std::vector<Var>& v) { return ctc_loss_logits(v[0], c.targets, c.in_len, c.tgt_len, c.opt); };
  EXPECT_TRUE(strided_inputs_match(f, {random_tensor({c.T, c.B, c.C}, rng, -2.0f, 2.0f)}));
}

INSTANTIATE_TEST_SUITE_P(Cases, CtcFd, ::testing::ValuesIn(kFd),
                         [](const auto& info) { return std::string(info.param.label); });

// ---- by hand ----------------------------------------------------------------------------------------

// log-probabilities [T, 1, C] from probabilities given row by row
Var lp_of(const std::vector<std::vector<double>>& p) {
  const int64_t T = static_cast<int64_t>(p.size()), C = static_cast<int64_t>(p[0].size());
  std::vector<double> v;
  for (const auto& row : p)
    for (double q : row) v.push_back(std::log(q));
  return Var(tensor_of(v, {T, 1, C}), true);
}

double loss_of(const Var& lp, std::vector<int64_t> y, int64_t Tb, CtcOptions o = opt_of(Reduction::sum)) {
  return ctc_loss(lp, y, {Tb}, {static_cast<int64_t>(y.size())}, o).value().data()[0];
}

TEST(CtcLoss, SmallCasesByEnumeratingPaths) {
  // C = {blank, a, b}; three frames.
  const std::vector<std::vector<double>> p = {{0.5, 0.3, 0.2}, {0.2, 0.6, 0.2}, {0.4, 0.1, 0.5}};
  Var lp = lp_of(p);
  auto P = [&](int t, int c) { return p[t][c]; };
  // "a" in 3 frames: aaa aa- a-- -aa -a- --a a-a? (no: a-a collapses to "aa") ; 6 paths
  const double pa = P(0, 1) * P(1, 1) * P(2, 1) + P(0, 1) * P(1, 1) * P(2, 0) + P(0, 1) * P(1, 0) * P(2, 0) +
                    P(0, 0) * P(1, 1) * P(2, 1) + P(0, 0) * P(1, 1) * P(2, 0) + P(0, 0) * P(1, 0) * P(2, 1);
  EXPECT_NEAR(loss_of(lp, {1}, 3), -std::log(pa), 1e-6);
  // "aa" in 3 frames: only a-a
  EXPECT_NEAR(loss_of(lp, {1, 1}, 3), -std::log(P(0, 1) * P(1, 0) * P(2, 1)), 1e-6);
  // "aa" in 2 frames: infeasible (a repeat needs a blank between)
  EXPECT_EQ(loss_of(lp, {1, 1}, 2), kInf);
  // "ab" in 2 frames (T == L): only "ab"
  EXPECT_NEAR(loss_of(lp, {1, 2}, 2), -std::log(P(0, 1) * P(1, 2)), 1e-6);
  // "" in 3 frames: all blanks
  EXPECT_NEAR(loss_of(lp, {}, 3), -std::log(P(0, 0) * P(1, 0) * P(2, 0)), 1e-6);
  // "ab" in 3 frames: aab abb ab- a-b -ab
  const double pab = P(0, 1) * P(1, 1) * P(2, 2) + P(0, 1) * P(1, 2) * P(2, 2) + P(0, 1) * P(1, 2) * P(2, 0) +
                     P(0, 1) * P(1, 0) * P(2, 2) + P(0, 0) * P(1, 1) * P(2, 2);
  EXPECT_NEAR(loss_of(lp, {1, 2}, 3), -std::log(pab), 1e-6);
  // the blank at index 2: "a" with blank = 2, c = {a, b, blank} re-read from the same rows
  const double pa_b2 = P(0, 0) * P(1, 0) * P(2, 0) + P(0, 0) * P(1, 0) * P(2, 2) + P(0, 0) * P(1, 2) * P(2, 2) +
                       P(0, 2) * P(1, 0) * P(2, 0) + P(0, 2) * P(1, 0) * P(2, 2) + P(0, 2) * P(1, 2) * P(2, 0);
  EXPECT_NEAR(loss_of(lp, {0}, 3, opt_of(Reduction::sum, 2)), -std::log(pa_b2), 1e-6);
}

TEST(CtcLoss, GradientOfTheSinglePathCaseIsSoftmaxMinusOneHot) {
  // T == L without repeats: one alignment, γ_t = one-hot of y_t, so ∂ℓ/∂x = softmax − onehot.
  Rng rng(5);
  Var x(random_tensor({3, 1, 4}, rng, -2.0f, 2.0f), true);
  ctc_loss_logits(x, {3, 1, 2}, {3}, {3}, opt_of(Reduction::sum)).backward();
  Tensor sm = softmax(Var(x.value())).value();
  const int64_t y[] = {3, 1, 2};
  for (int64_t t = 0; t < 3; ++t)
    for (int64_t c = 0; c < 4; ++c)
      EXPECT_NEAR(x.grad().data()[t * 4 + c], sm.data()[t * 4 + c] - (c == y[t] ? 1.0 : 0.0), 1e-6);
}

TEST(CtcLoss, ReductionsFollowPyTorch) {
  Rng rng(6);
  Var x(random_tensor({5, 3, 4}, rng, -2.0f, 2.0f));
  const std::vector<int64_t> y = {1, 2, 3, 3, 1}, il = {5, 4, 5}, tl = {2, 0, 3};
  Tensor none = ctc_loss_logits(x, y, il, tl, opt_of(Reduction::none)).value();
  ASSERT_EQ(none.shape(), Shape({3}));
  const double l0 = none.data()[0], l1 = none.data()[1], l2 = none.data()[2];
  EXPECT_NEAR(ctc_loss_logits(x, y, il, tl, opt_of(Reduction::sum)).value().data()[0], l0 + l1 + l2, 1e-4);
  // mean divides each loss by its target length (an empty target by 1), then averages
  EXPECT_NEAR(ctc_loss_logits(x, y, il, tl, opt_of(Reduction::mean)).value().data()[0],
              (l0 / 2 + l1 / 1 + l2 / 3) / 3, 1e-5);
  // padded targets [B, 3] give the same losses; the labels past each length are ignored
  Tensor padded = ctc_loss_logits(x, {1, 2, 1, 2, 2, 2, 3, 3, 1}, il, tl, opt_of(Reduction::none, 0, false, 3)).value();
  EXPECT_EQ(padded.to_vector(), none.to_vector());
}

TEST(CtcLoss, InfeasibleItemsAndZeroInfinity) {
  Rng rng(7);
  const Tensor x0 = random_tensor({3, 2, 3}, rng, -2.0f, 2.0f);
  // item 0: "11" in 3 frames (feasible: 1-1); item 1: "11" in 2 frames (infeasible)
  const std::vector<int64_t> bad = {1, 1, 1, 1}, tl = {2, 2};
  // the infeasible item: loss inf, NaN gradient on its frames (as torch), none elsewhere
  Var x(x0, true);
  Tensor l = ctc_loss_logits(x, bad, {3, 2}, tl, opt_of(Reduction::none)).value();
  EXPECT_TRUE(std::isfinite(l.data()[0]));
  EXPECT_EQ(l.data()[1], kInf);
  ctc_loss_logits(x, bad, {3, 2}, tl, opt_of(Reduction::sum)).backward();
  for (int64_t t = 0; t < 3; ++t)
    for (int64_t c = 0; c < 3; ++c) {
      EXPECT_TRUE(std::isfinite(x.grad().data()[(t * 2 + 0) * 3 + c]));
      const float g1 = x.grad().data()[(t * 2 + 1) * 3 + c];
      if (t < 2) EXPECT_TRUE(std::isnan(g1)) << "t " << t;
      else EXPECT_EQ(g1, 0.0f) << "frames past the input length get no gradient";
    }
  // zero_infinity: loss 0 and gradient 0 for the infeasible item, the feasible one unchanged
  Var xz(x0, true);
  Tensor lz = ctc_loss_logits(xz, bad, {3, 2}, tl, opt_of(Reduction::none, 0, true)).value();
  EXPECT_EQ(lz.data()[0], l.data()[0]);
  EXPECT_EQ(lz.data()[1], 0.0f);
  ctc_loss_logits(xz, bad, {3, 2}, tl, opt_of(Reduction::sum, 0, true)).backward();
  for (int64_t t = 0; t < 3; ++t)
    for (int64_t c = 0; c < 3; ++c) {
      EXPECT_EQ(xz.grad().data()[(t * 2 + 1) * 3 + c], 0.0f);
      EXPECT_EQ(xz.grad().data()[(t * 2 + 0) * 3 + c], x.grad().data()[(t * 2 + 0) * 3 + c]);
    }
}

TEST(CtcLoss, InputLengthZero) {
  // T_b = 0: an empty target has probability 1 (loss 0), any other is impossible (inf / 0 with zero_infinity)
  Rng rng(8);
  Var x(random_tensor({2, 2, 3}, rng), true);
  Tensor l = ctc_loss_logits(x, {1}, {0, 0}, {0, 1}, opt_of(Reduction::none)).value();
  EXPECT_EQ(l.data()[0], 0.0f);
  EXPECT_EQ(l.data()[1], kInf);
  Var s = ctc_loss_logits(x, {1}, {0, 0}, {0, 1}, opt_of(Reduction::sum, 0, true));
  EXPECT_EQ(s.value().data()[0], 0.0f);
  s.backward();
  for (int64_t i = 0; i < x.value().numel(); ++i) EXPECT_EQ(x.grad().data()[i], 0.0f);
}

TEST(CtcLoss, ResultsDoNotDependOnTheThreadCount) {
  Rng rng(9);
  const int64_t T = 40, B = 16, C = 12;
  const Tensor x0 = random_tensor({T, B, C}, rng, -3.0f, 3.0f);
  std::vector<int64_t> y, il, tl;
  for (int64_t b = 0; b < B; ++b) {
    il.push_back(T - b);
    tl.push_back(1 + b % 7);
    for (int64_t k = 0; k < tl.back(); ++k) y.push_back(1 + (b * 5 + k * 3) % (C - 1));
  }
  auto run = [&](int threads, Tensor& loss, Tensor& grad) {
    const int prev = num_threads();
    set_num_threads(threads);
    Var x(x0, true);
    Var l = ctc_loss_logits(x, y, il, tl, opt_of(Reduction::none));
    l.backward(Tensor::full({B}, 1.0f));
    loss = l.value().clone();
    grad = x.grad().clone();
    set_num_threads(prev);
  };
  Tensor l1, g1, l2, g2;
  run(1, l1, g1);
  run(2, l2, g2);
  EXPECT_EQ(l2.to_vector(), l1.to_vector());  // bit for bit
  EXPECT_EQ(g2.to_vector(), g1.to_vector());
}

TEST(CtcLoss, WithoutATapeTheLossIsTheSame) {
  Rng rng(10);
  Var x(random_tensor({6, 2, 5}, rng), true);
  const std::vector<int64_t> y = {1, 2, 2, 4, 3}, il = {6, 5}, tl = {3, 2};
  const float taped = ctc_loss_logits(x, y, il, tl).value().data()[0];
  NoGradGuard ng;
  Var l = ctc_loss_logits(x, y, il, tl);
  EXPECT_FALSE(l.requires_grad());
  EXPECT_EQ(l.value().data()[0], taped);
}

TEST(CtcLoss, BadInputsNameTheArgument) {
  Var x(Tensor({4, 2, 3}));
  const std::vector<int64_t> il = {4, 4}, tl = {1, 1};
  EXPECT_TRUE(throws_error([&] { ctc_loss(Var(Tensor({4, 3})), {1}, {4}, {1}); }, "ctc_loss", "[T, B, C]"));
  EXPECT_TRUE(throws_error([&] { ctc_loss(x, {1, 2}, il, tl, opt_of(Reduction::mean, 3)); }, "ctc_loss",
                           "blank index 3"));
  EXPECT_TRUE(throws_error([&] { ctc_loss(x, {1, 0}, il, tl); }, "ctc_loss", "label 0 at position 0 of item 1"));
  EXPECT_TRUE(throws_error([&] { ctc_loss(x, {1, 3}, il, tl); }, "ctc_loss", "label 3"));
  EXPECT_TRUE(throws_error([&] { ctc_loss(x, {1, 2}, {4}, tl); }, "ctc_loss", "1 input lengths for a batch of 2"));
  EXPECT_TRUE(throws_error([&] { ctc_loss(x, {1, 2}, il, {1}); }, "ctc_loss", "1 target lengths"));
  EXPECT_TRUE(throws_error([&] { ctc_loss(x, {1, 2}, {5, 4}, tl); }, "ctc_loss", "input length 5 of item 0"));
  EXPECT_TRUE(throws_error([&] { ctc_loss(x, {1, 2}, il, {1, -1}); }, "ctc_loss", "target length -1"));
  EXPECT_TRUE(throws_error([&] { ctc_loss(x, {1, 2, 1}, il, tl); }, "ctc_loss", "sum of the target lengths"));
  EXPECT_TRUE(throws_error([&] { ctc_loss(x, {1, 2, 1, 2}, il, {3, 1}, opt_of(Reduction::mean, 0, false, 2)); },
                           "ctc_loss", "exceeds the padded width 2"));
  EXPECT_TRUE(throws_error([&] { ctc_loss_logits(x, {1, 2, 1}, il, tl, opt_of(Reduction::mean, 0, false, 2)); },
                           "ctc_loss_logits", "B x padded_width"));
}

}  // namespace
