// Module buffers in checkpoints (Module::named_buffers; lstm_bn's per-step running statistics, docs/cells.md): a
// trained lstm_bn model saved and loaded into a fresh one evaluates identically, including on steps beyond the
// longest training length; a checkpoint without the statistics, or with the wrong rank or width, is refused.
#include <gtest/gtest.h>

#include "autograd/gradcheck.h"
#include "recurrent/core/error.h"
#include "recurrent/nn/rnn.h"
#include "recurrent/train/checkpoint.h"
#include "temp_dir.h"

using namespace recurrent;
using namespace recurrent::testing;

namespace {

train::CheckpointData bn_ckpt_data() {
  train::CheckpointData d;
  d.config_json = "{}";
  return d;
}

RNNOptions bn_ckpt_options() {
  RNNOptions o = RNNOptions::uniform(CellType::lstm_bn, 3, 5, 2, true);
  o.layers[1].hidden = 4;
  return o;
}

TEST(CheckpointBuffers, LstmBnSavedAndLoadedEvaluatesIdentically) {
  const auto dir = fresh_temp_dir("ckpt-buffers");
  const std::string path = (dir / "bn.safetensors").string();
  Rng rng(11), other(12), data(13);
  RNN trained(bn_ckpt_options(), rng);
  for (int k = 0; k < 3; ++k) trained.forward(Var(random_tensor({4, 5, 3}, data)), {4, 3, 4, 2, 4});
  ASSERT_EQ(trained.find_buffer("bn_running_mean_hh_l1_reverse")->shape(), Shape({4, 16}));
  train::save_checkpoint(path, trained, nullptr, bn_ckpt_data());

  RNN fresh(bn_ckpt_options(), other);
  const Var x(random_tensor({7, 2, 3}, data));  // 7 > 4 steps: the last step's statistics beyond
  trained.eval();
  fresh.eval();
  const Tensor want = trained.forward(x, {7, 5}).output.value().clone();
  // Loading the parameters alone is not enough: the statistics are the trained model's too.
  for (auto& [name, p] : fresh.named_parameters()) p.value().copy_(trained.parameter(name).value());
  const Tensor params_only = fresh.forward(x, {7, 5}).output.value().clone();
  EXPECT_FALSE(tensor_near(params_only, want, 1e-4, 1e-4)) << "the running statistics must matter here";
  RNN loaded(bn_ckpt_options(), other);
  train::load_model_weights(train::read_checkpoint(path), loaded);
  loaded.eval();
  ASSERT_EQ(loaded.find_buffer("bn_running_var_c_l0")->shape(), Shape({4, 5}));
  EXPECT_TRUE(tensor_near(loaded.forward(x, {7, 5}).output.value(), want, 0.0, 0.0)) << "bitwise the same";
}

TEST(CheckpointBuffers, MissingOrMisshapenStatisticsAreRefused) {
  const auto dir = fresh_temp_dir("ckpt-buffers-bad");
  Rng rng(3);
  RNN bn(RNNOptions::uniform(CellType::lstm_bn, 3, 4, 1), rng), plain(RNNOptions::uniform(CellType::lstm, 3, 4, 1), rng);
  // A plain LSTM's file lacks bn_* tensors entirely; a hand-written one with a 1-d statistic has the wrong rank.
  const std::string p1 = (dir / "plain.safetensors").string(), p2 = (dir / "bad.safetensors").string();
  train::save_checkpoint(p1, plain, nullptr, bn_ckpt_data());
  EXPECT_THROW(train::load_model_weights(train::read_checkpoint(p1), bn), Error);
  bn.set_buffer("bn_running_mean_c_l0", Tensor({4}));
  train::save_checkpoint(p2, bn, nullptr, bn_ckpt_data());
  RNN fresh(RNNOptions::uniform(CellType::lstm_bn, 3, 4, 1), rng);
  try {
    train::load_model_weights(train::read_checkpoint(p2), fresh);
    ADD_FAILURE() << "a 1-d statistic loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bn_running_mean_c_l0"), std::string::npos) << e.what();
  }
  // A statistic of the right rank but the wrong width ([1, 1] for [S, 4H = 16]): refused at load (before, a training
  // forward read past it), naming it; only the first dimension (S, the steps) may differ from the model's.
  const std::string p3 = (dir / "narrow.safetensors").string();
  RNN narrow(RNNOptions::uniform(CellType::lstm_bn, 3, 4, 1), rng);
  narrow.set_buffer("bn_running_mean_ih_l0", Tensor({1, 1}));
  train::save_checkpoint(p3, narrow, nullptr, bn_ckpt_data());
  RNN into(RNNOptions::uniform(CellType::lstm_bn, 3, 4, 1), rng);
  try {
    train::load_model_weights(train::read_checkpoint(p3), into);
    ADD_FAILURE() << "a [1, 1] statistic loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bn_running_mean_ih_l0"), std::string::npos) << e.what();
  }
  // The same width set directly: a training forward refuses it too (its update reads the old rows), naming it.
  narrow.train();
  try {
    narrow.forward(Var(random_tensor({3, 2, 3}, rng)));
    ADD_FAILURE() << "a training forward used a [1, 1] statistic";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bn_running_mean_ih_l0"), std::string::npos) << e.what();
  }
  // An RNN whose statistics were set to a wrong width refuses to evaluate with them, naming the buffer.
  fresh.set_buffer("bn_running_var_ih_l0", Tensor({2, 5}));
  fresh.eval();
  try {
    fresh.forward(Var(random_tensor({3, 2, 3}, rng)));
    ADD_FAILURE() << "a misshapen statistic was used";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bn_running_var_ih_l0"), std::string::npos) << e.what();
  }
}

}  // namespace
