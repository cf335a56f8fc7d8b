// The recurrent batch-normalised LSTM (lstm_bn; Cooijmans et al. 2016; docs/cells.md): finite differences in
// training (batch statistics) and in evaluation (population statistics, also beyond the longest training
// length), what the per-step statistics do (they couple the batch's rows in training only), the running
// statistics' update, the parameters and buffers, and the refusals. PyTorch parity: test_rnn_bn_pytorch.cpp;
// saving and loading the statistics: tests/train/test_checkpoint_buffers.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "kernels/simd_targets.h"
#include "nn/rnn_test_util.h"
#include "recurrent/core/error.h"

using namespace recurrent;
using namespace recurrent::testing;

namespace {

// Finite differences. Training, on the double engine (rnn_bn.cpp) with step h = 1e-4: a batch norm over B = 3–4
// rows is strongly curved where a feature's rows are close (1/σ up to 1/√ε ≈ 316), so the central difference's
// truncation term dominates at larger steps (measured worst ratios 14.5 / 155 at h = 1e-3 / 1e-2 on the
// single-layer case, ≤ 1 at 1e-4), and only double arithmetic (outputs rounded once) keeps the rounding term small
// enough there; the fp32 loop is held to the double engine instead (BatchNormFusedVsReference below). With B = 2
// the norm is a sign (±1 but for ε) and no step separates the two terms: the cases use B ≥ 3. Evaluation (an
// affine norm): h = 1e-3, as the layer norms, on both engines.
bool bn_gradcheck_ok(RnnHarness& h, const std::string& label, double step) {
  auto f = [&](const std::vector<Var>& v) { return h.run(v); };
  GradCheckOptions o;
  o.eps = step;
  GradCheckResult r = gradcheck(f, h.inputs(), o);
  EXPECT_TRUE(r.ok) << label << ": worst ratio " << r.worst_ratio << " at input " << r.worst_input << " element "
                    << r.worst_index;
  return r.ok;
}

TEST(BatchNormGradcheck, TrainingDoubleEngine) {
  set_rnn_engine(RnnEngine::reference);
  const CellType bn = CellType::lstm_bn;
  {
    RnnHarness h({one_layer(bn, 3, 5), 4, 3, {}, false, "single"});
    bn_gradcheck_ok(h, "single", 1e-4);
  }
  {
    RnnHarness h({one_layer(bn, 3, 5), 5, 3, {3, 5, 2}, true, "h0 + lengths"});
    bn_gradcheck_ok(h, "h0 + lengths", 1e-4);
  }
  RNNOptions o = RNNOptions::uniform(bn, 3, 4, 2, true);
  o.batch_first = true;
  {
    RnnHarness h({o, 4, 3, {4, 2, 3}, true, "2 layers, bidirectional, batch_first, lengths"});
    bn_gradcheck_ok(h, "2 layers bidirectional", 1e-4);
  }
  o.merge = BidirMerge::sum;
  {
    RnnHarness h({o, 3, 4, {}, false, "bidirectional sum"});
    bn_gradcheck_ok(h, "bidirectional sum", 1e-4);
  }
  set_rnn_engine(RnnEngine::fast);
}

class BatchNormGradcheck : public ::testing::TestWithParam<RnnEngine> {};

// Evaluation: population statistics learnt from two training calls of 3 steps; the checked sequences have 5, so
// steps 3 and 4 use step 2's statistics.
TEST_P(BatchNormGradcheck, Evaluation) {
  set_rnn_engine(GetParam());
  RNNOptions o = RNNOptions::uniform(CellType::lstm_bn, 3, 4, 2, true);
  RnnHarness h({o, 5, 3, {5, 2, 4}, true, "evaluation"});
  Rng r(5);
  for (int k = 0; k < 2; ++k) h.rnn.forward(Var(random_tensor({3, 4, 3}, r)));
  h.rnn.eval();
  bn_gradcheck_ok(h, "evaluation, 2 layers bidirectional, lengths, h0", 1e-3);
  set_rnn_engine(RnnEngine::fast);
}

INSTANTIATE_TEST_SUITE_P(Engines, BatchNormGradcheck, ::testing::Values(RnnEngine::fast, RnnEngine::reference),
                         [](const auto& info) { return std::string(info.param == RnnEngine::fast ? "fast" : "reference"); });

// The fp32 loop (rnn_fused_bn.cpp) against the double engine: outputs and every input's gradient, 1e-4 relative +
// 1e-5 absolute (the bound its PyTorch parity uses, test_rnn_bn_pytorch.cpp), on every SIMD target (every pass but
// the GEMMs is the target's Highway kernel). H = 70: a masked tail on every target. The worst element sits at
// 0.5–0.8× the bound (γ_x's gradient of the H = 70, B = 19 case, a sum of cancelling da ⊙ n_x terms): float32 is
// that far from it by nature here, float32 PyTorch reaching 0.03–1.12× on five random draws of that shape.
void bn_fused_vs_reference(const RnnCase& c, bool backward = true) {
  const std::vector<Tensor> fast = run_on_engine(c, RnnEngine::fast, backward),
                            ref = run_on_engine(c, RnnEngine::reference, backward);
  ASSERT_EQ(fast.size(), ref.size());
  for (size_t k = 0; k < fast.size(); ++k)
    EXPECT_TRUE(tensor_near(fast[k], ref[k], 1e-5, 1e-4))
        << c.label << ": " << (k == 0 ? std::string("outputs") : "gradient of input " + std::to_string(k - 1));
}

class BatchNormFusedVsReference : public ::testing::TestWithParam<int64_t> {};

TEST_P(BatchNormFusedVsReference, EveryStack) {
  const ScopedTarget target(GetParam());
  const CellType bn = CellType::lstm_bn;
  bn_fused_vs_reference({one_layer(bn, 5, 70), 4, 9, {4, 1, 3, 4, 2, 4, 4, 1, 3}, true, "H=70 B=9 lengths + h0"});
  bn_fused_vs_reference({one_layer(bn, 5, 70), 3, 19, {}, false, "H=70 B=19"});
  RNNOptions bi = RNNOptions::uniform(bn, 5, 33, 2, true);
  bn_fused_vs_reference({bi, 3, 3, {3, 2, 1}, true, "H=33 2 layers bidirectional lengths", 0.2f});
  bi.merge = BidirMerge::sum;
  bi.batch_first = true;
  bn_fused_vs_reference({bi, 3, 17, {}, false, "bidirectional sum, batch_first, B=17", 0.2f});
  bn_fused_vs_reference({one_layer(bn, 5, 70), 4, 9, {}, true, "evaluation", 0.6f}, false);
  bn_fused_vs_reference({one_layer(bn, 5, 70), 4, 1, {}, true, "evaluation, batch 1", 0.6f}, false);
}

INSTANTIATE_TEST_SUITE_P(Targets, BatchNormFusedVsReference, ::testing::ValuesIn(simd::cpu_targets()), TargetName());

// With the fused loops off (EngineConfig::fused < 0: the per-step path, which cannot normalise across rows) the fast
// engine runs the double one: bitwise the reference engine's results.
TEST(BatchNormFusedVsReference, FusedLoopsOffRunTheDoubleEngine) {
  const RnnCase c{RNNOptions::uniform(CellType::lstm_bn, 3, 6, 1, true), 4, 5, {4, 2, 4, 1, 3}, true, "fused off"};
  const EngineConfig saved = default_engine();
  EngineConfig e = saved;
  e.fused = -1;
  set_default_engine(e);
  const std::vector<Tensor> off = run_on_engine(c, RnnEngine::fast);
  set_default_engine(saved);
  const std::vector<Tensor> ref = run_on_engine(c, RnnEngine::reference), fused = run_on_engine(c, RnnEngine::fast);
  ASSERT_EQ(off.size(), ref.size());
  for (size_t k = 0; k < off.size(); ++k) EXPECT_TRUE(tensor_near(off[k], ref[k], 0.0, 0.0)) << "input " << k;
  EXPECT_FALSE(tensor_near(fused[1], ref[1], 0.0, 0.0)) << "the fp32 loop itself must differ in the last bits";
}

// Row 0's output as a function of row 1's input: in training the batch statistics of every step couple them; in
// evaluation the rows are independent (and the fast and reference engines agree on both).
TEST(BatchNorm, StatisticsCoupleTheRowsInTrainingOnly) {
  Rng rng(2);
  RNN rnn(one_layer(CellType::lstm_bn, 3, 6), rng);
  Tensor x = random_tensor({4, 3, 3}, rng), x2 = x.clone();
  for (int64_t t = 0; t < 4; ++t) x2.data()[(t * 3 + 1) * 3] += 0.5f;  // row 1 only
  auto row0 = [&](const Tensor& in) {
    const Tensor y = rnn.forward(Var(in)).output.value();
    std::vector<float> v;
    for (int64_t t = 0; t < 4; ++t)
      for (int64_t j = 0; j < 6; ++j) v.push_back(y.data()[(t * 3) * 6 + j]);
    return v;
  };
  auto moved = [&] {
    const std::vector<float> a = row0(x), b = row0(x2);
    float m = 0.0f;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
    return m;
  };
  EXPECT_GT(moved(), 1e-3f) << "training: row 0 must see row 1 through the batch statistics";
  rnn.eval();
  EXPECT_EQ(moved(), 0.0f) << "evaluation: the rows must not interact";
}

// The running statistics after training calls, against the update rule computed here from W_ih x_t
// (x side: mean ← 0.9 mean + 0.1 μ_t, var ← 0.9 var + 0.1 σ²_t n/(n−1)); a longer call grows them (new steps start
// at mean 0, variance 1); a step with one valid row leaves its statistics alone.
TEST(BatchNorm, RunningStatisticsFollowTorchsRule) {
  Rng rng(4);
  const int64_t I = 3, H = 2, GH = 8, B = 3;
  RNN rnn(one_layer(CellType::lstm_bn, I, H), rng);
  const Tensor w = rnn.param("weight_ih", 0, 0).value();
  const Tensor* mean = rnn.find_buffer("bn_running_mean_ih_l0");
  const Tensor* var = rnn.find_buffer("bn_running_var_ih_l0");
  ASSERT_TRUE(mean && var);
  EXPECT_EQ(mean->shape(), Shape({1, GH}));
  // W_ih x_t of row b, feature k.
  auto u = [&](const Tensor& x, int64_t t, int64_t b, int64_t k) {
    double acc = 0.0;
    for (int64_t i = 0; i < I; ++i) acc += static_cast<double>(w.data()[k * I + i]) * x.data()[(t * B + b) * I + i];
    return acc;
  };
  const Tensor x3 = random_tensor({3, B, I}, rng), x5 = random_tensor({5, B, I}, rng);
  rnn.forward(Var(x3));
  rnn.forward(Var(x5), {5, 4, 2});  // step 4: row 0 alone
  mean = rnn.find_buffer("bn_running_mean_ih_l0");
  var = rnn.find_buffer("bn_running_var_ih_l0");
  ASSERT_EQ(mean->shape(), Shape({5, GH}));
  ASSERT_EQ(rnn.find_buffer("bn_running_var_c_l0")->shape(), Shape({5, H}));
  const int64_t n5[5] = {3, 3, 2, 2, 1};
  for (int64_t t = 0; t < 5; ++t)
    for (int64_t k = 0; k < GH; ++k) {
      double m = 0.0, v = 1.0;  // torch's start
      auto update = [&](const Tensor& x, int64_t n) {
        double mu = 0.0, s2 = 0.0;
        for (int64_t b = 0; b < n; ++b) mu += u(x, t, b, k);
        mu /= n;
        for (int64_t b = 0; b < n; ++b) s2 += (u(x, t, b, k) - mu) * (u(x, t, b, k) - mu);
        m = 0.9 * m + 0.1 * mu, v = 0.9 * v + 0.1 * s2 / (n - 1);
      };
      if (t < 3) update(x3, 3);
      // lengths {5, 4, 2}: valid rows at t are a prefix of (0, 1, 2) here
      if (n5[t] >= 2) update(x5, n5[t]);
      EXPECT_NEAR(mean->data()[t * GH + k], m, 1e-6) << "t=" << t << " k=" << k;
      EXPECT_NEAR(var->data()[t * GH + k], v, 1e-6) << "t=" << t << " k=" << k;
    }
  EXPECT_EQ(mean->data()[4 * GH], 0.0f) << "one valid row: no update";
  EXPECT_EQ(var->data()[4 * GH + 3], 1.0f) << "one valid row: no update";
  // Evaluation moves nothing.
  const Tensor before = mean->clone();
  rnn.eval();
  rnn.forward(Var(x5));
  EXPECT_TRUE(tensor_near(*rnn.find_buffer("bn_running_mean_ih_l0"), before, 0.0, 0.0));
}

// Names, shapes and starting values (γ 0.1, β_c 0: Cooijmans et al. 2016), buffers apart from parameters (an
// optimizer never sees them), one set per direction.
TEST(BatchNorm, ParametersAndBuffers) {
  Rng rng(1);
  RNN rnn(RNNOptions::uniform(CellType::lstm_bn, 3, 6, 1, true), rng);
  for (const char* name : {"bn_weight_ih_l0", "bn_weight_hh_l0_reverse", "bn_weight_c_l0", "bn_bias_c_l0_reverse"})
    ASSERT_TRUE(rnn.has_parameter(name)) << name;
  EXPECT_EQ(rnn.parameter("bn_weight_ih_l0").shape(), Shape({24}));
  EXPECT_EQ(rnn.parameter("bn_weight_c_l0").shape(), Shape({6}));
  EXPECT_FLOAT_EQ(rnn.parameter("bn_weight_hh_l0").value().data()[5], 0.1f);
  EXPECT_FLOAT_EQ(rnn.parameter("bn_weight_c_l0_reverse").value().data()[1], 0.1f);
  EXPECT_EQ(rnn.parameter("bn_bias_c_l0").value().data()[2], 0.0f);
  EXPECT_FALSE(rnn.has_parameter("ln_weight_ih_l0"));
  const auto buffers = rnn.named_buffers();
  ASSERT_EQ(buffers.size(), 12u);
  EXPECT_EQ(buffers[0].first, "bn_running_mean_ih_l0");
  EXPECT_EQ(buffers[11].first, "bn_running_var_c_l0_reverse");
  for (auto& [name, p] : rnn.named_parameters()) EXPECT_EQ(name.find("running"), std::string::npos) << name;
  EXPECT_EQ(rnn.find_buffer("bn_running_var_hh_l0")->data()[3], 1.0f);
  EXPECT_EQ(parse_cell("lstm_bn"), CellType::lstm_bn);
  EXPECT_EQ(gate_count(CellType::lstm_bn), 4);
  EXPECT_TRUE(has_cell_state(CellType::lstm_bn));
  EXPECT_THROW(rnn.set_buffer("bn_running_mean_ih_l7", Tensor({1, 24})), Error);
}

// The gradient lab's probe reads the fp32 loop's tape (gate activations, states) as the LSTM's: with every weight
// 0 the norms see constant columns (n = 0), so the gates are the biases' — i = σ(0), f = σ(10), g = tanh(0) — and
// c_t = 0, h_t = o ⊙ tanh(β_c = 0) = 0; backward records ‖∂L/∂h_t‖ per (t, b).
TEST(BatchNorm, GradientLabProbeSeesTheGates) {
  Rng rng(4);
  RNN rnn(one_layer(CellType::lstm_bn, 3, 5), rng);
  for (const char* k : {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"}) rnn.parameter(k).value().zero_();
  Tensor& b = rnn.parameter("bias_ih_l0").value();
  for (int64_t j = 0; j < 5; ++j) b.data()[5 + j] = 10.0f;
  auto probe = std::make_shared<GradProbe>();
  rnn.set_grad_probe(probe);
  Var x(random_tensor({4, 3, 3}, rng), true);
  sum(rnn.forward(x).output).backward();
  const GradProbe::Dir& d = probe->layers.at(0).at(0);
  ASSERT_EQ(d.gates, (std::vector<std::string>{"i", "f", "g", "o"}));
  EXPECT_NEAR(d.gate_mean[0], 0.5, 1e-6);
  EXPECT_NEAR(d.gate_mean[1], 1.0, 1e-4);
  EXPECT_NEAR(d.gate_mean[2], 0.0, 1e-6);
  EXPECT_EQ(d.gate_saturated[1], 1.0);
  EXPECT_EQ(d.h_norm, 0.0);
  ASSERT_EQ(d.dh.shape(), Shape({4, 3}));
  EXPECT_GT(d.dh.data()[0], 0.0f);
}

std::string bn_error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(BatchNorm, RefusedWhereItCannotRun) {
  Rng rng(1);
  RNN rnn(one_layer(CellType::lstm_bn, 3, 4), rng);
  const Var one(random_tensor({4, 1, 3}, rng));
  const std::string msg = bn_error_of([&] { rnn.forward(one); });
  EXPECT_NE(msg.find("--batch"), std::string::npos) << msg;
  EXPECT_NE(msg.find("batches of 2 or more"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
  rnn.eval();
  EXPECT_EQ(bn_error_of([&] { rnn.forward(one); }), "no error") << "evaluation takes one sequence";
  RNNOptions proj = one_layer(CellType::lstm_bn, 3, 8, 4);
  EXPECT_NE(bn_error_of([&] { proj.validate(); }).find("projection"), std::string::npos);
  RNNOptions drop = one_layer(CellType::lstm_bn, 3, 8);
  drop.layers[0].recurrent_dropout = 0.2f;
  EXPECT_NE(bn_error_of([&] { drop.validate(); }).find("--recurrent-dropout"), std::string::npos);
  RNNOptions zone = one_layer(CellType::lstm_bn, 3, 8);
  zone.layers[0].zoneout = 0.2f;
  EXPECT_NE(bn_error_of([&] { zone.validate(); }).find("--zoneout"), std::string::npos);
  RNNOptions bf = one_layer(CellType::lstm_bn, 3, 8);
  bf.precision = Precision::bf16;
  EXPECT_NE(bn_error_of([&] { bf.validate(); }).find("fp32 only"), std::string::npos);
}

// An epoch's last batch can hold one sequence (n % batch == 1): after batches of two or more it trains like a step
// with one valid row (features 0, statistics unchanged, finite gradients) on both engines instead of ending the run.
TEST(BatchNorm, OneRowBatchAfterTrainingBatchesTrainsWithoutStatistics) {
  for (RnnEngine engine : {RnnEngine::fast, RnnEngine::reference}) {
    set_rnn_engine(engine);
    Rng rng(5);
    RNN rnn(one_layer(CellType::lstm_bn, 3, 4), rng);
    rnn.forward(Var(random_tensor({4, 3, 3}, rng)));  // a batch of 3: the statistics start
    const std::vector<std::pair<std::string, Tensor>> before = rnn.named_buffers();
    std::vector<Tensor> kept;
    for (const auto& [name, b] : before) kept.push_back(b.clone());
    Var x(random_tensor({4, 1, 3}, rng), true);
    RNNOutput out = rnn.forward(x);
    sum(out.output).backward();
    for (int64_t i = 0; i < out.output.value().numel(); ++i) ASSERT_TRUE(std::isfinite(out.output.value().data()[i]));
    for (int64_t i = 0; i < x.grad().numel(); ++i) ASSERT_TRUE(std::isfinite(x.grad().data()[i]));
    const auto after = rnn.named_buffers();
    ASSERT_EQ(after.size(), kept.size());
    for (size_t k = 0; k < after.size(); ++k)
      EXPECT_TRUE(tensor_near(after[k].second, kept[k], 0.0, 0.0)) << after[k].first << " changed on one row";
  }
  set_rnn_engine(RnnEngine::fast);
}

}  // namespace
