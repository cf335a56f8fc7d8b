// Training state through a safetensors checkpoint: parameters, optimizer state (Optimizer::state():
// "step.<p>" and the moment buffers under PyTorch's names) and the RNG state (Rng::State, three
// uint64 stored bit-for-bit as an I64 [3] tensor). A run interrupted after k steps, written to disk,
// read back into FRESH objects and continued must be bit-identical to the uninterrupted run — for
// every optimizer, with the gradients themselves drawn from the restored RNG. And load_state is
// strict: a checkpoint from another optimizer, configuration or model is an error naming the tensor,
// and leaves the optimizer as it was.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "optim/optim_test_util.h"
#include "recurrent/core/error.h"
#include "recurrent/core/rng.h"

using namespace recurrent;
using namespace recurrent::testing;

namespace {

const char* const kConfigs[] = {
    R"({"optimizer": "SGD", "lr": 0.05, "momentum": 0.9, "nesterov": true, "weight_decay": 0.01})",
    R"({"optimizer": "Adam", "lr": 0.01, "amsgrad": true})",
    R"({"optimizer": "AdamW", "lr": 0.01, "weight_decay": 0.1})",
    R"({"optimizer": "RMSprop", "lr": 0.01, "momentum": 0.5, "centered": true})",
    R"({"optimizer": "Adagrad", "lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1})",
};

struct Training {
  Var a{Tensor::zeros({3, 4}), true}, b{Tensor::zeros({5}), true};
  Rng rng{42};
  std::unique_ptr<Optimizer> opt;
  explicit Training(const nlohmann::json& cfg) {
    Rng init(7);  // same initial weights in every Training
    init.fill_normal(a.value(), 0.0f, 1.0f);
    init.fill_normal(b.value(), 0.0f, 1.0f);
    opt = make_optimizer(cfg, {{"enc.a", a}, {"b", b}});
  }
  // One step with gradients drawn from rng; b gets no gradient on every third step.
  void step(int k) {
    rng.fill_normal(a.grad(), 0.0f, 1.0f);
    if (k % 3 == 2) {
      b.node()->grad = Tensor();
    } else {
      rng.fill_normal(b.grad(), 0.0f, 0.5f);
    }
    opt->step();
  }
};

std::string tmp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()) + ".safetensors")).string();
}

io::I64Tensor rng_tensor(const Rng::State& s) {
  io::I64Tensor t{{3}, std::vector<int64_t>(3)};
  const uint64_t u[3] = {s.seed, s.stream, s.counter};
  std::memcpy(t.values.data(), u, sizeof u);  // bit-for-bit: uint64 values above 2^63 survive
  return t;
}

Rng::State rng_state(const std::vector<int64_t>& v) {
  EXPECT_EQ(v.size(), 3u);
  uint64_t u[3];
  std::memcpy(u, v.data(), sizeof u);
  return {u[0], u[1], u[2]};
}

void save(const std::string& path, const Training& r) {
  io::NamedTensors f32 = {{"model.enc.a", r.a.value()}, {"model.b", r.b.value()}};
  for (const auto& [n, t] : r.opt->state()) f32.emplace_back("optim." + n, t);
  char lr[32];
  std::snprintf(lr, sizeof lr, "%.17g", r.opt->lr());  // exact double round trip
  io::write_safetensors(path, f32, {{"optim.kind", r.opt->kind()}, {"optim.lr", lr}}, {{"rng", rng_tensor(r.rng.state())}});
}

void load(const std::string& path, Training& r) {
  const io::SafeTensors st = io::read_safetensors(path);
  ASSERT_EQ(st.metadata().at("optim.kind"), r.opt->kind());
  r.a.value().copy_(st.get_f32("model.enc.a"));
  r.b.value().copy_(st.get_f32("model.b"));
  NamedTensors opt_state;
  for (const std::string& n : st.names())
    if (n.rfind("optim.", 0) == 0) opt_state.emplace_back(n.substr(6), st.get_f32(n));
  r.opt->load_state(opt_state);
  r.opt->set_lr(std::stod(st.metadata().at("optim.lr")));
  r.rng.set_state(rng_state(st.get_i64("rng")));
}

void expect_bits(const Tensor& x, const Tensor& y, const std::string& what) {
  ASSERT_EQ(x.shape(), y.shape()) << what;
  EXPECT_EQ(std::memcmp(x.data(), y.data(), x.numel() * sizeof(float)), 0) << what << " differs";
}

class ResumeFromCheckpoint : public ::testing::TestWithParam<const char*> {};

