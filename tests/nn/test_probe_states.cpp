// GradProbe::keep_states (rnn_probe.h): the forward's own h, gate activations and c of every layer,
// as the explorer's Cells view reads them. Checked against the layers' outputs (h of layer l is the
// input of layer l + 1, h of the last is the output), the final states, and the gates recomputed from
// the weights (LSTM i f g o, GRU r z n in PyTorch's equations), without and with grad mode.
#include <gtest/gtest.h>

#include <cmath>

#include "nn/rnn_test_util.h"

using namespace recurrent;
using namespace recurrent::testing;

namespace {

float sig(float v) { return 1.0f / (1.0f + std::exp(-v)); }

// W x + b for row `row` of w [G·H, K] at column vector x [K].
float affine(const Tensor& w, const Tensor& b, int64_t row, const float* x) {
  const int64_t K = w.size(1);
  double acc = b.data()[row];
  for (int64_t k = 0; k < K; ++k) acc += static_cast<double>(w.data()[row * K + k]) * x[k];
  return static_cast<float>(acc);
}

void check_states(bool grad) {
  const int64_t T = 7, B = 2, I = 3;
  Rng rng(5);
  RNNOptions o;
  o.input_size = I;
  o.layers = {LayerSpec{CellType::lstm, 5, 0}, LayerSpec{CellType::gru, 4, 0}};
  RNN rnn(o, rng);
  rnn.eval();
  auto probe = std::make_shared<GradProbe>();
  probe->keep_states = true;
  rnn.set_grad_probe(probe);
  Tensor x = random_tensor({T, B, I}, rng);
  RNNOutput out = [&] {
    if (grad) return rnn.forward(Var(x, true));
    NoGradGuard ng;
    return rnn.forward(Var(x));
  }();
  const GradProbe::Dir& l0 = probe->layers.at(0).at(0);
  const GradProbe::Dir& l1 = probe->layers.at(1).at(0);
  ASSERT_EQ(l0.h.shape(), (Shape{T, B, 5}));
  ASSERT_EQ(l0.gate_acts.shape(), (Shape{T, B, 20}));
  ASSERT_EQ(l0.c.shape(), (Shape{T, B, 5}));
  ASSERT_EQ(l1.gate_acts.shape(), (Shape{T, B, 12}));
  EXPECT_FALSE(l1.c.defined());
  EXPECT_EQ(l0.gates, (std::vector<std::string>{"i", "f", "g", "o"}));
  EXPECT_EQ(l1.gates, (std::vector<std::string>{"r", "z", "n"}));
  const Tensor y = out.output.value().contiguous();
  for (int64_t k = 0; k < T * B * 4; ++k) EXPECT_EQ(l1.h.data()[k], y.data()[k]) << k;
  for (int64_t k = 0; k < B * 5; ++k) EXPECT_EQ(l0.c.data()[(T - 1) * B * 5 + k], out.final_state.c[0].value().data()[k]);
  // Layer 0 (LSTM): gates from x_t and h_{t-1}; c_t = f c_{t-1} + i g; h_t = o tanh(c_t).
  const Tensor wih = rnn.param("weight_ih", 0, 0).value(), whh = rnn.param("weight_hh", 0, 0).value();
  const Tensor bih = rnn.param("bias_ih", 0, 0).value(), bhh = rnn.param("bias_hh", 0, 0).value();
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b) {
      std::vector<float> hp(5, 0.0f), cp(5, 0.0f);
      if (t > 0)
        for (int64_t j = 0; j < 5; ++j) hp[j] = l0.h.data()[((t - 1) * B + b) * 5 + j], cp[j] = l0.c.data()[((t - 1) * B + b) * 5 + j];
      const float* xt = x.data() + (t * B + b) * I;
      const float* a = l0.gate_acts.data() + (t * B + b) * 20;
      for (int64_t j = 0; j < 5; ++j) {
        float pre[4];
        for (int g = 0; g < 4; ++g) pre[g] = affine(wih, bih, g * 5 + j, xt) + affine(whh, bhh, g * 5 + j, hp.data());
        const float i = sig(pre[0]), f = sig(pre[1]), g = std::tanh(pre[2]), og = sig(pre[3]);
        EXPECT_NEAR(a[j], i, 1e-5);
        EXPECT_NEAR(a[5 + j], f, 1e-5);
        EXPECT_NEAR(a[10 + j], g, 1e-5);
        EXPECT_NEAR(a[15 + j], og, 1e-5);
        const float c = f * cp[j] + i * g;
        EXPECT_NEAR(l0.c.data()[(t * B + b) * 5 + j], c, 1e-5);
        EXPECT_NEAR(l0.h.data()[(t * B + b) * 5 + j], og * std::tanh(c), 1e-5);
      }
    }
  // Layer 1 (GRU): r, z from x_t = h⁰_t and h_{t-1}; n = tanh(W_in x + b_in + r (W_hn h + b_hn)).
  const Tensor w1 = rnn.param("weight_ih", 1, 0).value(), u1 = rnn.param("weight_hh", 1, 0).value();
  const Tensor b1 = rnn.param("bias_ih", 1, 0).value(), c1 = rnn.param("bias_hh", 1, 0).value();
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b) {
      std::vector<float> hp(4, 0.0f);
      if (t > 0)
        for (int64_t j = 0; j < 4; ++j) hp[j] = l1.h.data()[((t - 1) * B + b) * 4 + j];
      const float* xt = l0.h.data() + (t * B + b) * 5;
      const float* a = l1.gate_acts.data() + (t * B + b) * 12;
      for (int64_t j = 0; j < 4; ++j) {
        const float r = sig(affine(w1, b1, j, xt) + affine(u1, c1, j, hp.data()));
        const float z = sig(affine(w1, b1, 4 + j, xt) + affine(u1, c1, 4 + j, hp.data()));
        const float n = std::tanh(affine(w1, b1, 8 + j, xt) + r * affine(u1, c1, 8 + j, hp.data()));
        EXPECT_NEAR(a[j], r, 1e-5);
        EXPECT_NEAR(a[4 + j], z, 1e-5);
        EXPECT_NEAR(a[8 + j], n, 1e-5);
        EXPECT_NEAR(l1.h.data()[(t * B + b) * 4 + j], (1 - z) * n + z * hp[j], 1e-5);
      }
    }
  if (grad) {  // the kept rows are copies: a backward (which overwrites the tape's gates) leaves them
    const Tensor before = l0.gate_acts.clone();
    sum(out.output).backward();
    for (int64_t k = 0; k < before.numel(); ++k) ASSERT_EQ(l0.gate_acts.data()[k], before.data()[k]);
  }
}

TEST(ProbeStates, AreTheForwardsOwnRowsWithoutGradMode) { check_states(false); }
TEST(ProbeStates, AreKeptCopiesWithGradMode) { check_states(true); }

}  // namespace
