// The piano-roll model (tasks/music.h): batches shift the roll by one step behind a silent frame and
// mask the padding; the metrics (NLL per step, frame accuracy) against double loops by hand; the
// training loss is the evaluation's NLL per step; the output bias starts at the keys' log-odds; a few
// Adam steps lower the loss; sampling is reproducible, keeps its prime and follows the temperature.
#include <gtest/gtest.h>

#include <cmath>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/tasks/music.h"
#include "recurrent/train/loop.h"

using namespace recurrent;
using namespace recurrent::tasks;

namespace {

constexpr int64_t K = data::kPitches;

MusicConfig config(CellType cell, int64_t hidden) {
  MusicConfig c;
  c.layers = {{cell, hidden, 0}};
  return c;
}

// A few short chorales: a rising triad pattern with a rest, lengths 3 … 6.
std::vector<Tensor> rolls() {
  std::vector<Tensor> out;
  for (int64_t n = 3; n <= 6; ++n) {
    std::vector<std::vector<int64_t>> steps;
    for (int64_t t = 0; t < n; ++t)
      steps.push_back(t % 4 == 3 ? std::vector<int64_t>{} : std::vector<int64_t>{48 + t, 60 + t + n % 2, 67});
    out.push_back(data::piano_roll(steps, "roll"));
  }
  return out;
}

float at(const Tensor& t, int64_t i, int64_t b, int64_t k) { return t.data()[(i * t.size(1) + b) * K + k]; }

// The model's parameter `name` (shares its storage).
Tensor param(const Module& m, const std::string& name) {
  for (const auto& [n, p] : m.named_parameters())
    if (n == name) return p.value();
  throw Error("test", "no parameter " + name);
}

}  // namespace

TEST(Music, BatchShiftsByOneStepBehindASilentFrameAndMasksPadding) {
  const std::vector<Tensor> r = rolls();
  const MusicBatch b = music_batch(r, {3, 0});  // lengths 6 and 3
  ASSERT_EQ(b.x.shape(), (Shape{6, 2, K}));
  EXPECT_EQ(b.lengths, (std::vector<int64_t>{6, 3}));
  for (int64_t t = 0; t < 6; ++t)
    for (int64_t j = 0; j < 2; ++j) {
      const Tensor& v = r[j == 0 ? 3 : 0];
      EXPECT_EQ(b.mask[t * 2 + j], t < b.lengths[j] ? 1.0f : 0.0f);
      for (int64_t k = 0; k < K; ++k) {
        const bool in = t < b.lengths[j];
        EXPECT_EQ(at(b.y, t, j, k), in ? v.data()[t * K + k] : 0.0f);
        EXPECT_EQ(at(b.x, t, j, k), in && t > 0 ? v.data()[(t - 1) * K + k] : 0.0f);
      }
    }
}

TEST(Music, MetricsMatchDoubleLoopsByHand) {
  // A model whose logits are its output bias alone (output weights 0): every step predicts σ(b_k).
  Rng rng(5);
  MusicModel m(config(CellType::gru, 4), rng);
  param(m, "output.weight").fill_(0.0f);
  Tensor bias = param(m, "output.bias");
  for (int64_t k = 0; k < K; ++k) bias.data()[k] = k % 5 == 0 ? 1.5f : -2.0f + 0.01f * k;
  const std::vector<Tensor> r = rolls();
  double nll = 0, tp = 0, wrong = 0;
  int64_t steps = 0;
  for (const Tensor& v : r)
    for (int64_t t = 0; t < v.size(0); ++t, ++steps)
      for (int64_t k = 0; k < K; ++k) {
        const double z = bias.data()[k], y = v.data()[t * K + k], p = 1 / (1 + std::exp(-z));
        nll -= y * std::log(p) + (1 - y) * std::log(1 - p);
        tp += (z > 0) && y > 0.5;
        wrong += (z > 0) != (y > 0.5);
      }
  const MusicEval e = evaluate_music(m, r, 3);  // batches of 3 and 1: padding must not count
  EXPECT_EQ(e.chorales, 4);
  EXPECT_EQ(e.steps, steps);
  EXPECT_NEAR(e.nll_per_step, nll / steps, 1e-5 * nll / steps);
  EXPECT_NEAR(e.frame_accuracy, tp / (tp + wrong), 1e-12);
  EXPECT_GT(e.frame_accuracy, 0.0);
}

