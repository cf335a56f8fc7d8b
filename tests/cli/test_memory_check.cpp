// Sizes no memory here could hold (issue 27, "a bare 'out of memory' for a huge size"): every command
// family with size options refuses them before it allocates or reads anything, with one line naming the
// size options given and the memory needed (cli/memory_check.h). The sizes are far beyond any machine
// (exabytes), so the refusal holds everywhere, the sanitizer build included (nothing is allocated).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "run_cli.h"

namespace fs = std::filesystem;
using recurrent::testing::CmdResult;
using recurrent::testing::run;

namespace {

const std::string kText = std::string(RECURRENT_TEST_DATA) + "/lm/moby_train.txt";
const std::string kFolder = std::string(RECURRENT_TEST_DATA) + "/lm";

// `args` is refused with one line naming `option VALUE` and the bytes needed, and leaves no --out folder.
void expect_too_big(const std::string& args, const std::string& named) {
  const fs::path out = fs::temp_directory_path() / ("recurrent-oom-" + std::to_string(::getpid()));
  const std::string cmd = args + " --out " + out.string() + " --threads 1";
  const CmdResult r = run(cmd);
  EXPECT_EQ(r.status, 1) << cmd << "\n" << r.out;
  EXPECT_EQ(r.out.rfind("recurrent: error: out of memory: ", 0), 0u) << cmd << "\n" << r.out;
  EXPECT_NE(r.out.find(named + ": at least "), std::string::npos) << cmd << "\n  expected: " << named << "\n" << r.out;
  EXPECT_NE(r.out.find(" needed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("this machine holds "), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << cmd << "\n" << r.out;
  EXPECT_FALSE(fs::exists(out)) << cmd;
  fs::remove_all(out);
}

}  // namespace

TEST(MemoryCheck, TrainTasksRefuseSizesThatCannotFit) {
  const std::string lm = "train lm --data " + kText;
  expect_too_big(lm + " --hidden 100000000", "--hidden 100000000");
  expect_too_big(lm + " --embed 100000000000", "--embed 100000000000");
  expect_too_big(lm + " --hidden 4000 --layers 100000000", "--hidden 4000 --layers 100000000");
  expect_too_big(lm + " --batch 1000000000 --seq-len 1000000", "--seq-len 1000000 --batch 1000000000");
  expect_too_big(lm + " --arch transformer --d-model 100000000 --heads 1", "--d-model 100000000 --heads 1");
  expect_too_big(lm + " --arch transformer --context 100000000", "--context 100000000");
  for (const char* task : {"classify", "tag", "condlm", "seq2seq", "music", "forecast --column x"})
    expect_too_big(std::string("train ") + task + " --data " + kText + " --hidden 100000000", "--hidden 100000000");
  expect_too_big("train seq2seq --data " + kText + " --arch transformer --d-model 100000000 --heads 1",
                 "--d-model 100000000 --heads 1");
  expect_too_big("train forecast --data " + kText + " --column x --lookback 1000000000000 --batch 1000000",
                 "--lookback 1000000000000 --batch 1000000");
  expect_too_big("train asr --data " + kFolder + " --hidden 100000000", "--hidden 100000000");
  expect_too_big("train esn --data " + kText + " --reservoir 10000000000", "--reservoir 10000000000");
}

TEST(MemoryCheck, BenchRefusesSizesThatCannotFit) {
  // bench has no --out: the helper's folder is an unknown option only if the check did not come first.
  for (const std::string& args : {std::string("--hidden 100000000"), std::string("--seq-len 1000000 --batch 1000000000")}) {
    const CmdResult r = run("bench " + args + " --threads 1");
    EXPECT_EQ(r.status, 1) << args << "\n" << r.out;
    EXPECT_NE(r.out.find("recurrent: error: out of memory: " + args + ": at least "), std::string::npos) << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  }
}

TEST(MemoryCheck, LabsRefuseSizesThatCannotFit) {
  expect_too_big("experiment adding --hidden 100000000", "--hidden 100000000");
  expect_too_big("experiment copy --T 100000 --batch 100000000000", "--T 100000 --batch 100000000000");
  expect_too_big("experiment agreement --hidden 100000000", "--hidden 100000000");
  expect_too_big("gradlab train --task adding --hidden 100000000", "--hidden 100000000");
  expect_too_big("gradlab transformer --task adding --d-model 100000000 --heads 1", "--d-model 100000000 --heads 1");
  expect_too_big("gradlab profile --task adding --hidden 100000000", "--hidden 100000000");
  const CmdResult r = run("gradlab esn --reservoir 10000000000 --threads 1");  // no --out
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_EQ(r.out.rfind("recurrent: error: out of memory: --reservoir 10000000000: at least ", 0), 0u) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
}
