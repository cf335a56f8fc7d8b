// Gradient-flow diagnostics (train/diagnostics.h) around real training steps of a 2-layer LSTM/GRU
// stack: lines only at step 1 and every N, the promised fields per layer (T values of ‖∂L/∂h_t‖, gate
// statistics, the forget-gate mean only for the LSTM layer), the global norm before/after clipping, and
// per-parameter norms that are the gradients before clipping (their squares add up to the raw global norm).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/nn/rnn.h"
#include "recurrent/optim/sgd.h"
#include "recurrent/train/diagnostics.h"
#include "recurrent/train/loop.h"

using namespace recurrent;
namespace fs = std::filesystem;

namespace {

struct Net {
  Rng rng{3};
  RNN rnn;
  Tensor x{{6, 2, 3}};
  Net() : rnn(make_options(), rng) { rng.fill_uniform(x, -1, 1); }
  static RNNOptions make_options() {
    RNNOptions o = RNNOptions::uniform(CellType::lstm, 3, 5, 2);
    o.layers[1].cell = CellType::gru;
    return o;
  }
  // Lopsided loss: Σ output · (1 + index/7), so every step and unit gets a different gradient.
  Var loss() {
    Var y = rnn.forward(Var(x)).output;  // [6, 2, 5]
    Tensor w(y.value().shape());
    for (int64_t i = 0; i < w.numel(); ++i) w.data()[i] = 1.0f + static_cast<float>(i) / 7.0f;
    return sum(mul(y, Var(w)));
  }
};

std::vector<nlohmann::json> lines(const std::string& path) {
  std::vector<nlohmann::json> v;
  std::ifstream f(path);
  for (std::string l; std::getline(f, l);) v.push_back(nlohmann::json::parse(l));
  return v;
}

TEST(Diagnostics, LinesAtStepOneAndEveryNWithEveryField) {
  const std::string path = (fs::temp_directory_path() / "recurrent_diag_test.jsonl").string();
  Net net;
  SgdOptions so;
  so.lr = 1e-3;
  Sgd opt(net.rnn.named_parameters(), so);
  train::Diagnostics d(net.rnn, opt.params(), path, 3);
  for (int64_t step = 1; step <= 7; ++step) {
    const bool probed = d.begin_step(step);
    EXPECT_EQ(probed, step == 1 || step == 3 || step == 6) << step;
    EXPECT_EQ(net.rnn.grad_probe() != nullptr, probed);
    train::StepStats st = train::train_step([&] { return net.loss(); }, opt, 0.5, step);
    if (probed) d.end_step(step, st.loss, st.grad_norm);
    EXPECT_EQ(net.rnn.grad_probe(), nullptr);  // detached after every step
  }
  const auto v = lines(path);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(d.lines(), 3);
  for (const auto& j : v) {
    EXPECT_GT(j["grad_norm"].get<double>(), 0.5);                  // this loss's gradient is large
    EXPECT_NEAR(j["clipped_norm"].get<double>(), 0.5, 1e-4);      // … and clipped to 0.5
    ASSERT_EQ(j["layers"].size(), 2u);
    for (int l = 0; l < 2; ++l) {
      const auto& L = j["layers"][l];
      EXPECT_EQ(L["layer"], l);
      EXPECT_EQ(L["dh"].size(), 6u);
      EXPECT_GT(L["h_norm"].get<double>(), 0.0);
      EXPECT_EQ(L.contains("forget_mean"), l == 0);  // LSTM layer only
      EXPECT_EQ(L.contains("dc"), l == 0);
      EXPECT_EQ(L["gates"].size(), l == 0 ? 4u : 3u);  // i f g o / r z n
    }
    EXPECT_EQ(j["layers"][0]["forget_mean"], j["layers"][0]["gates"]["f"]["mean"]);
    // The per-parameter norms are before clipping: they add up (in squares) to the raw global norm.
    double sq = 0.0;
    for (auto& [name, n] : j["param_grad_norms"].items()) sq += n.get<double>() * n.get<double>();
    EXPECT_NEAR(std::sqrt(sq), j["grad_norm"].get<double>(), 1e-4 * j["grad_norm"].get<double>());
    EXPECT_EQ(j["param_grad_norms"].size(), net.rnn.named_parameters().size());
  }
  fs::remove(path);
}

TEST(Diagnostics, ProbeDetachedWhenTheStepThrowsAndBadIntervalRejected) {
  const std::string path = (fs::temp_directory_path() / "recurrent_diag_test2.jsonl").string();
  Net net;
  SgdOptions so;
  Sgd opt(net.rnn.named_parameters(), so);
  EXPECT_THROW(train::Diagnostics(net.rnn, opt.params(), path, 0), Error);
  train::Diagnostics d(net.rnn, opt.params(), path, 1);
  ASSERT_TRUE(d.begin_step(1));
  d.abandon();
  EXPECT_EQ(net.rnn.grad_probe(), nullptr);
  EXPECT_EQ(d.lines(), 0);
  fs::remove(path);
}

}  // namespace
