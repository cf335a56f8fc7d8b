// Optimizer updates (include/recurrent/optim/{sgd,adam,rmsprop,adagrad}.h) against two oracles:
//  * PyTorch 1.13: tests/fixtures/optim/optimizers.safetensors, written by
//    scripts/fixtures/make_optim_fixtures.py — 16 configurations, two parameters, three steps, a
//    parameter without gradient at step 2, and the optimizer state after step 3;
//  * numbers worked out by hand in the comments below, for one or two steps of each algorithm.
// Tolerance against PyTorch: both sides compute in float32 in the same operation order, but
// PyTorch's vectorised add_(x, alpha=a) is a fused multiply-add (one rounding) where we round
// twice: with zero tolerance plain SGD already differs in the last bit (1 - 0.1*0.3: 0.97000003
// vs PyTorch's 0.96999997). A few such roundings per step, 3 steps, ~6 operations each, 2^-24
// relative -> 1e-6 relative (the largest seen is ~1e-7); state buffers near zero (a zero
// gradient at step 2) get an absolute floor of 1e-9.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "optim/optim_test_util.h"
#include "recurrent/core/error.h"

using namespace recurrent;
using namespace recurrent::testing;

namespace {

constexpr double kRel = 1e-6, kAbs = 1e-9;

// The cases of make_optim_fixtures.py (OPTIMIZER_CASES); AllCasesCovered keeps the lists in step.
const std::vector<std::string> kCases = {
    "sgd",      "sgd_wd",           "sgd_momentum",  "sgd_momentum_dampening_wd", "sgd_nesterov_wd",
    "adam",     "adam_betas_eps_wd", "adam_amsgrad", "adam_lr_schedule",          "adamw",
    "adamw_amsgrad", "rmsprop",     "rmsprop_momentum", "rmsprop_centered",       "rmsprop_all",
    "adagrad",  "adagrad_all"};

const io::SafeTensors& fixture() {
  static const io::SafeTensors st = io::read_safetensors(kOptimFixtures + "optimizers.safetensors");
  return st;
}

void set_grad(Var& p, const Tensor* g) { p.node()->grad = g ? g->clone() : Tensor(); }

class PyTorchOptimizer : public ::testing::TestWithParam<std::string> {};

TEST_P(PyTorchOptimizer, ThreeStepsAndFinalStateMatch) {
  const std::string c = GetParam();
  const io::SafeTensors& fx = fixture();
  const nlohmann::json opts = nlohmann::json::parse(fx.metadata().at(c));
  Var p0(fx.get_f32(c + "/p0.0").clone(), true), p1(fx.get_f32(c + "/p1.0").clone(), true);
  std::unique_ptr<Optimizer> opt = make_optimizer(opts, {{"p0", p0}, {"p1", p1}});
  ASSERT_TRUE(opt);
  for (int k = 1; k <= 3; ++k) {
    const std::string s = std::to_string(k);
    if (opts.contains("lrs")) opt->set_lr(opts["lrs"][k - 1].get<double>());
    const Tensor g0 = fx.get_f32(c + "/g0." + s);
    set_grad(p0, &g0);
    if (fx.contains(c + "/g1." + s)) {
      const Tensor g1 = fx.get_f32(c + "/g1." + s);
      set_grad(p1, &g1);
    } else {
      set_grad(p1, nullptr);  // PyTorch: p.grad = None, the parameter and its state are skipped
    }
    opt->step();
    EXPECT_TRUE(close(p0.value(), fx.get_f32(c + "/p0." + s), kRel, kAbs)) << c << " p0 after step " << k;
    EXPECT_TRUE(close(p1.value(), fx.get_f32(c + "/p1." + s), kRel, kAbs)) << c << " p1 after step " << k;
  }
  EXPECT_EQ(opt->step_count(0), 3);
  EXPECT_EQ(opt->step_count(1), 2) << "p1 had no gradient at step 2";
  // State: every buffer PyTorch keeps, under PyTorch's name; nothing else but "step" (PyTorch's
  // SGD keeps no step counter; ours always does).
  std::map<std::string, Tensor> ours;
  for (const auto& [n, t] : opt->state()) ours[n] = t;
  size_t matched = 0;
  const std::string prefix = c + "/state.";
  for (const std::string& n : fx.names()) {
    if (n.rfind(prefix, 0) != 0) continue;
    const std::string key = n.substr(prefix.size());
    ASSERT_TRUE(ours.count(key)) << c << ": PyTorch keeps " << key << ", we do not";
    EXPECT_TRUE(close(ours[key], fx.get_f32(n), kRel, kAbs)) << c << " state " << key;
    ++matched;
  }
  for (const auto& [key, t] : ours) {
    if (key.rfind("step.", 0) == 0 && opts["optimizer"] == "SGD") continue;
    EXPECT_TRUE(fx.contains(prefix + key)) << c << ": we keep " << key << ", PyTorch does not";
  }
  EXPECT_GT(matched + (opts["optimizer"] == "SGD" && !opts.contains("momentum") ? 1 : 0), 0u) << c;
}

INSTANTIATE_TEST_SUITE_P(Fixture, PyTorchOptimizer, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return info.param; });

