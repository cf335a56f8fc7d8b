// The causal transformer on the gradient lab's tasks (tasks/lab_transformer.h): it solves agreement
// at a distance (attention reaches the subject in one hop), its copy / adding runs report the tasks'
// baselines and finite metrics, and bad options are errors naming the option.
#include <gtest/gtest.h>

#include <cmath>

#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"
#include "recurrent/tasks/lab_transformer.h"

using namespace recurrent;
using namespace recurrent::tasks;

namespace {
LabTransformerConfig small(const std::string& task, int64_t T) {
  LabTransformerConfig c;
  c.task = task;
  c.T = T;
  c.layers = 1, c.d_model = 16, c.heads = 2, c.ff = 32;
  c.batch = 32, c.steps = 400, c.lr = 3e-3, c.warmup = 20;
  c.eval_every = 50, c.eval_size = 200;
  return c;
}
}  // namespace

TEST(LabTransformer, SolvesAgreementAtADistance) {
  set_num_threads(1);
  LabTransformerConfig c = small("agreement", 20);
  c.stop_when_solved = true;
  int calls = 0;
  LabTransformerResult r = run_lab_transformer(c, [&](const LabTransformerRecord&) { ++calls; });
  EXPECT_EQ(r.metric, "ce");
  EXPECT_NEAR(r.baseline, std::log(2.0), 1e-12);
  EXPECT_GT(r.steps_to_solve, 0) << "accuracy " << r.final_accuracy << " after " << r.steps_done << " steps";
  EXPECT_GE(r.final_accuracy, 0.95);
  EXPECT_EQ(calls, r.steps_done);
  EXPECT_FALSE(r.diverged);
}

TEST(LabTransformer, CopyAndAddingRunWithTheirBaselines) {
  set_num_threads(1);
  LabTransformerConfig c = small("copy", 10);
  c.steps = 3;
  c.pos = PositionalKind::learned;
  LabTransformerResult r = run_lab_transformer(c);
  EXPECT_EQ(r.steps_done, 3);
  EXPECT_NEAR(r.baseline, 10 * std::log(8.0) / 30, 1e-12);
  EXPECT_TRUE(std::isfinite(r.final_metric));
  EXPECT_GE(r.final_accuracy, 0.0);
  EXPECT_LE(r.final_accuracy, 1.0);
  c = small("adding", 12);
  c.steps = 3;
  r = run_lab_transformer(c);
  EXPECT_EQ(r.metric, "mse");
  EXPECT_NEAR(r.baseline, 1.0 / 6.0, 1e-12);
  EXPECT_TRUE(std::isfinite(r.final_metric));
  EXPECT_LT(r.final_accuracy, 0.0);  // not defined for a regression
}

TEST(LabTransformer, BadOptionsNameTheOption) {
  LabTransformerConfig c = small("sorting", 10);
  try {
    run_lab_transformer(c);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--task"), std::string::npos) << e.what();
  }
  c = small("adding", 10);
  c.d_model = 15;  // not a multiple of 2 heads
  try {
    run_lab_transformer(c);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--d-model"), std::string::npos) << e.what();
  }
}
