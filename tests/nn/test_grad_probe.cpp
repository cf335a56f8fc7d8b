// The gradient lab's BPTT probe (rnn_probe.h): per-step ‖∂L/∂h_t‖ equal the gradient the autograd
// path computes when the sequence is cut at t (h_t fed back in as a leaf state), for every cell and
// both engines; an identity ReLU RNN keeps the norm exactly; a positive W with spectral radius 0.7
// makes it vanish by exactly 0.7 per step; gate statistics see the gates they should.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "nn/rnn_test_util.h"

using namespace recurrent;
using namespace recurrent::testing;

namespace {

// Rows [t0, t1) of a [T, B, I] tensor.
Tensor time_slice(const Tensor& x, int64_t t0, int64_t t1) { return x.slice(0, t0, t1).contiguous(); }

struct ProbeCase {
  CellType cell;
  int64_t proj;
  RnnEngine engine;
};

class GradProbeVsAutograd : public ::testing::TestWithParam<ProbeCase> {};

// L = Σ w ⊙ output + Σ v ⊙ h_n (lopsided, so errors cannot cancel). For each t, run [0, t] and
// [t+1, T) separately with the cut state as leaf Vars: ∂L/∂h_t = ∂L_rest/∂h_t' + w_t (y_t = h_t), and
// ∂L/∂c_t (c_t fixed while h_t varies, as BPTT carries it) = ∂L_rest/∂c_t'.
TEST_P(GradProbeVsAutograd, PerStepNormsMatchTheCutSequence) {
  const ProbeCase pc = GetParam();
  set_rnn_engine(pc.engine);
  const int64_t T = 6, B = 2, I = 3, H = 4;
  Rng rng(11);
  RNN rnn(one_layer(pc.cell, I, H, pc.proj), rng);
  const int64_t R = rnn.options().layers[0].out_size();
  const bool lstm = is_lstm(pc.cell);
  Tensor x = random_tensor({T, B, I}, rng), w = random_tensor({T, B, R}, rng, -0.5f, 1.5f);
  Tensor v = random_tensor({1, B, R}, rng, -0.5f, 1.5f);
  auto loss = [&](const RNNOutput& o, const Tensor& wt) {
    return sum(mul(o.output, Var(wt))) + sum(mul(o.final_state.h[0], Var(v)));
  };
  auto probe = std::make_shared<GradProbe>();
  rnn.set_grad_probe(probe);
  loss(rnn.forward(Var(x)), w).backward();
  rnn.set_grad_probe(nullptr);
  const Tensor dh = probe->layers.at(0).at(0).dh;
  ASSERT_EQ(dh.shape(), (Shape{T, B}));
  for (int64_t t = 0; t < T; ++t) {
    SCOPED_TRACE("t = " + std::to_string(t));
    RNNOutput head = rnn.forward(Var(time_slice(x, 0, t + 1)));
    Tensor expect_dh = w.slice(0, t, t + 1).contiguous();  // [1, B, R]: the direct term
    Tensor expect_dc({1, B, H});
    if (t + 1 < T) {
      RNNState cut;
      cut.h.push_back(Var(head.final_state.h[0].value(), true));
      if (lstm) cut.c.push_back(Var(head.final_state.c[0].value(), true));
      loss(rnn.forward(Var(time_slice(x, t + 1, T)), {}, cut), time_slice(w, t + 1, T)).backward();
      for (int64_t i = 0; i < B * R; ++i) expect_dh.data()[i] += cut.h[0].grad().data()[i];
      if (lstm) expect_dc.copy_(cut.c[0].grad());
    } else {
      for (int64_t i = 0; i < B * R; ++i) expect_dh.data()[i] += v.data()[i];  // h_n = h_{T-1}
    }
    for (int64_t b = 0; b < B; ++b) {
      double e = 0.0, ec = 0.0;
      for (int64_t j = 0; j < R; ++j) e += std::pow(expect_dh.data()[b * R + j], 2);
      for (int64_t j = 0; j < H; ++j) ec += std::pow(expect_dc.data()[b * H + j], 2);
      EXPECT_NEAR(dh.at({t, b}), std::sqrt(e), 1e-5 * (1 + std::sqrt(e))) << "b = " << b;
      if (lstm) {
        EXPECT_NEAR(probe->layers[0][0].dc.at({t, b}), std::sqrt(ec), 1e-5 * (1 + std::sqrt(ec))) << "b = " << b;
      }
    }
  }
  set_rnn_engine(RnnEngine::fast);
}

INSTANTIATE_TEST_SUITE_P(
    Cells, GradProbeVsAutograd,
    ::testing::Values(ProbeCase{CellType::rnn_tanh, 0, RnnEngine::fast}, ProbeCase{CellType::lstm, 0, RnnEngine::fast},
                      ProbeCase{CellType::lstm, 3, RnnEngine::fast}, ProbeCase{CellType::lstm_peephole, 0, RnnEngine::fast},
                      ProbeCase{CellType::gru, 0, RnnEngine::fast}, ProbeCase{CellType::gru_cho, 0, RnnEngine::fast},
                      ProbeCase{CellType::gru_simple, 0, RnnEngine::fast},
                      ProbeCase{CellType::rnn_tanh, 0, RnnEngine::reference},
                      ProbeCase{CellType::lstm, 0, RnnEngine::reference},
                      ProbeCase{CellType::gru, 0, RnnEngine::reference}),
    [](const auto& info) {
      return std::string(cell_name(info.param.cell)) + (info.param.proj ? "_proj" : "") +
             (info.param.engine == RnnEngine::fast ? "_fast" : "_reference");
    });

// h_t = relu(W_ih x_t + W_hh h_{t-1} + b) with W_ih = 0, b = 0 and h0 > 0 stays in the linear region,
// so ∂L/∂h_{t-1} = W_hhᵀ ∂L/∂h_t exactly. Loss on h_n only.
std::vector<double> linear_relu_norms(const std::vector<float>& w_hh, int64_t H, int64_t T) {
  Rng rng(3);
  RNN rnn(one_layer(CellType::rnn_relu, 2, H), rng);
  rnn.parameter("weight_ih_l0").value().zero_();
  rnn.parameter("bias_ih_l0").value().zero_();
  rnn.parameter("bias_hh_l0").value().zero_();
  rnn.parameter("weight_hh_l0").value().copy_(Tensor::from(w_hh, {H, H}));
  auto probe = std::make_shared<GradProbe>();
  rnn.set_grad_probe(probe);
  RNNState init;
  init.h.push_back(Var(random_tensor({1, 1, H}, rng, 0.5f, 1.0f)));
  RNNOutput o = rnn.forward(Var(random_tensor({T, 1, 2}, rng)), {}, init);
  sum(mul(o.final_state.h[0], Var(random_tensor({1, 1, H}, rng, 0.5f, 1.5f)))).backward();
  return probe->dh_norm();
}

TEST(GradProbe, IdentityReluRnnKeepsTheGradientNormExactly) {
  const int64_t H = 8, T = 50;
  std::vector<float> eye(H * H, 0.0f);
  for (int64_t i = 0; i < H; ++i) eye[i * H + i] = 1.0f;
  std::vector<double> n = linear_relu_norms(eye, H, T);
  ASSERT_EQ(n.size(), static_cast<size_t>(T));
  EXPECT_GT(n[T - 1], 0.0);
  for (int64_t t = 0; t < T; ++t) EXPECT_EQ(n[t], n[T - 1]) << "t = " << t;
}

TEST(GradProbe, SpectralRadiusBelowOneVanishesGeometricallyAtThatRate) {
  // W = [[0.5, 0.3], [0.2, 0.4]]: eigenvalues 0.7 and 0.2 (trace 0.9, det 0.14); positive entries keep
  // h > 0, so the gradient k steps back is (Wᵀ)^k g and its norm shrinks by ρ = 0.7 per step once the
  // 0.2 mode has died out ((0.2/0.7)^k).
  const int64_t T = 40;
  std::vector<double> n = linear_relu_norms({0.5f, 0.3f, 0.2f, 0.4f}, 2, T);
  for (int64_t k = 12; k < T - 1; ++k) {
    const int64_t t = T - 1 - k;
    EXPECT_NEAR(n[t - 1] / n[t], 0.7, 2e-5) << "distance " << k;
  }
  EXPECT_NEAR(std::log(n[0] / n[T - 1]) / (T - 1), std::log(0.7), 0.05);  // whole-range rate, early modes included
}

TEST(GradProbe, GateStatisticsSeeSaturatedAndOpenGates) {
  Rng rng(4);
  RNN rnn(one_layer(CellType::lstm, 3, 5), rng);
  for (const char* k : {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"}) rnn.parameter(k).value().zero_();
  Tensor& b = rnn.parameter("bias_ih_l0").value();
  for (int64_t j = 0; j < 5; ++j) b.data()[5 + j] = 10.0f;  // forget gate σ(10) ≈ 1: saturated
  auto probe = std::make_shared<GradProbe>();
  rnn.set_grad_probe(probe);
  rnn.forward(Var(random_tensor({4, 2, 3}, rng)));
  const GradProbe::Dir& d = probe->layers.at(0).at(0);
  ASSERT_EQ(d.gates, (std::vector<std::string>{"i", "f", "g", "o"}));
  EXPECT_NEAR(d.gate_mean[0], 0.5, 1e-6);   // σ(0)
  EXPECT_NEAR(d.gate_mean[1], 1.0, 1e-4);   // σ(10)
  EXPECT_NEAR(d.gate_mean[2], 0.0, 1e-6);   // tanh(0)
  EXPECT_EQ(d.gate_saturated[0], 0.0);
  EXPECT_EQ(d.gate_saturated[1], 1.0);
  EXPECT_EQ(d.gate_saturated[2], 0.0);
  EXPECT_EQ(d.h_norm, 0.0);  // g = 0 keeps c = 0 from c0 = 0, so h = o·tanh(0) = 0
}

TEST(GradProbe, AttachingTheProbeLeavesGradientsUnchanged) {
  Rng rng(9);
  RNN rnn(RNNOptions::uniform(CellType::gru, 3, 4, 2, true), rng);
  Tensor x = random_tensor({5, 2, 3}, rng);
  auto grads = [&](bool attach) {
    rnn.zero_grad();
    rnn.set_grad_probe(attach ? std::make_shared<GradProbe>() : nullptr);
    Var xv(x, true);
    sum(mul(rnn.forward(xv).output, rnn.forward(xv).output)).backward();
    std::vector<Tensor> g{xv.grad().contiguous()};
    for (auto& p : rnn.parameters()) g.push_back(p.grad().contiguous());
    return g;
  };
  std::vector<Tensor> a = grads(false), b = grads(true);
  // With the probe the backward runs the per-step path (oneDNN's products) instead of the fused loops (the
  // target's panel products): the same sums in another order, so equal to rounding (bitwise on x86 today,
  // one ulp apart on aarch64's NEON), not a different gradient.
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(tensor_near(b[i], a[i], 1e-7, 1e-6)) << "gradient " << i;
  ASSERT_EQ(rnn.grad_probe()->layers.size(), 2u);
  EXPECT_EQ(rnn.grad_probe()->dh_norm(1, 1).size(), 5u);
}

}  // namespace