TEST(PyTorchOptimizerFixture, AllCasesCovered) {
  std::vector<std::string> in_file;
  for (const auto& [k, v] : fixture().metadata())
    if (k != "generator" && k != "torch_version") in_file.push_back(k);
  std::vector<std::string> ours = kCases;
  std::sort(ours.begin(), ours.end());
  EXPECT_EQ(in_file, ours);
  EXPECT_EQ(fixture().metadata_or("torch_version", "").rfind("1.13", 0), 0u);
}

// ---- hand-computed -------------------------------------------------------------------------------

// One parameter p (starting at p0), then steps with gradients g[k]; returns p after each step.
std::vector<float> run(Optimizer& opt, Var& p, const std::vector<float>& grads) {
  std::vector<float> out;
  for (float g : grads) {
    p.grad().data()[0] = g;
    opt.step();
    out.push_back(p.value().data()[0]);
  }
  return out;
}

// Options with a few fields set (designated initialisers would trip -Wmissing-field-initializers).
template <typename O, typename F>
O with(F&& set) {
  O o;
  set(o);
  return o;
}

struct One {
  Var p;
  explicit One(float v) : p(Tensor::scalar(v), true) {}
  NamedParams params() { return {{"w", p}}; }
};

void expect_values(const std::vector<float>& got, const std::vector<double>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t k = 0; k < got.size(); ++k) EXPECT_NEAR(got[k], want[k], tol) << "after step " << k + 1;
}

TEST(HandComputed, SgdPlainWeightDecayMomentumNesterovDampening) {
  {  // p = 2, g = 0.5, lr 0.1, wd 0.1: d = 0.5 + 0.1*2 = 0.7, p = 2 - 0.07 = 1.93;
     // then d = 0.5 + 0.193 = 0.693, p = 1.93 - 0.0693 = 1.8607
    One w(2.0f);
    Sgd opt(w.params(), with<SgdOptions>([](auto& o) { o.lr = 0.1; o.weight_decay = 0.1; }));
    expect_values(run(opt, w.p, {0.5f, 0.5f}), {1.93, 1.8607}, 1e-6);
  }
  {  // momentum 0.9, lr 0.1, g = 1, 1, 1: buf = 1, 1.9, 2.71; p = 0.9, 0.71, 0.439
    One w(1.0f);
    Sgd opt(w.params(), with<SgdOptions>([](auto& o) { o.lr = 0.1; o.momentum = 0.9; }));
    expect_values(run(opt, w.p, {1, 1, 1}), {0.9, 0.71, 0.439}, 1e-6);
  }
  {  // Nesterov: buf = 1, d = 1 + 0.9*1 = 1.9, p = 0.81; buf = 1.9, d = 1 + 0.9*1.9 = 2.71, p = 0.539
    One w(1.0f);
    Sgd opt(w.params(), with<SgdOptions>([](auto& o) { o.lr = 0.1; o.momentum = 0.9; o.nesterov = true; }));
    expect_values(run(opt, w.p, {1, 1}), {0.81, 0.539}, 1e-6);
  }
  {  // dampening 0.5: buf = 1 (first step undamped), then 0.9*1 + 0.5*1 = 1.4; p = 0.9, 0.76
    One w(1.0f);
    Sgd opt(w.params(), with<SgdOptions>([](auto& o) { o.lr = 0.1; o.momentum = 0.9; o.dampening = 0.5; }));
    expect_values(run(opt, w.p, {1, 1}), {0.9, 0.76}, 1e-6);
  }
}

