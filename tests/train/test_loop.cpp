// Shared training pieces: durations, metrics CSV on resume, NaN detection, checkpoints.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/optim/sgd.h"
#include "recurrent/train/checkpoint.h"
#include "recurrent/train/loop.h"

using namespace recurrent;
using namespace recurrent::train;
namespace fs = std::filesystem;

namespace {
fs::path tmpdir(const char* name) {
  fs::path d = fs::temp_directory_path() / (std::string("recurrent-") + name + "-" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}
std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
struct Tiny : Module {
  Var w;
  Tiny() { w = register_parameter("w", Tensor::from({1.0f, -2.0f}, {2})); }
};
}  // namespace

TEST(Duration, ParsesUnitsAndRejectsNonsense) {
  EXPECT_DOUBLE_EQ(parse_duration("90", "t"), 90);
  EXPECT_DOUBLE_EQ(parse_duration("90s", "t"), 90);
  EXPECT_DOUBLE_EQ(parse_duration("30m", "t"), 1800);
  EXPECT_DOUBLE_EQ(parse_duration("1.5h", "t"), 5400);
  for (const char* bad : {"", "m", "10x", "-5m", "0", "nan"}) EXPECT_THROW(parse_duration(bad, "t"), Error) << bad;
  EXPECT_EQ(format_duration(3725), "1h02m");
  EXPECT_EQ(format_duration(245), "4m05s");
}

TEST(MetricsCsv, ResumeKeepsRowsUpToTheCheckpointStep) {
  fs::path d = tmpdir("csv");
  const std::string p = (d / "m.csv").string();
  {
    MetricsCsv c(p, {"step", "loss"}, false, 0);
    for (int s = 10; s <= 40; s += 10) c.row({std::to_string(s), "1.5"});
    EXPECT_THROW(c.row({"1"}), Error);
  }
  { MetricsCsv c(p, {"step", "loss"}, true, 20); c.row({"30", "1.25"}); }
  EXPECT_EQ(slurp(p), "step,loss\n10,1.5\n20,1.5\n30,1.25\n");
  fs::remove_all(d);
}

TEST(TrainStep, NonFiniteLossOrGradientStopsBeforeTheUpdate) {
  Tiny m;
  SgdOptions o;
  o.lr = 0.1;
  Sgd opt(m.named_parameters(), o);
  // loss = sum(w²): gradient 2w, norm 2·√5 before clipping to 1
  StepStats st = train_step([&] { return sum(m.w * m.w); }, opt, 1.0, 1);
  EXPECT_NEAR(st.loss, 5.0, 1e-6);
  EXPECT_NEAR(st.grad_norm, 2 * std::sqrt(5.0), 1e-5);
  const std::vector<float> before = m.w.value().to_vector();
  try {
    train_step([&] { return sum(log(m.w)); }, opt, 1.0, 7);  // log of a negative: NaN
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("at step 7"), std::string::npos) << e.what();
  }
  EXPECT_EQ(m.w.value().to_vector(), before);
  try {  // a finite loss whose backward produces an infinite gradient
    train_step([&] {
      return make_op("inf_grad", Tensor::scalar(1.0f), {m.w}, [](Node& out) {
        accumulate_grad(*out.inputs[0], Tensor::full({2}, INFINITY));
      });
    }, opt, 1.0, 9);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gradient norm is inf at step 9"), std::string::npos) << e.what();
  }
  EXPECT_EQ(m.w.value().to_vector(), before);
}

TEST(Checkpoint, RoundTripStrictLoadAndRngState) {
  fs::path d = tmpdir("ckpt");
  const std::string p = (d / "c.safetensors").string();
  Tiny m;
  SgdOptions o;
  o.lr = 0.1;
  o.momentum = 0.9;
  Sgd opt(m.named_parameters(), o);
  train_step([&] { return sum(m.w * m.w); }, opt, 0.0, 1);
  Rng r(42, 3);
  r.next_u64();
  save_checkpoint(p, m, &opt, {"{\"task\":\"x\"}", rng_state_to_json(r), {{"h.0", Tensor::ones({1, 2, 3})}}, "", ""});
  LoadedCheckpoint ck = read_checkpoint(p);
  EXPECT_EQ(ck.config_json, "{\"task\":\"x\"}");
  ASSERT_EQ(ck.extra.size(), 1u);
  EXPECT_EQ(ck.extra[0].first, "h.0");
  Tiny m2;
  load_model_weights(ck, m2);
  EXPECT_EQ(m2.w.value().to_vector(), m.w.value().to_vector());
  Sgd opt2(m2.named_parameters(), o);
  opt2.load_state(ck.optim);
  EXPECT_EQ(opt2.state()[1].second.to_vector(), opt.state()[1].second.to_vector());
  Rng r2(0);
  rng_state_from_json(r2, ck.train_json, p);
  EXPECT_EQ(r2.next_u64(), r.next_u64());
  EXPECT_THROW(rng_state_from_json(r2, "{\"seed\":1}", p), Error);
  io::write_safetensors((d / "plain.safetensors").string(), {{"w", Tensor::ones({2})}});
  EXPECT_THROW(read_checkpoint((d / "plain.safetensors").string()), Error);  // not a checkpoint
  fs::remove_all(d);
}
