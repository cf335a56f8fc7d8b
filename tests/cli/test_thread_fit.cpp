// Inference commands take their default thread count from the machine's load (src/cli/main.cpp,
// core/threads.h fit_threads_to_load): that is only sound because their output does not depend on the
// thread count. These tests hold the commands to it: the same model and input at --threads 1 and 2
// give byte-identical output. The models are sized so that every step's product is above
// min_parallel_work() (the team really runs at 2 threads).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "recurrent/data/text_file.h"
#include "run_cli.h"

namespace fs = std::filesystem;
using recurrent::testing::CmdResult;
using recurrent::testing::run;

namespace {

const std::string kFitText = std::string(RECURRENT_TEST_DATA) + "/lm/moby_train.txt";
const std::string kFitHeldout = std::string(RECURRENT_TEST_DATA) + "/lm/moby_heldout.txt";

class ThreadFit : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("recurrent-threadfit-" +
                                        std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) +
                                        "-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string train(const std::string& args, const std::string& name) const {
    const CmdResult r = run("train " + args + " --quiet --threads 1 --out " + path(name));
    EXPECT_EQ(r.status, 0) << args << "\n" << r.out;
    return path(name);
  }
  // `args` at 1 and at 2 threads: both succeed with the same bytes out.
  static void expect_same_at_1_and_2(const std::string& args) {
    const CmdResult one = run("--threads 1 " + args), two = run("--threads 2 " + args);
    ASSERT_EQ(one.status, 0) << args << "\n" << one.out;
    ASSERT_EQ(two.status, 0) << args << "\n" << two.out;
    EXPECT_FALSE(one.out.empty()) << args;
    EXPECT_EQ(one.out, two.out) << args;
  }
  fs::path dir_;
};

TEST_F(ThreadFit, LanguageModelCommandsGiveTheSameOutputAtAnyThreadCount) {
  // 2 × 256 LSTM, batch 32: a step's W_hh product is 32 × 1024 × 256 ≈ 8.4M multiply-adds (team size 2).
  const std::string m = train("lm --data " + kFitText + " --hidden 256 --layers 2 --embed 32 --seq-len 32 --batch 32 "
                              "--max-steps 2", "lm");
  recurrent::data::write_file(path("in.txt"), "Call me Ishmael. Some years ago\nthe whale\n");
  expect_same_at_1_and_2("eval --model " + m + " --data " + kFitHeldout + " --json");
  expect_same_at_1_and_2("sample --model " + m + " --length 300 --seed 5");
  expect_same_at_1_and_2("sample --model " + m + " --length 60 --beam 3");
  expect_same_at_1_and_2("predict --model " + m + " --input " + path("in.txt"));
  expect_same_at_1_and_2("score --model " + m + " --json < " + path("in.txt"));
}

TEST_F(ThreadFit, ClassifierPredictionsAreTheSameAtAnyThreadCount) {
  std::string tsv;
  const char* good[] = {"good", "great", "fine", "lovely"};
  const char* bad[] = {"bad", "awful", "poor", "ugly"};
  for (int i = 0; i < 64; ++i)
    tsv += i % 2 ? std::string("neg\tthe film was ") + bad[i % 4] + " and " + bad[(i / 4) % 4] + "\n"
                 : std::string("pos\tthe film was ") + good[i % 4] + " and " + good[(i / 4) % 4] + "\n";
  recurrent::data::write_file(path("s.tsv"), tsv);
  const std::string m = train("classify --data " + path("s.tsv") + " --hidden 128 --batch 32 --epochs 1", "cls");
  expect_same_at_1_and_2("predict --model " + m + " --input " + path("s.tsv") + " --format jsonl");
  expect_same_at_1_and_2("eval --model " + m + " --data " + path("s.tsv") + " --json");
}

}  // namespace
