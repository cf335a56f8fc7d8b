// The gradient lab's runner on tiny cases: records and probes where promised, divergence detected and
// never trained on, clipping measured before it clips, model names and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "recurrent/core/error.h"
#include "recurrent/core/rng.h"
#include "recurrent/tasks/gradlab.h"

using namespace recurrent;
using namespace recurrent::tasks;

namespace {

LabConfig tiny(LabTask task) {
  LabConfig c;
  c.task = task;
  c.T = 8;
  c.hidden = 6;
  c.batch = 4;
  c.steps = 6;
  c.eval_every = 3;
  c.eval_size = 20;
  c.probe_every = 4;
  return c;
}

TEST(GradLab, RecordsProbesAndEvaluationsWherePromised) {
  for (LabTask task : {LabTask::adding, LabTask::copy, LabTask::agreement}) {
    SCOPED_TRACE(lab_task_name(task));
    LabConfig c = tiny(task);
    int calls = 0;
    LabResult r = run_lab(c, lab_model("lstm"), [&](const LabRecord&) { ++calls; });
    ASSERT_EQ(r.records.size(), 6u);
    EXPECT_EQ(calls, 6);
    EXPECT_FALSE(r.diverged);
    const int64_t L = task == LabTask::copy ? c.T + 20 : task == LabTask::agreement ? c.T + 2 : c.T;
    for (const LabRecord& rec : r.records) {
      EXPECT_EQ(rec.probed, rec.step == 1 || rec.step == 4) << rec.step;
      EXPECT_EQ(rec.test_metric >= 0, rec.step == 3 || rec.step == 6) << rec.step;
      if (rec.probed) {
        EXPECT_EQ(rec.dh_norm.size(), static_cast<size_t>(L));
        EXPECT_EQ(rec.gates, (std::vector<std::string>{"i", "f", "g", "o"}));
        EXPECT_NEAR(rec.ratio, rec.dh_norm.front() / rec.dh_norm.back(), 1e-12);
      }
    }
    EXPECT_EQ(r.metric, task == LabTask::adding ? "mse" : "ce");
    EXPECT_EQ(r.final_accuracy >= 0, task != LabTask::adding);
  }
}

// relu RNN with W_hh = 8·I (after rescaling the identity): the state grows 8^t and overflows float
// within T = 60 steps, so the very first loss is non-finite; the run stops there without a step.
TEST(GradLab, StopsWhenSolvedIfAsked) {
  LabConfig c = tiny(LabTask::agreement);  // D = 8, 2 classes: solved at ≥ 95% accuracy
  c.T = 2;
  c.steps = 400;
  c.eval_every = 20;
  c.stop_when_solved = true;
  c.lr = 3e-2;
  LabResult r = run_lab(c, lab_model("gru"));
  ASSERT_GT(r.steps_to_solve, 0) << "final accuracy " << r.final_accuracy;
  EXPECT_EQ(r.steps_done, r.steps_to_solve);
  EXPECT_GE(r.final_accuracy, 0.95);
}

TEST(GradLab, ExplosionIsDetectedAndNotTrainedOn) {
  LabConfig c = tiny(LabTask::adding);
  c.T = 60;
  LabResult r = run_lab(c, lab_model("irnn", "pytorch", 8.0));
  EXPECT_TRUE(r.diverged);
  EXPECT_EQ(r.steps_done, 1);
  EXPECT_NE(r.diverged_what.find("non-finite"), std::string::npos) << r.diverged_what;
  EXPECT_NE(r.diverged_what.find("step 1"), std::string::npos) << r.diverged_what;
}

TEST(GradLab, ClippingBoundsTheAppliedNormButReportsTheRawOne) {
  LabConfig c = tiny(LabTask::adding);
  c.clip = 1e-3;
  LabResult r = run_lab(c, lab_model("rnn_tanh"));
  for (const LabRecord& rec : r.records) {
    EXPECT_GT(rec.grad_norm, c.clip);  // raw norms of this model are far above 1e-3
    EXPECT_EQ(rec.clipped_norm, c.clip);
  }
}

TEST(GradLab, ModelsAndProfiles) {
  EXPECT_EQ(lab_model("irnn").cell, CellType::rnn_relu);
  EXPECT_EQ(lab_model("irnn").init.recurrent, RnnInit::Recurrent::identity);
  EXPECT_EQ(lab_model("rnn_tanh", "orthogonal", 1.5).label, "rnn_tanh/orthogonal/rho=1.5");
  EXPECT_EQ(*lab_model("lstm").init.forget_bias, 1.0f);
  EXPECT_THROW(lab_model("lstm", "magic"), Error);
  EXPECT_EQ(lab_model("gru", "pytorch", 0.0, 1.0, 2.0).label, "gru/z-bias=2");
  EXPECT_THROW(lab_model("lstm", "pytorch", 0.0, 1.0, 2.0), Error);  // the update bias is the GRU's
  EXPECT_EQ(lab_model("lstm", "pytorch", 0.0, 1.0, 0.0, 400.0).label, "lstm/chrono=400");
  EXPECT_EQ(*lab_model("lstm", "pytorch", 0.0, 1.0, 0.0, 400.0).init.chrono_tmax, 400.0f);
  EXPECT_THROW(lab_model("gru", "pytorch", 0.0, 1.0, 0.0, 400.0), Error);   // chrono is the LSTM's
  EXPECT_THROW(lab_model("lstm", "pytorch", 0.0, 1.0, 0.0, 1.5), Error);    // T_max > 2
  EXPECT_THROW(parse_lab_task("sorting"), Error);
  LabConfig c = tiny(LabTask::adding);
  LabProfile p = profile_lab(c, lab_model("rnn_tanh", "orthogonal", 0.5), 2);
  ASSERT_EQ(p.block_rho.size(), 1u);
  EXPECT_NEAR(p.block_rho[0], 0.5, 1e-5);  // rescaled exactly
  EXPECT_NEAR(p.block_norm[0], 0.5, 1e-5); // orthogonal·0.5: all singular values 0.5
  ASSERT_EQ(p.dh_norm.size(), 8u);
  ASSERT_EQ(p.jacobian.step_norm.size(), 8u);
  for (double n : p.jacobian.step_norm) EXPECT_LE(n, 0.5 + 1e-6);  // ‖diag(1−h²) W‖ ≤ ‖W‖
  EXPECT_LT(p.decay_rate, std::log(0.5) + 1e-6);                   // so the gradient shrinks at least 2× per step
}

// A tiny image set of 2 classes: a 4×4 image is bright in its first row (class 0) or in its last (class 1),
// plus noise. Learnable only by remembering across the rows (rows) or pixels (pixels) read in order.
data::ImageSet toy_images(int64_t n, uint64_t seed) {
  data::ImageSet s;
  s.n = n, s.rows = 4, s.cols = 4, s.classes = 2;
  Rng rng(seed);
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t label = static_cast<uint8_t>(rng.below(2));
    s.labels.push_back(label);
    for (int64_t r = 0; r < 4; ++r)
      for (int64_t c = 0; c < 4; ++c)
        s.pixels.push_back(static_cast<uint8_t>(rng.below(60) + ((r == 0 && label == 0) || (r == 3 && label == 1) ? 190 : 0)));
  }
  return s;
}

