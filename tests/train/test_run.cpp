// Run folders and budgets (train/run.h): another run's folder is refused without --force; --force
// removes the run's files and nothing else; a run that ends before its first checkpoint leaves no
// trace; a resumed run writes into its own folder; used-up budgets are refused with the figures.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "recurrent/core/error.h"
#include "recurrent/train/run.h"

using namespace recurrent;
using namespace recurrent::train;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("recurrent_test_run_" + name);
  fs::remove_all(d);
  return d;
}

void touch(const fs::path& p) { std::ofstream(p) << "x"; }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

RunOptions out_in(const fs::path& d) {
  RunOptions o;
  o.out = d.string();
  return o;
}

}  // namespace

TEST(RunDir, RefusesAnotherRunsFolderUnlessForced) {
  const fs::path d = fresh_dir("refuse");
  fs::create_directories(d);
  touch(d / "notes.txt");  // the user's own file: not a run
  { RunDir ok(out_in(d)); }
  touch(d / "results.json");
  touch(d / "last.safetensors");
  const std::string e = error_of([&] { RunDir r(out_in(d)); });
  EXPECT_NE(e.find("--out"), std::string::npos) << e;
  EXPECT_NE(e.find("holds another run (last.safetensors, results.json)"), std::string::npos) << e;
  EXPECT_NE(e.find("--force"), std::string::npos) << e;

  RunOptions f = out_in(d);
  f.force = true;
  {
    RunDir r(f);
    r.create();
    EXPECT_FALSE(fs::exists(d / "results.json"));
    EXPECT_FALSE(fs::exists(d / "last.safetensors"));
    EXPECT_TRUE(fs::exists(d / "notes.txt"));  // --force removes the run's files only
  }
  EXPECT_TRUE(fs::exists(d / "notes.txt"));  // the folder existed: kept
  fs::remove_all(d);
}

TEST(RunDir, AFileInPlaceOfTheFolderIsRefused) {
  const fs::path d = fresh_dir("file");
  touch(d);
  const std::string e = error_of([&] { RunDir r(out_in(d)); });
  EXPECT_NE(e.find("is a file; expected a folder"), std::string::npos) << e;
  fs::remove(d);
  EXPECT_NE(error_of([] { RunDir r(RunOptions{}); }).find("--out"), std::string::npos);
}

TEST(RunDir, ARunThatFailsBeforeItsFirstCheckpointLeavesNothing) {
  const fs::path d = fresh_dir("fail") / "nested";
  try {
    RunDir r(out_in(d));
    r.create();
    touch(d / "metrics.csv");
    throw Error("training", "the loss is nan at step 1");
  } catch (const Error&) {
  }
  EXPECT_FALSE(fs::exists(d));
  EXPECT_TRUE(fs::exists(d.parent_path()));  // the run folder goes; parents made on the way stay
  fs::remove_all(d.parent_path());

  const fs::path k = fresh_dir("keep");
  {
    RunDir r(out_in(k));
    r.create();
    touch(k / "metrics.csv");
    touch(k / "last.safetensors");  // a checkpoint exists: the run is resumable, keep it all
  }
  EXPECT_TRUE(fs::exists(k / "metrics.csv"));
  fs::remove_all(k);
}

TEST(RunDir, AResumedRunWritesIntoItsOwnFolder) {
  const fs::path d = fresh_dir("resume");
  fs::create_directories(d);
  touch(d / "last.safetensors");
  touch(d / "metrics.csv");
  RunOptions o;
  o.resume = d.string();  // out empty: the resume folder
  {
    RunDir r(o);
    EXPECT_EQ(r.path(), d.string());
    r.create();
  }
  EXPECT_TRUE(fs::exists(d / "metrics.csv"));
  // --out naming another folder is refused: the run's metrics, best model and results are in its own.
  const fs::path other = fresh_dir("resume_other");
  o.out = other.string();
  EXPECT_NE(error_of([&] { RunDir r(o); }).find("a resumed run writes into its own folder"), std::string::npos);
  o.out = (d / "." / "").string();  // the same folder, spelled differently
  EXPECT_EQ(error_of([&] { RunDir r(o); }), "");
  fs::remove_all(d);
  fs::remove_all(other);
}

TEST(RunBudget, UsedUpBudgetsAreRefusedWithTheFigures) {
  const fs::path d = fresh_dir("budget");
  fs::create_directories(d);
  RunOptions o;
  o.out = d.string();
  o.epochs = 3;
  EXPECT_EQ(error_of([&] { check_budget_left(o, 100, 2, 5.0); }), "");
  touch(d / "last.safetensors");
  EXPECT_EQ(error_of([&] { check_budget_left(o, 100, 3, 5.0); }), "");  // not finished: it may finish
  touch(d / "results.json");
  EXPECT_TRUE(run_finished(d.string()));
  std::string e = error_of([&] { check_budget_left(o, 100, 3, 5.0); });
  EXPECT_EQ(e.rfind("--epochs: ", 0), 0u) << e;
  EXPECT_NE(e.find("completed 3 epochs; give more than 3"), std::string::npos) << e;
  o = RunOptions{};
  o.max_steps = 50;
  e = error_of([&] { check_budget_left(o, 50, 0, 5.0); });
  EXPECT_EQ(e.rfind("--max-steps: ", 0), 0u) << e;
  EXPECT_NE(e.find("taken 50 steps"), std::string::npos) << e;
  o = RunOptions{};
  o.time_budget = 60;
  e = error_of([&] { check_budget_left(o, 10, 0, 61.0); });
  EXPECT_EQ(e.rfind("--time-budget: ", 0), 0u) << e;
  EXPECT_NE(e.find("already trained for 1m01s, all of a 1m00s budget"), std::string::npos) << e;
  EXPECT_EQ(error_of([&] { check_budget_left(RunOptions{}, 1000, 1000, 1e6); }), "");  // no budget: no limit
  fs::remove_all(d);
}

TEST(RunDir, TheResumeCommandCanBePasted) {
  EXPECT_EQ(resume_command("lm", "runs/moby"), "recurrent train lm --resume runs/moby");
  EXPECT_EQ(resume_command("tag", "my runs/it's"), "recurrent train tag --resume 'my runs/it'\\''s'");
}
