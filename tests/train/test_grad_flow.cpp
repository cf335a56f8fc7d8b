// Gradient-flow measurements (train/grad_flow.h): spectral radius and norm on matrices with known
// spectra (real, complex, Jordan, nilpotent, orthogonal); one-step state Jacobians against the tanh
// formula and finite differences of the double-precision reference engine; Jacobian products.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/gradcheck.h"
#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/nn/rnn_init.h"
#include "recurrent/train/grad_flow.h"

using namespace recurrent;
using namespace recurrent::testing;

namespace {

TEST(SpectralRadius, KnownSpectra) {
  const float diag[9] = {0.3f, 0, 0, 0, -0.9f, 0, 0, 0, 0.5f};
  EXPECT_NEAR(spectral_radius(diag, 3, 3), 0.9, 1e-6);
  const float pos[4] = {0.5f, 0.3f, 0.2f, 0.4f};  // eigenvalues 0.7, 0.2
  EXPECT_NEAR(spectral_radius(pos, 2, 2), 0.7, 1e-6);
  const double th = 0.7, r = 0.8;  // scaled rotation: eigenvalues 0.8·e^{±iθ}, no real dominant one
  const float rot[4] = {float(r * std::cos(th)), float(-r * std::sin(th)), float(r * std::sin(th)), float(r * std::cos(th))};
  EXPECT_NEAR(spectral_radius(rot, 2, 2), 0.8, 1e-6);
  const float jordan[4] = {0.9f, 1.0f, 0.0f, 0.9f};  // ‖A^k‖ ~ k·0.9^k: converges like log(k)/k
  EXPECT_NEAR(spectral_radius(jordan, 2, 2), 0.9, 1e-4);
  const float nil[4] = {0, 1, 0, 0};
  EXPECT_EQ(spectral_radius(nil, 2, 2), 0.0);
  const float big[4] = {1e20f, 0, 0, 3e19f};  // no overflow in the squarings
  EXPECT_NEAR(spectral_radius(big, 2, 2) / 1e20, 1.0, 1e-6);
}

TEST(SpectralRadius, OrthogonalIsOneAndScalesLinearly) {
  Rng rng(2);
  const int64_t n = 16;
  std::vector<float> q(n * n);
  fill_orthogonal(q.data(), n, n, n, rng);
  EXPECT_NEAR(spectral_radius(q.data(), n, n), 1.0, 1e-5);
  EXPECT_NEAR(spectral_norm(q.data(), n, n, n), 1.0, 1e-5);
  for (float& v : q) v *= 1.5f;
  EXPECT_NEAR(spectral_radius(q.data(), n, n), 1.5, 1.5e-5);
}

TEST(SpectralNorm, DiffersFromRadiusForNonNormalMatrices) {
  const float a[4] = {0.0f, 2.0f, 0.5f, 0.0f};  // eigenvalues ±1, singular values 2 and 0.5
  EXPECT_NEAR(spectral_radius(a, 2, 2), 1.0, 1e-6);
  EXPECT_NEAR(spectral_norm(a, 2, 2, 2), 2.0, 1e-6);
  const float rect[6] = {3, 0, 0, 0, -4, 0};
  EXPECT_NEAR(spectral_norm(rect, 2, 3, 3), 4.0, 1e-6);
  EXPECT_THROW(spectral_radius(a, 0, 2), Error);
}

// tanh RNN: s' = tanh(W_ih x + b + W_hh h), so J = diag(1 − s'²) W_hh.
TEST(StateJacobian, TanhRnnMatchesTheFormula) {
  Rng rng(5);
  const int64_t I = 3, H = 5;
  RNN rnn(RNNOptions::uniform(CellType::rnn_tanh, I, H, 1), rng);
  std::vector<float> x = random_tensor({I}, rng).to_vector(), h = random_tensor({H}, rng).to_vector();
  Tensor J = state_jacobian(rnn, x, h, {});
  RNNState st;
  st.h.push_back(Var(Tensor::from(h, {1, 1, H})));
  std::vector<float> hn = rnn.forward(Var(Tensor::from(x, {1, 1, I})), {}, st).final_state.h[0].value().to_vector();
  const Tensor& W = rnn.parameter("weight_hh_l0").value();
  for (int64_t i = 0; i < H; ++i)
    for (int64_t j = 0; j < H; ++j)
      EXPECT_NEAR(J.at({i, j}), (1 - hn[i] * hn[i]) * W.at({i, j}), 1e-6) << i << "," << j;
  EXPECT_FALSE(rnn.parameter("weight_hh_l0").has_grad());  // the model's gradients are untouched
}

// Central differences of the reference engine (double inside) over the whole (h, c) state.
void expect_jacobian_matches_differences(CellType cell, int64_t proj) {
  Rng rng(6);
  const int64_t I = 3, H = 4;
  RNN rnn(RNNOptions::uniform(cell, I, H, 1, false, proj), rng);
  const LayerSpec& ls = rnn.options().layers[0];
  const bool lstm = is_lstm(cell);
  const int64_t R = ls.out_size(), S = R + (lstm ? H : 0);
  std::vector<float> x = random_tensor({I}, rng).to_vector(), h = random_tensor({R}, rng).to_vector();
  std::vector<float> c = lstm ? random_tensor({H}, rng).to_vector() : std::vector<float>();
  Tensor J = state_jacobian(rnn, x, h, c);
  set_rnn_engine(RnnEngine::reference);
  auto step = [&](std::vector<float> s) {
    NoGradGuard ng;
    RNNState st;
    st.h.push_back(Var(Tensor::from(std::vector<float>(s.begin(), s.begin() + R), {1, 1, R})));
    if (lstm) st.c.push_back(Var(Tensor::from(std::vector<float>(s.begin() + R, s.end()), {1, 1, H})));
    RNNOutput o = rnn.forward(Var(Tensor::from(x, {1, 1, I})), {}, st);
    std::vector<float> out = o.final_state.h[0].value().to_vector();
    if (lstm) for (float v : o.final_state.c[0].value().to_vector()) out.push_back(v);
    return out;
  };
  std::vector<float> s = h;
  s.insert(s.end(), c.begin(), c.end());
  const float eps = 1e-2f;
  for (int64_t j = 0; j < S; ++j) {
    std::vector<float> sp = s, sm = s;
    sp[j] += eps, sm[j] -= eps;
    std::vector<float> fp = step(sp), fm = step(sm);
    for (int64_t i = 0; i < S; ++i) EXPECT_NEAR(J.at({i, j}), (fp[i] - fm[i]) / (2 * eps), 2e-4) << i << "," << j;
  }
  set_rnn_engine(RnnEngine::fast);
}

TEST(StateJacobian, LstmMatchesDifferences) { expect_jacobian_matches_differences(CellType::lstm, 0); }
TEST(StateJacobian, LstmProjectionMatchesDifferences) { expect_jacobian_matches_differences(CellType::lstm, 2); }
TEST(StateJacobian, GruMatchesDifferences) { expect_jacobian_matches_differences(CellType::gru, 0); }
TEST(StateJacobian, SimpleGruMatchesDifferences) { expect_jacobian_matches_differences(CellType::gru_simple, 0); }

// ReLU RNN with zero input weights and a positive W (ρ = 0.7) from a positive state: every J_t = W,
// so log ‖J_t ⋯ J_1‖₂ = log ‖W^t‖₂, whose rate tends to log ρ.
TEST(JacobianProfile, ProductOfConstantJacobiansIsTheMatrixPower) {
  Rng rng(1);
  RNN rnn(RNNOptions::uniform(CellType::rnn_relu, 2, 2, 1), rng);
  for (const char* k : {"weight_ih_l0", "bias_ih_l0", "bias_hh_l0"}) rnn.parameter(k).value().zero_();
  const std::vector<float> w{0.5f, 0.3f, 0.2f, 0.4f};
  rnn.parameter("weight_hh_l0").value().copy_(Tensor::from(w, {2, 2}));
  const int64_t T = 60;
  JacobianProfile p = jacobian_profile(rnn, random_tensor({T, 1, 2}, rng), {0.6f, 0.9f});
  ASSERT_EQ(p.step_norm.size(), static_cast<size_t>(T));
  const double norm_w = spectral_norm(w.data(), 2, 2, 2);
  std::vector<float> pw = w;  // W^t in float is exact enough for 1e-5 here
  for (int64_t t = 0; t < T; ++t) {
    EXPECT_NEAR(p.step_norm[t], norm_w, 1e-6);
    EXPECT_NEAR(p.log_product[t], std::log(spectral_norm(pw.data(), 2, 2, 2)), 1e-4) << "t = " << t;
    std::vector<float> next(4, 0.0f);
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 2; ++j)
        for (int k = 0; k < 2; ++k) next[i * 2 + j] += w[i * 2 + k] * pw[k * 2 + j];
    pw = next;
  }
  EXPECT_NEAR(p.rate(), std::log(0.7), 0.02);
}

}  // namespace
