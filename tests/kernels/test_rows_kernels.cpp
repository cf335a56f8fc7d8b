// Row kernels of every SIMD target (src/kernels/simd/cells/): lstm_forward_rows / gru_forward_rows, the
// fused forward loop's gate pass over all rows of a block in two sweeps, must give on M rows at once
// (rows lda apart, states H apart) bitwise what they give one row at a time (M = 1), so that the row
// split of the fused loop is bitwise neutral (the fused-vs-reference tests check the values). With and without biases (and peepholes), full
// and partial blocks, 1..9 rows; GRU with r, z folded into a as the folded step delivers them.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "kernels/simd/rnn_kernels.h"
#include "kernels/simd_targets.h"
#include "recurrent/core/rng.h"

namespace recurrent {
namespace {

std::vector<float> random_vec(int64_t n, Rng& r, float a) {
  std::vector<float> v(n);
  for (float& x : v) x = r.uniform(-a, a);
  return v;
}

class RowsKernels : public ::testing::TestWithParam<int64_t> {};

TEST_P(RowsKernels, LstmIsBitwiseOneRowAtATime) {
  const simd::RnnKernels& kern = simd::rnn_kernels(GetParam());
  Rng rng(7);
  const int64_t H = 70, lda = 4 * H + 3;
  for (int64_t M : {1, 2, 8, 9})
    for (int64_t n : {kern.panel, kern.panel / 2 + 1, int64_t{5}})
      for (bool with_bias : {false, true})
        for (bool with_peep : {false, true}) {
          const std::vector<float> a0 = random_vec(M * lda, rng, 4.0f), bias = random_vec(4 * H, rng, 1.0f),
                                   peep = random_vec(3 * H, rng, 1.0f), cp = random_vec(M * H, rng, 2.0f);
          std::vector<float> a_rows = a0, a_row = a0, c_rows(M * H, -1.0f), c_row(M * H, -1.0f), m_rows(M * H, -1.0f),
                             m_row(M * H, -1.0f);
          const float* b = with_bias ? bias.data() : nullptr;
          const float* p = with_peep ? peep.data() : nullptr;
          kern.lstm_forward_rows(M, n, H, a_rows.data(), lda, b, p, cp.data(), c_rows.data(), m_rows.data());
          for (int64_t r = 0; r < M; ++r)
            kern.lstm_forward_rows(1, n, H, a_row.data() + r * lda, lda, b, p, cp.data() + r * H, c_row.data() + r * H,
                                     m_row.data() + r * H);
          const std::string what = "M=" + std::to_string(M) + " n=" + std::to_string(n) + " bias=" +
                                   std::to_string(with_bias) + " peep=" + std::to_string(with_peep);
          EXPECT_EQ(0, std::memcmp(a_rows.data(), a_row.data(), a0.size() * sizeof(float))) << "gates, " << what;
          EXPECT_EQ(0, std::memcmp(c_rows.data(), c_row.data(), c_row.size() * sizeof(float))) << "c, " << what;
          EXPECT_EQ(0, std::memcmp(m_rows.data(), m_row.data(), m_row.size() * sizeof(float))) << "m, " << what;
          bool touched = false;  // the gates changed (not a no-op on both sides)
          for (size_t i = 0; i < a0.size() && !touched; ++i) touched = a_rows[i] != a0[i];
          EXPECT_TRUE(touched) << what;
        }
}

// gru_forward_rows: bitwise gru_forward_row on each row; with rz_in_a, a's r and z columns holding
// the x and h parts already summed (a + gh, as the folded step delivers them) must give the same.
TEST_P(RowsKernels, GruIsBitwiseOneRowAtATime) {
  const simd::RnnKernels& kern = simd::rnn_kernels(GetParam());
  Rng rng(8);
  const int64_t H = 70, lda = 3 * H + 3;
  for (int64_t M : {1, 2, 8, 9})
    for (int64_t n : {kern.panel, kern.panel / 2 + 1, int64_t{5}})
      for (bool with_bias : {false, true})
        for (bool rz_in_a : {false, true}) {
          const std::vector<float> a0 = random_vec(M * lda, rng, 4.0f), gh = random_vec(M * lda, rng, 4.0f),
                                   bias = random_vec(3 * H, rng, 1.0f), b_hh = random_vec(3 * H, rng, 1.0f),
                                   hp = random_vec(M * H, rng, 1.0f);
          std::vector<float> a_rows = a0, a_row = a0, h_rows(M * H, -1.0f), h_row(M * H, -1.0f), nh_rows(M * H, -1.0f),
                             nh_row(M * H, -1.0f);
          if (rz_in_a)
            for (int64_t r = 0; r < M; ++r)
              for (int64_t j = 0; j < 2 * H; ++j) a_rows[r * lda + j] += gh[r * lda + j];
          const float* b = with_bias ? bias.data() : nullptr;
          const float* bh = with_bias ? b_hh.data() : nullptr;
          kern.gru_forward_rows(M, n, H, a_rows.data(), gh.data(), lda, b, bh, rz_in_a, hp.data(), h_rows.data(),
                                   nh_rows.data());
          for (int64_t r = 0; r < M; ++r)
            kern.gru_forward_rows(1, n, H, a_row.data() + r * lda, gh.data() + r * lda, lda, b, bh, false, hp.data() + r * H,
                                    h_row.data() + r * H, nh_row.data() + r * H);
          const std::string what = "M=" + std::to_string(M) + " n=" + std::to_string(n) + " bias=" +
                                   std::to_string(with_bias) + " rz_in_a=" + std::to_string(rz_in_a);
          for (int64_t r = 0; r < M; ++r)
            for (int64_t g = 0; g < 3; ++g)
              EXPECT_EQ(0, std::memcmp(a_rows.data() + r * lda + g * H, a_row.data() + r * lda + g * H, n * sizeof(float)))
                  << "gates, row " << r << " gate " << g << ", " << what;
          EXPECT_EQ(0, std::memcmp(h_rows.data(), h_row.data(), h_row.size() * sizeof(float))) << "h, " << what;
          EXPECT_EQ(0, std::memcmp(nh_rows.data(), nh_row.data(), nh_row.size() * sizeof(float))) << "nh, " << what;
        }
}

INSTANTIATE_TEST_SUITE_P(Targets, RowsKernels, ::testing::ValuesIn(simd::cpu_targets()), testing::TargetName());

}  // namespace
}  // namespace recurrent