TEST(GradLab, SequentialImagesRowsAndPixels) {
  for (bool pixels : {false, true}) {
    SCOPED_TRACE(pixels ? "pixels" : "rows");
    auto im = std::make_shared<SeqImages>();
    im->train = toy_images(300, 1);
    im->test = toy_images(70, 2);
    im->by_pixels = pixels;
    im->valid = 50;
    LabConfig c = tiny(LabTask::seqimage);
    c.images = im;
    c.steps = 150;
    c.eval_every = 50;
    c.probe_every = 100;
    c.lr = 2e-2;
    c.hidden = 8;
    c.batch = 20;
    LabResult r = run_lab(c, lab_model("gru"));
    ASSERT_FALSE(r.diverged);
    EXPECT_EQ(r.records.front().dh_norm.size(), pixels ? 16u : 4u);  // T = rows·cols or rows
    EXPECT_NEAR(r.baseline, std::log(2.0), 1e-12);
    EXPECT_GE(r.final_accuracy, 0.9) << "test accuracy after " << r.steps_done << " steps";
    EXPECT_GT(r.steps_to_solve, 0);  // held-out accuracy ≥ 88% at some evaluation
  }
}

TEST(GradLab, SequentialImagesNeedImagesOfOneSize) {
  auto im = std::make_shared<SeqImages>();
  im->train = toy_images(30, 1);
  im->test = toy_images(10, 2);
  im->test.rows = 2, im->test.cols = 8;
  im->valid = 10;
  LabConfig c = tiny(LabTask::seqimage);
  EXPECT_THROW(run_lab(c, lab_model("gru")), Error);  // no images at all
  c.images = im;
  EXPECT_THROW(run_lab(c, lab_model("gru")), Error);  // test 2×8 vs train 4×4
}

}  // namespace