TEST(HandComputed, AdamTwoSteps) {
  // lr 0.01, betas (0.9, 0.999), eps 1e-8, p = 1.
  // Step 1, g = 0.5: m = 0.05, v = 0.00025; m^ = 0.5, v^ = 0.25; p = 1 - 0.01 * 0.5 / 0.5 = 0.99.
  // Step 2, g = -0.5: m = 0.045 - 0.05 = -0.005, m^ = -0.005 / 0.19 = -0.0263157895;
  //   v = 0.999*0.00025 + 0.001*0.25 = 0.00049975, v^ = 0.00049975 / 0.001999 = 0.25;
  //   p = 0.99 + 0.01 * 0.0263157895 / 0.5 = 0.9905263158.
  One w(1.0f);
  Adam opt(w.params(), with<AdamOptions>([](auto& o) { o.lr = 0.01; }));
  expect_values(run(opt, w.p, {0.5f, -0.5f}), {0.99, 0.9905263158}, 1e-6);
  const NamedTensors st = opt.state();
  ASSERT_EQ(st.size(), 3u);
  EXPECT_EQ(st[0].first, "step.w");
  EXPECT_EQ(st[0].second.item(), 2.0f);
  EXPECT_EQ(st[1].first, "exp_avg.w");
  // 0.9f * 0.05f - 0.1f * 0.5f cancels: float32 rounding of the two products (~4e-9) remains.
  EXPECT_NEAR(st[1].second.item(), -0.005, 1e-8);
  EXPECT_EQ(st[2].first, "exp_avg_sq.w");
  EXPECT_NEAR(st[2].second.item(), 0.00049975, 1e-10);
}

TEST(HandComputed, AdamWDecouplesWeightDecayAndAdamAddsItToTheGradient) {
  // AdamW lr 0.01, wd 0.1, p = 1, g = 0.5: p = 1 * (1 - 0.001) = 0.999, then - 0.01 -> 0.989.
  One a(1.0f);
  AdamW adamw(a.params(), with<AdamOptions>([](auto& o) { o.lr = 0.01; o.weight_decay = 0.1; }));
  expect_values(run(adamw, a.p, {0.5f}), {0.989}, 1e-6);
  // Adam (L2) with the same numbers: g' = 0.5 + 0.1 = 0.6; the first step moves by lr * g'/|g'| = 0.01.
  One b(1.0f);
  Adam adam(b.params(), with<AdamOptions>([](auto& o) { o.lr = 0.01; o.weight_decay = 0.1; }));
  expect_values(run(adam, b.p, {0.5f}), {0.99}, 1e-6);
}

TEST(HandComputed, RmspropPlainCenteredMomentum) {
  {  // alpha 0.99, lr 0.01, g = 0.5: sq = 0.0025, sqrt = 0.05, p = 1 - 0.01 * 0.5 / 0.05 = 0.9
    One w(1.0f);
    Rmsprop opt(w.params(), with<RmspropOptions>([](auto& o) { o.lr = 0.01; }));
    expect_values(run(opt, w.p, {0.5f}), {0.9}, 1e-6);
  }
  {  // centered: ga = 0.005, sq - ga^2 = 0.0025 - 0.000025 = 0.002475, sqrt = 0.04974937;
     // p = 1 - 0.01 * 0.5 / 0.04974937 = 0.8994962
    One w(1.0f);
    Rmsprop opt(w.params(), with<RmspropOptions>([](auto& o) { o.lr = 0.01; o.centered = true; }));
    expect_values(run(opt, w.p, {0.5f}), {0.89949622}, 1e-6);
  }
  {  // momentum 0.5: buf = 0.5 / 0.05 = 10, p = 0.9; step 2: sq = 0.99*0.0025 + 0.0025 = 0.004975,
     // sqrt = 0.07053368, buf = 5 + 0.5 / 0.07053368 = 12.08881, p = 0.9 - 0.1208881 = 0.7791119
    One w(1.0f);
    Rmsprop opt(w.params(), with<RmspropOptions>([](auto& o) { o.lr = 0.01; o.momentum = 0.5; }));
    expect_values(run(opt, w.p, {0.5f, 0.5f}), {0.9, 0.7791119}, 1e-6);
  }
}

