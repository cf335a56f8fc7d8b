// Learning-rate schedules (include/recurrent/optim/schedule.h) and ReduceLROnPlateau (plateau.h)
// against PyTorch 1.13 (tests/fixtures/optim/schedules.safetensors, F64, from
// scripts/fixtures/make_optim_fixtures.py) and against hand-computed sequences.
// Tolerance: ours are closed forms, PyTorch's StepLR/ExponentialLR/CosineAnnealingLR are recursive
// (lr_t from lr_{t-1}), so they differ by a few double roundings per step: 1e-12 relative, plus
// 1e-15 absolute for the cosine reaching a min_lr of 0.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>

#include "recurrent/core/error.h"
#include "recurrent/io/safetensors.h"
#include "recurrent/optim/plateau.h"
#include "recurrent/optim/schedule.h"

using namespace recurrent;

namespace {

const io::SafeTensors& schedule_fixture() {
  static const io::SafeTensors st =
      io::read_safetensors(std::string(RECURRENT_TEST_DATA) + "/optim/schedules.safetensors");
  return st;
}

// F64 tensors are converted to float by get_f32; the raw bytes keep the full double.
std::vector<double> f64(const std::string& name) {
  const auto raw = schedule_fixture().raw(name);
  EXPECT_EQ(schedule_fixture().info(name).dtype, io::DType::F64) << name;
  std::vector<double> out(raw.size() / 8);
  std::memcpy(out.data(), raw.data(), out.size() * 8);
  return out;
}

std::unique_ptr<LrSchedule> make_schedule(const nlohmann::json& o) {
  const std::string kind = o.at("kind");
  const double lr = o.at("lr");
  if (kind == "step") return std::make_unique<StepLR>(lr, o.at("step_size").get<int64_t>(), o.at("gamma").get<double>());
  if (kind == "exponential") return std::make_unique<ExponentialLR>(lr, o.at("gamma").get<double>());
  if (kind == "cosine")
    return std::make_unique<WarmupCosineLR>(lr, o.at("warmup").get<int64_t>(), o.at("total").get<int64_t>(),
                                            o.at("min_lr").get<double>());
  ADD_FAILURE() << "unknown schedule " << kind;
  return nullptr;
}

void expect_sequence(const std::vector<double>& got, const std::vector<double>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t s = 0; s < got.size(); ++s)
    EXPECT_NEAR(got[s], want[s], 1e-12 * std::fabs(want[s]) + 1e-15) << what << " at step " << s;
}

class PyTorchSchedule : public ::testing::TestWithParam<std::string> {};

TEST_P(PyTorchSchedule, LrSequenceMatches) {
  const std::string c = GetParam();
  const nlohmann::json o = nlohmann::json::parse(schedule_fixture().metadata().at(c));
  const std::vector<double> want = f64(c + "/lr");
  ASSERT_GE(want.size(), 10u);
  if (o.at("kind") == "plateau") {
    PlateauOptions p;
    p.mode = o.value("mode", "min") == "min" ? PlateauMode::min : PlateauMode::max;
    p.factor = o.value("factor", p.factor);
    p.patience = o.value("patience", p.patience);
    p.threshold = o.value("threshold", p.threshold);
    p.threshold_mode = o.value("threshold_mode", "rel") == "rel" ? ThresholdMode::rel : ThresholdMode::abs;
    p.cooldown = o.value("cooldown", p.cooldown);
    p.min_lr = o.value("min_lr", p.min_lr);
    p.eps = o.value("eps", p.eps);
    ReduceLROnPlateau sched(o.at("lr").get<double>(), p);
    std::vector<double> got;
    for (double m : f64(c + "/metric")) got.push_back(sched.step(m));
    expect_sequence(got, want, c);
    // The case must exercise a reduction, or it tests nothing.
    EXPECT_LT(want.back(), o.at("lr").get<double>()) << c;
    return;
  }
  std::unique_ptr<LrSchedule> sched = make_schedule(o);
  ASSERT_TRUE(sched);
  std::vector<double> got;
  for (size_t s = 0; s < want.size(); ++s) got.push_back(sched->lr_at(static_cast<int64_t>(s)));
  expect_sequence(got, want, c);
}

INSTANTIATE_TEST_SUITE_P(Fixture, PyTorchSchedule,
                         ::testing::Values("step", "exponential", "cosine", "warmup_cosine", "plateau_min_rel",
                                           "plateau_min_abs_cooldown_minlr", "plateau_max_rel_cooldown",
                                           "plateau_max_abs_eps"),
                         [](const auto& info) { return info.param; });

std::vector<double> first(const LrSchedule& s, int n) {
  std::vector<double> out;
  for (int i = 0; i < n; ++i) out.push_back(s.lr_at(i));
  return out;
}

TEST(HandComputedSchedule, StepExponentialWarmupCosine) {
  expect_sequence(first(StepLR(1.0, 2, 0.5), 5), {1, 1, 0.5, 0.5, 0.25}, "step");
  expect_sequence(first(ExponentialLR(2.0, 0.5), 4), {2, 1, 0.5, 0.25}, "exponential");
  // W = 2, S = 6, base 1, min 0: warmup 1/2, 2/2; cosine over 4 steps: (1 + cos(pi k/4)) / 2.
  const double c1 = (1 + std::cos(M_PI / 4)) / 2, c3 = (1 + std::cos(3 * M_PI / 4)) / 2;
  expect_sequence(first(WarmupCosineLR(1.0, 2, 6), 8), {0.5, 1.0, 1.0, c1, 0.5, c3, 0.0, 0.0}, "warmup cosine");
  // min_lr 0.1: the cosine runs from 1 down to 0.1 and stays there.
  expect_sequence(first(WarmupCosineLR(1.0, 0, 2, 0.1), 4), {1.0, 0.55, 0.1, 0.1}, "cosine min_lr");
  EXPECT_EQ(ConstantLR(0.3).lr_at(1000), 0.3);
}

TEST(HandComputedSchedule, PlateauReducesAfterPatienceAndCoolsDown) {
  PlateauOptions p;
  p.factor = 0.5;
  p.patience = 1;
  p.cooldown = 1;
  ReduceLROnPlateau s(1.0, p);
  // 1.0 best; 1.0 bad=1; 1.0 bad=2 > 1 -> 0.5, cooldown 1; 1.0 in cooldown (bad reset);
  // 1.0 bad=1; 1.0 bad=2 -> 0.25; 0.5 is better -> stays.
  const std::vector<double> metrics = {1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5};
  std::vector<double> got;
  for (double m : metrics) got.push_back(s.step(m));
  expect_sequence(got, {1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25}, "plateau");
  EXPECT_EQ(s.state().best, 0.5);
  // State survives a save/load: a copy resumed from it takes the same decisions.
  ReduceLROnPlateau resumed(1.0, p);
  resumed.load_state(s.state());
  for (double m : {0.5, 0.5, 0.5}) EXPECT_EQ(resumed.step(m), s.step(m));
}

TEST(HandComputedSchedule, BadArgumentsAreErrors) {
  EXPECT_THROW(StepLR(0.1, 0), Error);
  EXPECT_THROW(ExponentialLR(-1.0, 0.5), Error);
  EXPECT_THROW(WarmupCosineLR(0.1, 10, 10), Error);
  EXPECT_THROW(WarmupCosineLR(0.1, 0, 10, 0.2), Error);
  EXPECT_THROW(StepLR(0.1, 2).lr_at(-1), Error);
  PlateauOptions p;
  p.factor = 1.0;
  EXPECT_THROW(ReduceLROnPlateau(0.1, p), Error);
}

}  // namespace
