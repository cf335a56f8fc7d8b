// Recurrent dropout (Gal & Ghahramani 2016) and zoneout (Krueger et al. 2017) inside the recurrence
// (LayerSpec::recurrent_dropout / zoneout, docs/cells.md): the fused loops against the double reference on
// every cell and SIMD target with the same masks, finite-difference gradients with fixed masks, what
// training and evaluation do, and the refusals. Tolerances as tests/nn/test_rnn_reference.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "kernels/simd_targets.h"
#include "nn/rnn_direction.h"
#include "nn/rnn_test_util.h"
#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"

using namespace recurrent;
using namespace recurrent::testing;
using recurrent::testing::ScopedTarget;

namespace {

const CellType kRegularisedCells[] = {CellType::rnn_tanh, CellType::rnn_relu,   CellType::lstm,    CellType::lstm_peephole,
                              CellType::gru,      CellType::gru_cho,    CellType::gru_simple, CellType::lstm_ln,
                              CellType::gru_ln};
bool regularised_projectable(CellType c) { return is_lstm(c) && !is_layer_norm(c); }

// Every layer of o gets the regularisers (recurrent dropout not on gru_cho, zoneout not with a projection).
RNNOptions with(RNNOptions o, float rdrop, float zone) {
  for (LayerSpec& s : o.layers) {
    s.recurrent_dropout = s.cell == CellType::gru_cho ? 0.0f : rdrop;
    s.zoneout = s.proj > 0 ? 0.0f : zone;
  }
  return o;
}

void compare_regularised(const RnnCase& c, double atol = 1e-5, bool backward = true) { compare_engines(c, atol, backward); }

class RegularisedFusedVsReference : public ::testing::TestWithParam<std::tuple<CellType, int64_t>> {};

// H = 70: a masked tail block on every target; B = 9 / 19: row blocks and remainders, the rows split; 2
// threads share the blocks. Weights as in FusedVsReference (vanilla RNNs ±0.15, else ±0.6, stacks ±0.2).
TEST_P(RegularisedFusedVsReference, EveryOption) {
  const CellType cell = std::get<0>(GetParam());
  const ScopedTarget target(std::get<1>(GetParam()));
  const float r = (cell == CellType::rnn_tanh || cell == CellType::rnn_relu) ? 0.15f : 0.6f;
  const std::vector<int64_t> len9{4, 1, 3, 4, 2, 4, 4, 1, 3};
  const int saved = num_threads();
  for (int threads : {2, 1}) {
    set_num_threads(threads);
    const std::string tag = " threads=" + std::to_string(threads);
    compare_regularised({with(one_layer(cell, 5, 70), 0.3f, 0.0f), 4, 9, len9, true, "dropout H=70 B=9" + tag, r});
    compare_regularised({with(one_layer(cell, 5, 70), 0.0f, 0.3f), 4, 9, len9, true, "zoneout H=70 B=9" + tag, r});
    compare_regularised({with(one_layer(cell, 5, 70), 0.25f, 0.4f), 4, 9, {}, true, "both H=70 B=9" + tag, r});
    rnn::force_fold_input(-1);
    compare_regularised({with(one_layer(cell, 5, 70), 0.25f, 0.4f), 4, 9, len9, true, "both, input not folded" + tag, r});
    rnn::force_fold_input(0);
    rnn::force_forward_split(1);
    compare_regularised({with(one_layer(cell, 5, 70), 0.25f, 0.4f), 3, 19, {}, true, "both, rows split B=19" + tag, r});
    rnn::force_forward_split(0);
    RNNOptions bi = with(RNNOptions::uniform(cell, 5, 33, 2, true), 0.3f, 0.3f);
    compare_regularised({bi, 3, 2, {3, 2}, true, "both, 2 layers bidirectional" + tag, std::min(r, 0.2f)});
    compare_regularised({with(one_layer(cell, 4, 40), 0.3f, 0.3f), 3, 1, {}, true, "both, batch 1" + tag, r});
    if (regularised_projectable(cell))
      compare_regularised({with(one_layer(cell, 5, 70, 40), 0.3f, 0.0f), 4, 9, len9, true, "dropout, projection P=40" + tag, 0.2f});
  }
  set_num_threads(saved);
  // Evaluation: no dropout, zoneout's expectation (forward only: the fused backward refuses it).
  compare_regularised({with(one_layer(cell, 5, 70), 0.3f, 0.3f), 4, 9, len9, true, "evaluation", r}, 1e-5, false);
}

INSTANTIATE_TEST_SUITE_P(CellsTargets, RegularisedFusedVsReference,
                         ::testing::Combine(::testing::ValuesIn(kRegularisedCells), ::testing::ValuesIn(simd::cpu_targets())),
                         [](const auto& info) {
                           return std::string(cell_name(std::get<0>(info.param))) + "_" +
                                  simd::target_name(std::get<1>(info.param));
                         });

// Finite differences with the masks fixed (the harness redraws the same ones in every call).
class RegularisedGradcheck : public ::testing::TestWithParam<CellType> {};

void check_regularised(const RnnCase& c) {
  RnnHarness h(c);
  auto f = [&](const std::vector<Var>& v) { return h.run(v); };
  GradCheckOptions o;
  if (c.opts.layers[0].cell == CellType::rnn_relu) o.eps = 1e-3, o.atol = 1e-2;  // kink at 0 (test_rnn_gradcheck.cpp)
  if (is_layer_norm(c.opts.layers[0].cell)) o.eps = 1e-3;  // the norms' curvature (test_rnn_layer_norm.cpp)
  EXPECT_TRUE(gradcheck_ok(f, h.inputs(), o)) << c.label;
}

TEST_P(RegularisedGradcheck, DropoutZoneoutLengthsStack) {
  const CellType cell = GetParam();
  check_regularised({with(one_layer(cell, 3, 5), 0.4f, 0.0f), 5, 3, {3, 5, 1}, true, "dropout, h0 + lengths"});
  check_regularised({with(one_layer(cell, 3, 5), 0.0f, 0.4f), 5, 3, {3, 5, 1}, true, "zoneout, h0 + lengths"});
  check_regularised({with(RNNOptions::uniform(cell, 3, 4, 2, true), 0.3f, 0.3f), 4, 2, {4, 2}, true, "both, 2 layers bidirectional"});
  if (regularised_projectable(cell)) check_regularised({with(one_layer(cell, 3, 5, 3), 0.4f, 0.0f), 4, 2, {}, true, "dropout, projection"});
}

INSTANTIATE_TEST_SUITE_P(Cells, RegularisedGradcheck, ::testing::ValuesIn(kRegularisedCells),
                         [](const auto& info) { return std::string(cell_name(info.param)); });

Tensor forward_once(RNN& rnn, const Var& x) { return rnn.forward(x).output.value(); }

// Training draws new masks per call (so two calls differ), evaluation none: recurrent dropout is off and
// zoneout mixes by p; a model without them gives the evaluation output of recurrent dropout.
TEST(RnnRegularisers, TrainingAndEvaluation) {
  Rng rng(5);
  const Var x(random_tensor({6, 4, 3}, rng));
  const RNNOptions plain = RNNOptions::uniform(CellType::lstm, 3, 16, 1);
  for (bool dropout : {true, false}) {
    RNNOptions o = plain;
    (dropout ? o.layers[0].recurrent_dropout : o.layers[0].zoneout) = 0.5f;
    Rng r1(11), r2(11);
    RNN reg(o, r1), none(plain, r2);  // same weights
    const Tensor t1 = forward_once(reg, x), t2 = forward_once(reg, x);
    EXPECT_FALSE(tensor_near(t1, t2, 1e-4)) << "training drew the same masks twice";
    EXPECT_FALSE(tensor_near(t1, forward_once(none, x), 1e-4)) << "training changed nothing";
    reg.eval();
    none.eval();
    const Tensor e1 = forward_once(reg, x);
    EXPECT_TRUE(tensor_near(e1, forward_once(reg, x), 0.0, 0.0));
    if (dropout) {
      EXPECT_TRUE(tensor_near(e1, forward_once(none, x), 0.0, 0.0)) << "recurrent dropout active in evaluation";
    } else {
      EXPECT_FALSE(tensor_near(e1, forward_once(none, x), 1e-4)) << "zoneout's expectation missing in evaluation";
    }
  }
}

// The masks: zoneout's rate is p (to a few standard deviations over 10^6 draws), dropout's kept values are
// 1/(1-p); the same stream state draws the same masks, whatever the thread count.
TEST(RnnRegularisers, MasksHaveTheirRatesAndRepeat) {
  const int64_t n = 1 << 20;
  std::vector<uint8_t> z(n), z2(n);
  Rng a(3), b(3);
  rnn::draw_zoneout_mask(a, 0.15f, n, z.data());
  const int saved = num_threads();
  set_num_threads(1);
  rnn::draw_zoneout_mask(b, 0.15f, n, z2.data());
  set_num_threads(saved);
  EXPECT_EQ(z, z2);
  const double rate = static_cast<double>(std::count(z.begin(), z.end(), 1)) / n;
  EXPECT_NEAR(rate, 0.15, 5 * std::sqrt(0.15 * 0.85 / n));
  std::vector<float> m(n);
  rnn::draw_dropout_mask(a, 0.3f, n, m.data());
  int64_t kept = 0;
  for (float v : m) {
    ASSERT_TRUE(v == 0.0f || v == 1.0f / 0.7f) << v;
    kept += v != 0.0f;
  }
  EXPECT_NEAR(static_cast<double>(kept) / n, 0.7, 5 * std::sqrt(0.3 * 0.7 / n));
  std::vector<uint8_t> z3(n);
  rnn::draw_zoneout_mask(a, 0.15f, n, z3.data());
  EXPECT_NE(z, z3) << "the stream did not advance";
}

std::string regulariser_error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(RnnRegularisers, BadOptionsAreRefused) {
  auto opts = [](CellType cell, float rdrop, float zone, int64_t proj = 0) {
    RNNOptions o = one_layer(cell, 3, 8, proj);
    o.layers[0].recurrent_dropout = rdrop;
    o.layers[0].zoneout = zone;
    return o;
  };
  auto msg = [&](const RNNOptions& o) { return regulariser_error_of([&] { o.validate(); }); };
  EXPECT_NE(msg(opts(CellType::lstm, 1.0f, 0.0f)).find("--recurrent-dropout: layer 0: expected a probability in [0, 1), got 1"),
            std::string::npos);
  EXPECT_NE(msg(opts(CellType::lstm, -0.1f, 0.0f)).find("--recurrent-dropout"), std::string::npos);
  EXPECT_NE(msg(opts(CellType::gru, 0.0f, 1.0f)).find("--zoneout: layer 0: expected a probability in [0, 1)"),
            std::string::npos);
  EXPECT_NE(msg(opts(CellType::gru_cho, 0.2f, 0.0f)).find("not defined for gru_cho"), std::string::npos);
  EXPECT_NE(msg(opts(CellType::lstm, 0.0f, 0.2f, 4)).find("no state of its own to zone"), std::string::npos);
  EXPECT_NE(msg(opts(CellType::mingru, 0.2f, 0.0f)).find("no W_hh"), std::string::npos);
  EXPECT_NE(msg(opts(CellType::rglru, 0.0f, 0.2f)).find("not implemented for the scan cells"), std::string::npos);
  EXPECT_EQ(msg(opts(CellType::gru_cho, 0.0f, 0.2f)), "no error");
  EXPECT_EQ(msg(opts(CellType::lstm, 0.2f, 0.0f, 4)), "no error");
  // Backward through zoneout's evaluation-mode expectation; the per-step path (RECURRENT_RNN_FUSED=0).
  Rng rng(1);
  RNN rnn(opts(CellType::gru, 0.0f, 0.3f), rng);
  Var x(random_tensor({4, 2, 3}, rng), true);
  rnn.eval();
  EXPECT_NE(regulariser_error_of([&] { sum(rnn.forward(x).output).backward(); }).find("evaluation-mode forward with zoneout"),
            std::string::npos);
  rnn.train();
  const EngineConfig saved = default_engine();
  EngineConfig e = saved;
  e.fused = -1;
  set_default_engine(e);
  EXPECT_NE(regulariser_error_of([&] { rnn.forward(x); }).find("run in the fused loops only"), std::string::npos);
  set_default_engine(saved);
}

}  // namespace