TEST_P(ResumeFromCheckpoint, IsBitIdenticalToTheUninterruptedRun) {
  const nlohmann::json cfg = nlohmann::json::parse(GetParam());
  constexpr int kSteps = 7, kSplit = 3;
  Training straight(cfg);
  for (int k = 0; k < kSteps; ++k) straight.step(k);

  Training first(cfg);
  for (int k = 0; k < kSplit; ++k) first.step(k);
  const std::string path = tmp_path(std::string("resume-") + first.opt->kind());
  save(path, first);
  Training resumed(cfg);  // fresh weights, fresh optimizer, fresh RNG: all must come from the file
  ASSERT_EQ(resumed.opt->state().size(), 0u);
  load(path, resumed);
  std::filesystem::remove(path);
  EXPECT_EQ(resumed.opt->step_count(0), kSplit);
  for (int k = kSplit; k < kSteps; ++k) resumed.step(k);

  expect_bits(resumed.a.value(), straight.a.value(), "enc.a");
  expect_bits(resumed.b.value(), straight.b.value(), "b");
  const NamedTensors s1 = straight.opt->state(), s2 = resumed.opt->state();
  ASSERT_EQ(s1.size(), s2.size());
  for (size_t i = 0; i < s1.size(); ++i) {
    EXPECT_EQ(s1[i].first, s2[i].first);
    expect_bits(s1[i].second, s2[i].second, s1[i].first);
  }
  EXPECT_EQ(resumed.rng.state().counter, straight.rng.state().counter);
}

INSTANTIATE_TEST_SUITE_P(EveryOptimizer, ResumeFromCheckpoint, ::testing::ValuesIn(kConfigs),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return nlohmann::json::parse(info.param)["optimizer"].get<std::string>();
                         });

TEST(RngStateInAFile, Uint64AboveTwoTo63SurvivesAndTheStreamContinues) {
  Rng r(~uint64_t{0} - 5, uint64_t{1} << 63);
  for (int i = 0; i < 11; ++i) r.next_u32();
  const std::string path = tmp_path("rng");
  io::write_safetensors(path, {}, {}, {{"rng", rng_tensor(r.state())}});
  Rng back(0);
  back.set_state(rng_state(io::read_safetensors(path).get_i64("rng")));
  std::filesystem::remove(path);
  EXPECT_EQ(back.state().seed, r.state().seed);
  EXPECT_EQ(back.state().stream, r.state().stream);
  EXPECT_EQ(back.state().counter, 11u);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(back.next_u32(), r.next_u32()) << "draw " << i;
}

std::string load_error(Optimizer& opt, const NamedTensors& st) {
  try {
    opt.load_state(st);
  } catch (const Error& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(LoadState, StrictErrorsNameTheTensorAndLeaveTheOptimizerUnchanged) {
  const nlohmann::json adam = nlohmann::json::parse(kConfigs[1]);
  Training r(adam);
  r.step(0);
  const NamedTensors good = r.opt->state();  // step.enc.a, exp_avg.enc.a, ..., step.b, ...
  auto with = [&](const std::string& name, Tensor t) {
    NamedTensors st = good;
    for (auto& [n, v] : st)
      if (n == name) v = std::move(t);
    return st;
  };
  auto without = [&](const std::string& name) {
    NamedTensors st;
    for (const auto& e : good)
      if (e.first != name) st.push_back(e);
    return st;
  };
  EXPECT_NE(load_error(*r.opt, with("exp_avg.enc.a", Tensor::zeros({4, 3}))).find(
                "tensor 'exp_avg.enc.a' has shape [4, 3], expected [3, 4]"),
            std::string::npos);
  EXPECT_NE(load_error(*r.opt, without("max_exp_avg_sq.b")).find("missing tensor 'max_exp_avg_sq.b'"), std::string::npos);
  EXPECT_NE(load_error(*r.opt, with("step.b", Tensor::scalar(1.5f))).find("'step.b' must be an integer >= 1"),
            std::string::npos);
  NamedTensors extra = good;
  extra.emplace_back("momentum_buffer.b", Tensor::zeros({5}));  // an SGD buffer
  EXPECT_NE(load_error(*r.opt, extra).find("unexpected tensor 'momentum_buffer.b'"), std::string::npos);
  NamedTensors twice = good;
  twice.push_back(good[0]);
  EXPECT_NE(load_error(*r.opt, twice).find("appears twice"), std::string::npos);
  // SGD state into Adam: Adam finds no exp_avg.
  Training sgd(nlohmann::json::parse(kConfigs[0]));
  sgd.step(0);
  EXPECT_NE(load_error(*r.opt, sgd.opt->state()).find("missing tensor 'exp_avg.enc.a'"), std::string::npos);
  // After all those failures the state is still the one from step 0.
  const NamedTensors now = r.opt->state();
  ASSERT_EQ(now.size(), good.size());
  for (size_t i = 0; i < now.size(); ++i) expect_bits(now[i].second, good[i].second, now[i].first);
  // An empty state is valid: every parameter starts fresh.
  r.opt->load_state({});
  EXPECT_EQ(r.opt->step_count(0), 0);
  EXPECT_TRUE(r.opt->state().empty());
}

}  // namespace
