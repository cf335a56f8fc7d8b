// rnn::forward without a tape (keep_tape = false, inference): the fused loops write h_t straight into
// y and keep two c slots (fused_forward_loop's light mode). y, h_n and c_n must be bitwise those of
// the forward that keeps the tape: every cell, LSTM with projection, both directions (the reverse
// direction keeps h0 in its own slot too), 1 and 2 threads, batch 1 / 9 / 19 (19: the row split).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "nn/rnn_direction.h"
#include "recurrent/core/rng.h"
#include "recurrent/core/threads.h"

using namespace recurrent;

namespace {

std::vector<float> random_vec_rnn_light(int64_t n, Rng& r, float a = 0.3f) {
  std::vector<float> v(n);
  for (float& x : v) x = r.uniform(-a, a);
  return v;
}

struct Result {
  std::vector<float> y, hn, cn;
};

Result run_rnn_light(const rnn::DirShape& s, const rnn::DirParams& p, const std::vector<float>& x, const std::vector<float>& h0,
           const std::vector<float>& c0, bool keep_tape) {
  Result r{std::vector<float>(s.T * s.B * s.R, -7.0f), std::vector<float>(s.B * s.R), std::vector<float>(s.B * s.H)};
  rnn::DirTape tape;
  rnn::forward(s, p, x.data(), nullptr, h0.data(), c0.data(), r.y.data(), s.R, false, r.hn.data(),
               is_lstm(s.cell) ? r.cn.data() : nullptr, tape, keep_tape);
  return r;
}

TEST(ForwardWithoutTape, IsBitwiseTheForwardWithTape) {
  const int saved = num_threads();
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    for (CellType cell : {CellType::lstm, CellType::lstm_peephole, CellType::gru, CellType::gru_cho, CellType::rnn_tanh,
                          CellType::rnn_relu, CellType::gru_simple})
      for (int64_t P : {0, 40})
        for (bool reverse : {false, true})
          for (int64_t B : {1, 9, 19}) {
            if (P && !is_lstm(cell)) continue;
            const int64_t T = 6, I = 5, H = 70, R = P ? P : H, G = gate_count(cell);
            const rnn::DirShape s{cell, T, B, I, H, R, reverse};
            Rng rng(11);
            const std::vector<float> w_ih = random_vec_rnn_light(G * H * I, rng), w_hh = random_vec_rnn_light(G * H * R, rng),
                                     b_ih = random_vec_rnn_light(G * H, rng), b_hh = random_vec_rnn_light(G * H, rng),
                                     w_hr = random_vec_rnn_light(R * H, rng), w_ch = random_vec_rnn_light(3 * H, rng),
                                     x = random_vec_rnn_light(T * B * I, rng, 1.0f), h0 = random_vec_rnn_light(B * R, rng, 1.0f),
                                     c0 = random_vec_rnn_light(B * H, rng, 1.0f);
            const rnn::DirParams p{w_ih.data(), w_hh.data(), b_ih.data(), b_hh.data(), P ? w_hr.data() : nullptr,
                                   cell == CellType::lstm_peephole ? w_ch.data() : nullptr};
            const Result a = run_rnn_light(s, p, x, h0, c0, true), b = run_rnn_light(s, p, x, h0, c0, false);
            const std::string what = std::string(cell_name(cell)) + " P=" + std::to_string(P) +
                                     (reverse ? " reverse" : " forward") + " B=" + std::to_string(B) +
                                     " threads=" + std::to_string(threads);
            EXPECT_EQ(a.y, b.y) << what;
            EXPECT_EQ(a.hn, b.hn) << what;
            if (is_lstm(cell)) {
              EXPECT_EQ(a.cn, b.cn) << what;
            }
            int64_t untouched = 0;  // every y element written
            for (float v : b.y) untouched += v == -7.0f;
            EXPECT_EQ(untouched, 0) << what;
          }
  }
  set_num_threads(saved);
}

}  // namespace
