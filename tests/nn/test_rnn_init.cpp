#include <gtest/gtest.h>

#include <cmath>

#include "recurrent/core/error.h"
#include "recurrent/nn/rnn_init.h"

using namespace recurrent;

namespace {

RnnInit make(RnnInit::Weights w, RnnInit::Recurrent r = RnnInit::Recurrent::same, std::optional<float> fb = {}) {
  RnnInit i;
  i.weights = w;
  i.recurrent = r;
  i.forget_bias = fb;
  return i;
}
constexpr auto kPt = RnnInit::Weights::pytorch;

// Max |(Q Qᵀ − I)_ij| over a [rows, cols] block with rows ≤ cols (orthonormal rows).
double orthogonality_error(const float* q, int64_t rows, int64_t cols, int64_t ld) {
  double worst = 0;
  for (int64_t a = 0; a < rows; ++a)
    for (int64_t b = 0; b < rows; ++b) {
      double d = 0;
      for (int64_t c = 0; c < cols; ++c) d += double(q[a * ld + c]) * q[b * ld + c];
      worst = std::max(worst, std::fabs(d - (a == b ? 1.0 : 0.0)));
    }
  return worst;
}

TEST(RnnInit, OrthogonalRecurrentBlocks) {
  Rng rng(3);
  RNN rnn(RNNOptions::uniform(CellType::lstm, 5, 8, 1), rng);
  init_rnn(rnn, make(kPt, RnnInit::Recurrent::orthogonal), rng);
  const float* w = rnn.param("weight_hh", 0, 0).value().data();
  for (int g = 0; g < 4; ++g) EXPECT_LT(orthogonality_error(w + g * 64, 8, 8, 8), 1e-6) << "gate " << g;
  // Tall and wide blocks: orthonormal columns / rows.
  std::vector<float> q(6 * 3);
  fill_orthogonal(q.data(), 3, 6, 6, rng);
  EXPECT_LT(orthogonality_error(q.data(), 3, 6, 6), 1e-6);
}

TEST(RnnInit, IdentityIrnnAndForgetBias) {
  Rng rng(4);
  RNN irnn(RNNOptions::uniform(CellType::rnn_relu, 3, 4, 1), rng);
  init_rnn(irnn, make(RnnInit::Weights::kaiming, RnnInit::Recurrent::identity), rng);
  Tensor w = irnn.param("weight_hh", 0, 0).value();
  for (int64_t r = 0; r < 4; ++r)
    for (int64_t c = 0; c < 4; ++c) EXPECT_EQ(w.at({r, c}), r == c ? 1.0f : 0.0f);
  for (float b : irnn.param("bias_ih", 0, 0).value().to_vector()) EXPECT_EQ(b, 0.0f);

  RNN lstm(RNNOptions::uniform(CellType::lstm, 3, 4, 1, true), rng);
  init_rnn(lstm, make(RnnInit::Weights::xavier, RnnInit::Recurrent::same, 1.0f), rng);
  for (int d = 0; d < 2; ++d) {
    Tensor bi = lstm.param("bias_ih", 0, d).value(), bh = lstm.param("bias_hh", 0, d).value();
    for (int64_t j = 4; j < 8; ++j) EXPECT_EQ(bi.at({j}) + bh.at({j}), 1.0f);
  }
}

// Chrono (Tallec & Ollivier 2018): b_f = log u with u ~ U(1, T_max − 1) per unit, b_i = −b_f, b_hh's i and
// f blocks zero; g and o keep the weight scheme's biases. It overrides forget_bias.
TEST(RnnInit, ChronoLstmBiases) {
  Rng rng(5);
  const int64_t H = 64;
  const float t_max = 400.0f;
  RNN lstm(RNNOptions::uniform(CellType::lstm, 2, H, 2), rng);  // two layers: every layer gets it
  RnnInit in = make(kPt, RnnInit::Recurrent::same, 1.0f);
  in.chrono_tmax = t_max;
  init_rnn(lstm, in, rng);
  for (size_t l = 0; l < 2; ++l) {
    Tensor bi = lstm.param("bias_ih", l, 0).value(), bh = lstm.param("bias_hh", l, 0).value();
    float lo = 1e9f, hi = -1e9f;
    for (int64_t j = 0; j < H; ++j) {
      const float f = bi.at({H + j});
      EXPECT_GE(f, 0.0f);
      EXPECT_LT(f, std::log(t_max - 1.0f));
      EXPECT_EQ(bi.at({j}), -f);
      EXPECT_EQ(bh.at({j}), 0.0f);
      EXPECT_EQ(bh.at({H + j}), 0.0f);
      lo = std::min(lo, f), hi = std::max(hi, f);
    }
    EXPECT_LT(lo, 2.0f);  // spread over the range: memory times e^b ≈ 1 … T_max, not one constant
    EXPECT_GT(hi, 5.0f);  // (log 399 ≈ 6.0; 64 draws all above 2 or all below 5 has probability < 1e-3)
    for (int64_t j = 2 * H; j < 4 * H; ++j) EXPECT_LE(std::fabs(bi.at({j})), 1.0f / std::sqrt(float(H)));
  }
  RNN gru(RNNOptions::uniform(CellType::gru, 2, 4, 1), rng);  // LSTM only: other cells keep their biases
  in.weights = RnnInit::Weights::uniform, in.uniform_a = 0.01f, in.forget_bias.reset();
  init_rnn(gru, in, rng);
  for (float b : gru.param("bias_ih", 0, 0).value().to_vector()) EXPECT_LE(std::fabs(b), 0.01f);
  in.chrono_tmax = 2.0f;
  EXPECT_THROW(init_rnn(lstm, in, rng), Error);
}

TEST(RnnInit, XavierBoundAndKaimingScale) {
  Rng rng(5);
  RNN rnn(RNNOptions::uniform(CellType::gru, 200, 300, 1), rng);
  init_rnn(rnn, make(RnnInit::Weights::xavier), rng);
  const float bound = std::sqrt(6.0f / 500.0f);
  double ss = 0;
  auto v = rnn.param("weight_ih", 0, 0).value().to_vector();
  for (float x : v) {
    ASSERT_LE(std::fabs(x), bound);
    ss += double(x) * x;
  }
  // Var of U(-b, b) = b²/3; 180k samples: relative standard error ≈ 0.3%, allow 3%.
  EXPECT_NEAR(ss / v.size(), bound * bound / 3, 0.03 * bound * bound / 3);
  init_rnn(rnn, make(RnnInit::Weights::kaiming), rng);
  ss = 0;
  v = rnn.param("weight_ih", 0, 0).value().to_vector();
  for (float x : v) ss += double(x) * x;
  EXPECT_NEAR(ss / v.size(), 2.0 / 200, 0.03 * 2.0 / 200);
}

TEST(RnnInit, SameSeedSameWeights) {
  Rng a(9), b(9);
  RNN r1(RNNOptions::uniform(CellType::lstm, 3, 4, 2), a), r2(RNNOptions::uniform(CellType::lstm, 3, 4, 2), b);
  init_rnn(r1, make(kPt, RnnInit::Recurrent::orthogonal, 1.0f), a);
  init_rnn(r2, make(kPt, RnnInit::Recurrent::orthogonal, 1.0f), b);
  auto p1 = r1.named_parameters(), p2 = r2.named_parameters();
  for (size_t i = 0; i < p1.size(); ++i) EXPECT_EQ(p1[i].second.value().to_vector(), p2[i].second.value().to_vector());
}

}  // namespace