TEST(Music, TrainingLossIsTheNllPerStepOfTheBatch) {
  Rng rng(6);
  MusicModel m(config(CellType::lstm, 5), rng);
  const std::vector<Tensor> r = rolls();
  m.eval();
  const double loss = music_loss(m, music_batch(r, {0, 1, 2, 3})).value().item();
  EXPECT_NEAR(loss, evaluate_music(m, r, 2).nll_per_step, 1e-5 * loss);
}

TEST(Music, OutputBiasStartsAtTheKeysLogOdds) {
  Rng rng(7);
  MusicModel m(config(CellType::rnn_tanh, 3), rng);
  const std::vector<Tensor> r = rolls();
  m.init_output_bias(r);
  const Tensor b = param(m, "output.bias");
  ASSERT_EQ(b.numel(), K);
  // Key 67 (column 46) sounds in 15 of the 18 steps: p = 16/20; key 21 never: p = 1/20.
  EXPECT_NEAR(b.data()[67 - 21], std::log(0.8 / 0.2), 1e-6);
  EXPECT_NEAR(b.data()[0], std::log(0.05 / 0.95), 1e-6);
}

TEST(Music, AFewAdamStepsLowerTheLoss) {
  Rng rng(8);
  MusicModel m(config(CellType::gru, 8), rng);
  const std::vector<Tensor> r = rolls();
  m.init_output_bias(r);
  auto opt = train::make_optimizer("adam", m.named_parameters(), 1e-2);
  const MusicBatch b = music_batch(r, {0, 1, 2, 3});
  const double before = evaluate_music(m, r).nll_per_step;
  for (int64_t s = 1; s <= 30; ++s) train::train_step([&] { return music_loss(m, b); }, *opt, 1.0, s);
  EXPECT_LT(evaluate_music(m, r).nll_per_step, 0.8 * before);
}

TEST(Music, SamplingIsReproducibleKeepsThePrimeAndFollowsTheTemperature) {
  Rng rng(9);
  MusicModel m(config(CellType::gru, 6), rng);
  m.init_output_bias(rolls());
  MusicSampleOptions o;
  o.steps = 40;
  o.seed = 3;
  o.prime = rolls()[2].slice(0, 0, 4).contiguous();
  const Tensor a = sample_music(m, o), b = sample_music(m, o);
  ASSERT_EQ(a.shape(), (Shape{44, K}));
  for (int64_t i = 0; i < a.numel(); ++i) ASSERT_EQ(a.data()[i], b.data()[i]) << i;
  for (int64_t i = 0; i < 4 * K; ++i) ASSERT_EQ(a.data()[i], o.prime.data()[i]) << i;
  o.seed = 4;
  const Tensor c = sample_music(m, o);
  bool differ = false;
  for (int64_t i = 4 * K; i < c.numel(); ++i) differ |= c.data()[i] != a.data()[i];
  EXPECT_TRUE(differ);
  // The bias favours few keys: a high temperature flattens σ(z/T) towards ½ and sounds many more keys.
  auto keys_on = [](const Tensor& t) {
    double n = 0;
    for (int64_t i = 0; i < t.numel(); ++i) n += t.data()[i];
    return n;
  };
  o.prime = Tensor();
  o.temperature = 0.5;
  const double cold = keys_on(sample_music(m, o));
  o.temperature = 20.0;
  const double hot = keys_on(sample_music(m, o));
  EXPECT_GT(hot, 3 * cold + 100);
  o.temperature = 0;
  EXPECT_THROW(sample_music(m, o), Error);
}

TEST(Music, ConfigRoundTripAndRefusals) {
  MusicConfig c = config(CellType::lstm, 7);
  c.dropout = 0.25f;
  const MusicConfig back = MusicConfig::from_json(c.to_json(), "m");
  ASSERT_EQ(back.layers.size(), 1u);
  EXPECT_EQ(back.layers[0].cell, CellType::lstm);
  EXPECT_EQ(back.layers[0].hidden, 7);
  EXPECT_EQ(back.dropout, 0.25f);
  EXPECT_THROW(MusicConfig::from_json(R"({"task": "lm"})", "m"), Error);
  EXPECT_THROW(MusicConfig::from_json(R"({"task": "music", "keys": 12, "lowest_pitch": 21})", "m"), Error);
}
