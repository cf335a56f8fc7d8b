// The shared epoch loop (train/epochs.h) with a scripted task: the order of calls over whole epochs,
// --max-steps stopping inside an epoch and a resume from that position continuing with the same
// (epoch, batch) sequence, a task's stop_early ending the loop, and epoch_order being a seeded permutation.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "recurrent/train/epochs.h"

using namespace recurrent;
using namespace recurrent::train;

namespace {

struct ScriptTask : EpochTask {
  int64_t nb = 3;
  std::vector<std::string> log;
  int64_t batches_per_epoch() const override { return nb; }
  void begin_epoch(int64_t e) override { log.push_back("begin " + std::to_string(e)); }
  StepStats train_batch(int64_t e, int64_t b, int64_t step) override {
    log.push_back("batch " + std::to_string(e) + "." + std::to_string(b) + " step " + std::to_string(step));
    return {1.0 / static_cast<double>(step), 2.0};
  }
  void end_epoch(const EpochPosition& p, bool partial, double loss, double norm) override {
    log.push_back("end " + std::to_string(p.epoch) + (partial ? " partial" : "") + " loss " + std::to_string(loss) +
                  " norm " + std::to_string(norm));
  }
  void save_last(const EpochPosition& p) override {
    log.push_back("save " + std::to_string(p.epoch) + "." + std::to_string(p.batch));
  }
  std::vector<std::string> batches() const {
    std::vector<std::string> b;
    for (const std::string& l : log)
      if (l.rfind("batch", 0) == 0) b.push_back(l);
    return b;
  }
};

}  // namespace

TEST(Epochs, RunsWholeEpochsInOrder) {
  ScriptTask t;
  t.nb = 2;
  EpochPosition pos;
  Progress progress;
  EXPECT_EQ(run_epochs(t, pos, {2, 0.0, 0}, progress, true, "DIR"), EpochOutcome::finished);
  const std::vector<std::string> want = {
      "begin 0", "batch 0.0 step 1", "batch 0.1 step 2", "end 0 loss 0.750000 norm 2.000000", "save 1.0",
      "begin 1", "batch 1.0 step 3", "batch 1.1 step 4", "end 1 loss 0.291667 norm 2.000000", "save 2.0"};
  EXPECT_EQ(t.log, want);
  EXPECT_EQ(pos.step, 4);
  EXPECT_EQ(pos.epoch, 2);
}

TEST(Epochs, MaxStepsStopsInsideAnEpochAndResumeContinuesTheSameSequence) {
  ScriptTask whole;
  EpochPosition p0;
  Progress progress;
  run_epochs(whole, p0, {3, 0.0, 0}, progress, true, "DIR");

  ScriptTask first;
  EpochPosition p;
  EXPECT_EQ(run_epochs(first, p, {3, 0.0, 4}, progress, true, "DIR"), EpochOutcome::stopped);
  EXPECT_EQ(p.step, 4);
  EXPECT_EQ(p.epoch, 1);
  EXPECT_EQ(p.batch, 1);  // inside epoch 1
  EXPECT_EQ(first.log.back(), "save 1.1");
  ScriptTask second;  // a new process resuming from the saved position
  EXPECT_EQ(run_epochs(second, p, {3, 0.0, 0}, progress, true, "DIR"), EpochOutcome::finished);
  std::vector<std::string> joined = first.batches();
  for (const std::string& b : second.batches()) joined.push_back(b);
  EXPECT_EQ(joined, whole.batches());
  EXPECT_EQ(p.step, 9);
}

// A task that asks to stop after its second completed epoch (as --patience does): the loop ends there,
// after that epoch's save, as `finished`, whatever --epochs allows.
TEST(Epochs, StopEarlyEndsTheLoopAfterACompletedEpoch) {
  struct Patient : ScriptTask {
    int64_t saved_epoch = 0;
    void save_last(const EpochPosition& p) override {
      ScriptTask::save_last(p);
      saved_epoch = p.epoch;
    }
    bool stop_early() const override { return saved_epoch >= 2; }
  } t;
  t.nb = 2;
  EpochPosition pos;
  Progress progress;
  EXPECT_EQ(run_epochs(t, pos, {10, 0.0, 0}, progress, true, "DIR"), EpochOutcome::finished);
  EXPECT_EQ(pos.epoch, 2);
  EXPECT_EQ(pos.step, 4);
  EXPECT_EQ(t.log.back(), "save 2.0");
}

TEST(Epochs, EpochOrderIsASeededPermutation) {
  const std::vector<size_t> a = epoch_order(50, 7, 100, 3), b = epoch_order(50, 7, 100, 3);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, epoch_order(50, 7, 100, 4));
  EXPECT_NE(a, epoch_order(50, 8, 100, 3));
  std::vector<size_t> s = a;
  std::sort(s.begin(), s.end());
  for (size_t i = 0; i < s.size(); ++i) EXPECT_EQ(s[i], i);
}