TEST(HandComputed, AdagradWithAndWithoutLrDecay) {
  {  // lr 0.1, g = 0.5, 0.5: sum = 0.25 -> p = 1 - 0.1 * 0.5/0.5 = 0.9;
     // sum = 0.5 -> p = 0.9 - 0.1 * 0.5 / 0.70710678 = 0.82928932
    One w(1.0f);
    Adagrad opt(w.params(), with<AdagradOptions>([](auto& o) { o.lr = 0.1; }));
    expect_values(run(opt, w.p, {0.5f, 0.5f}), {0.9, 0.82928932}, 1e-6);
  }
  {  // lr_decay 0.5: step 2 uses clr = 0.1 / (1 + 0.5) -> p = 0.9 - 0.0666667 * 0.70710678 = 0.85285955
    One w(1.0f);
    Adagrad opt(w.params(), with<AdagradOptions>([](auto& o) { o.lr = 0.1; o.lr_decay = 0.5; }));
    expect_values(run(opt, w.p, {0.5f, 0.5f}), {0.9, 0.85285955}, 1e-6);
  }
}

TEST(OptimizerBase, ZeroGradKeepsGradientsAllocatedAndLrIsChecked) {
  One w(1.0f);
  Sgd opt(w.params(), with<SgdOptions>([](auto& o) { o.lr = 0.1; }));
  w.p.grad().data()[0] = 3.0f;
  opt.zero_grad();
  ASSERT_TRUE(w.p.has_grad());
  EXPECT_EQ(w.p.grad().item(), 0.0f);
  EXPECT_THROW(opt.set_lr(-1.0), Error);
  EXPECT_THROW(opt.set_lr(std::nan("")), Error);
  EXPECT_EQ(opt.lr(), 0.1);
}

TEST(OptimizerBase, BadOptionsAndDuplicateNamesAreErrors) {
  One a(1.0f), b(2.0f);
  EXPECT_THROW(Sgd(NamedParams{{"x", a.p}, {"x", b.p}}, SgdOptions{}), Error);
  EXPECT_THROW(Sgd(a.params(), with<SgdOptions>([](auto& o) { o.lr = 0.1; o.nesterov = true; })), Error) << "Nesterov needs momentum";
  EXPECT_THROW(Adam(a.params(), with<AdamOptions>([](auto& o) { o.beta1 = 1.0; })), Error);
  EXPECT_THROW(Rmsprop(a.params(), with<RmspropOptions>([](auto& o) { o.alpha = -0.5; })), Error);
  EXPECT_THROW(Adagrad(a.params(), with<AdagradOptions>([](auto& o) { o.lr_decay = -1.0; })), Error);
}

TEST(OptimizerBase, LargeParametersUpdateIdenticallyInParallelChunks) {
  // Above the 16K-element chunk size the kernel runs in parallel; elementwise, so the result must
  // equal the same update applied to a small (single-chunk) copy of a slice.
  const int64_t n = (1 << 16) + 17;
  Tensor big = Tensor::zeros({n}), g = Tensor::zeros({n});
  for (int64_t i = 0; i < n; ++i) {
    big.data()[i] = std::sin(0.001 * i);
    g.data()[i] = std::cos(0.003 * i);
  }
  Var p(big.clone(), true);
  p.node()->grad = g.clone();
  Adam opt(NamedParams{{"p", p}}, with<AdamOptions>([](auto& o) { o.lr = 0.01; }));
  opt.step();
  opt.step();
  for (int64_t start : {int64_t{0}, int64_t{40000}, n - 5}) {
    Var q(Tensor::from({big.data()[start]}, {1}), true);
    q.node()->grad = Tensor::from({g.data()[start]}, {1});
    Adam small(NamedParams{{"q", q}}, with<AdamOptions>([](auto& o) { o.lr = 0.01; }));
    small.step();
    small.step();
    EXPECT_EQ(q.value().data()[0], p.value().data()[start]) << "element " << start;
  }
}

}  // namespace
