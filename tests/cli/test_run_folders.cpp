// Run folders and self-contained resume through the command line (issue 27, acceptance 3):
//   * `train … --out D` into a folder that holds a run is refused without --force; --force replaces it;
//   * a run that fails before its first checkpoint leaves no folder behind;
//   * `train lm --resume D` alone — after --max-steps and after a real Ctrl-C (SIGINT) — continues with the
//     run's own options and ends with the same weights and optimizer state as an uninterrupted run;
//   * the printed hint is that command; options that would change the model are refused; a used-up
//     budget is refused with the figures.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "recurrent/data/text_file.h"
#include "recurrent/io/safetensors.h"
#include "recurrent/kernels/target.h"
#include "run_cli.h"
#include "same_tensors.h"

extern char** environ;

using namespace recurrent;
using recurrent::testing::CmdResult;
using recurrent::testing::run;
namespace fs = std::filesystem;

namespace {

const std::string kFix = std::string(RECURRENT_TEST_DATA) + "/lm/";

struct RunFolders : ::testing::Test {
  fs::path dir;
  std::string text;
  void SetUp() override {
    dir = fs::temp_directory_path() / ("recurrent-runfolders-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    text = (dir / "excerpt.txt").string();
    data::write_file(text, data::read_file(kFix + "moby_train.txt").substr(0, 12000));
  }
  void TearDown() override { fs::remove_all(dir); }
  std::string d(const std::string& name) const { return (dir / name).string(); }
  // A small 2-layer char LM, 2 epochs of ~90 steps each.
  std::string lm(const std::string& out) const {
    return "train lm --data " + text + " --cell lstm,gru --hidden 24,16 --layers 2 --embed 8 --dropout 0.1 "
           "--seq-len 16 --batch 8 --epochs 2 --log-interval 1 --threads 1 --out " + out;
  }
};

bool same_tensors(const std::string& a, const std::string& b, const std::string& prefix, std::string& why) {
  return recurrent::testing::same_tensors(io::read_safetensors(a), io::read_safetensors(b), prefix, why);
}

size_t lines_in(const std::string& file) {
  return fs::exists(file) ? data::read_lines(file).size() : 0;
}

}  // namespace

TEST_F(RunFolders, AFinishedRunsFolderIsRefusedWithoutForce) {
  const std::string out = d("run");
  CmdResult a = run(lm(out) + " --max-steps 3 --quiet");
  ASSERT_EQ(a.status, 0) << a.out;
  CmdResult b = run(lm(out) + " --max-steps 3 --quiet");
  EXPECT_NE(b.status, 0) << b.out;
  EXPECT_NE(b.out.find("recurrent: error: --out: " + out + " holds another run"), std::string::npos) << b.out;
  EXPECT_NE(b.out.find("--force"), std::string::npos) << b.out;
  const auto before = fs::last_write_time(out + "/last.safetensors");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CmdResult c = run(lm(out) + " --max-steps 2 --quiet --force");
  ASSERT_EQ(c.status, 0) << c.out;
  EXPECT_NE(fs::last_write_time(out + "/last.safetensors"), before);
  EXPECT_EQ(lines_in(out + "/metrics.csv"), 3u);  // header + steps 1, 2: nothing of the old run
  CmdResult both = run(lm(out) + " --force --resume " + out);
  EXPECT_NE(both.status, 0);
  EXPECT_NE(both.out.find("--force"), std::string::npos) << both.out;
}

TEST_F(RunFolders, ARunThatFailsBeforeItsFirstCheckpointLeavesNoFolder) {
  const std::string out = d("nan");
  // A huge learning rate without clipping: the loss is not finite at an early step.
  CmdResult r = run("train lm --data " + text + " --hidden 16 --layers 1 --optimizer sgd --lr 1e38 --clip 0 "
                    "--seq-len 16 --batch 8 --threads 1 --quiet --out " + out);
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_NE(r.out.find(" step "), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(out)) << r.out;
}

TEST_F(RunFolders, ResumeAloneContinuesExactlyAfterMaxSteps) {
  CmdResult a = run(lm(d("a")) + " --quiet");
  ASSERT_EQ(a.status, 0) << a.out;
  CmdResult b1 = run(lm(d("b")) + " --max-steps 7");
  ASSERT_EQ(b1.status, 0) << b1.out;
  EXPECT_NE(b1.out.find("continue with: recurrent train lm --resume " + d("b")), std::string::npos) << b1.out;
  // The run's own --max-steps 7 is used up: said so, with what to give.
  CmdResult used = run("train lm --resume " + d("b"));
  EXPECT_NE(used.status, 0);
  EXPECT_NE(used.out.find("--max-steps: the run has taken 7 steps"), std::string::npos) << used.out;
  CmdResult b2 = run("train lm --resume " + d("b") + " --max-steps 100 --quiet");
  ASSERT_EQ(b2.status, 0) << b2.out;
  CmdResult b3 = run("train lm --resume " + d("b") + " --epochs 2 --quiet");  // budgets given replace the run's
  ASSERT_EQ(b3.status, 0) << b3.out;
  std::string why;
  EXPECT_TRUE(same_tensors(d("a") + "/last.safetensors", d("b") + "/last.safetensors", "model.", why)) << why;
  EXPECT_TRUE(same_tensors(d("a") + "/last.safetensors", d("b") + "/last.safetensors", "optim.", why)) << why;
  // Finished: the epochs are used up.
  CmdResult done = run("train lm --resume " + d("b"));
  EXPECT_NE(done.status, 0);
  EXPECT_NE(done.out.find("--epochs: the run has completed 2 epochs"), std::string::npos) << done.out;
}

// Ctrl-C, SIGTERM (a container stop) and SIGHUP (a closed ssh session) all save the run and exit with
// 128 + the signal; the pasted hint then ends with the uninterrupted run's weights.
TEST_F(RunFolders, ResumeAloneContinuesExactlyAfterCtrlCTermOrHangup) {
  CmdResult a = run(lm(d("a")) + " --quiet");
  ASSERT_EQ(a.status, 0) << a.out;
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    SCOPED_TRACE("signal " + std::to_string(sig));
    const std::string dir = d("b" + std::to_string(sig));
    // The same command, interrupted by the signal once it has written a few metrics rows.
    const std::string cmd = std::string(RECURRENT_BIN) + " " + lm(dir) + " --quiet";
    std::vector<std::string> argv_s = {"/bin/sh", "-c", "exec " + cmd};
    std::vector<char*> argv;
    for (std::string& s : argv_s) argv.push_back(s.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    ASSERT_EQ(posix_spawn(&pid, "/bin/sh", nullptr, nullptr, argv.data(), environ), 0);
    for (int i = 0; i < 2000 && lines_in(dir + "/metrics.csv") < 6; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ::kill(pid, sig);
    int st = 0;
    ASSERT_EQ(waitpid(pid, &st, 0), pid);
    ASSERT_TRUE(WIFEXITED(st)) << "ended by signal " << (WIFSIGNALED(st) ? WTERMSIG(st) : 0) << " without saving";
    if (WEXITSTATUS(st) == 0) GTEST_SKIP() << "the run finished before the signal arrived (machine too fast?)";
    ASSERT_EQ(WEXITSTATUS(st), 128 + sig);
    CmdResult b = run("train lm --resume " + dir + " --quiet");  // the hint, pasted
    ASSERT_EQ(b.status, 0) << b.out;
    std::string why;
    EXPECT_TRUE(same_tensors(d("a") + "/last.safetensors", dir + "/last.safetensors", "model.", why)) << why;
    EXPECT_TRUE(same_tensors(d("a") + "/last.safetensors", dir + "/last.safetensors", "optim.", why)) << why;
  }
}

// --save-every 2: a run killed outright (SIGKILL, nothing saved at the kill) still has a mid-epoch
// last.safetensors at most 2 steps old, and resuming it ends with the uninterrupted run's weights.
TEST_F(RunFolders, SaveEveryLetsAKilledRunResumeExactly) {
  CmdResult a = run(lm(d("a")) + " --quiet");
  ASSERT_EQ(a.status, 0) << a.out;
  const std::string cmd = std::string(RECURRENT_BIN) + " " + lm(d("k")) + " --save-every 2 --quiet";
  std::vector<std::string> argv_s = {"/bin/sh", "-c", "exec " + cmd};
  std::vector<char*> argv;
  for (std::string& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, "/bin/sh", nullptr, nullptr, argv.data(), environ), 0);
  for (int i = 0; i < 2000 && lines_in(d("k") + "/metrics.csv") < 6; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ::kill(pid, SIGKILL);
  int st = 0;
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) GTEST_SKIP() << "the run finished before the kill arrived (machine too fast?)";
  ASSERT_TRUE(WIFSIGNALED(st));
  ASSERT_TRUE(std::filesystem::exists(d("k") + "/last.safetensors")) << "no periodic checkpoint before the kill";
  CmdResult b = run("train lm --resume " + d("k") + " --quiet");
  ASSERT_EQ(b.status, 0) << b.out;
  std::string why;
  EXPECT_TRUE(same_tensors(d("a") + "/last.safetensors", d("k") + "/last.safetensors", "model.", why)) << why;
  EXPECT_TRUE(same_tensors(d("a") + "/last.safetensors", d("k") + "/last.safetensors", "optim.", why)) << why;
  // A bad value is one line naming the option.
  CmdResult bad = run(lm(d("bad")) + " --save-every 10x");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.out.find("--save-every"), std::string::npos) << bad.out;
}

TEST_F(RunFolders, ResumeRefusesOptionsThatWouldChangeTheRun) {
  CmdResult a = run(lm(d("r")) + " --max-steps 3 --quiet");
  ASSERT_EQ(a.status, 0) << a.out;
  struct Bad {
    std::string args, expect;
  } bad[] = {
      {" --hidden 32,16", "--hidden: the run in " + d("r") + " was trained with --hidden 24,16"},
      {" --lr 0.1", "--lr: the run in " + d("r") + " was trained with the default --lr"},
      {" --cell gru", "--cell: the run in " + d("r") + " was trained with --cell lstm,gru"},
      {" --seq-len 8", "--seq-len"},
      {" --tie-weights", "--tie-weights"},
  };
  for (const Bad& b : bad) {
    CmdResult r = run("train lm --resume " + d("r") + " --max-steps 5" + b.args);
    EXPECT_NE(r.status, 0) << b.args;
    EXPECT_NE(r.out.find(b.expect), std::string::npos) << b.args << "\n" << r.out;
  }
  // The same values, budgets and progress options may be given.
  CmdResult ok = run("train lm --resume " + d("r") + " --hidden 24,16 --max-steps 5 --quiet --log-every 5");
  EXPECT_EQ(ok.status, 0) << ok.out;
  CmdResult other = run("train classify --resume " + d("r"));
  EXPECT_NE(other.status, 0);
  EXPECT_NE(other.out.find("holds a `train lm` run"), std::string::npos) << other.out;
}

// A kill -9 between a run's first best.safetensors and its first last.safetensors (found by
// scripts/reliability/kill_test.py) left a folder that `--resume DIR` answered with "--data is required".
// A kill inside an atomic write leaves "<name>.tmp.XXXXXX" behind; resuming removes it (and only it).
TEST_F(RunFolders, ResumeRemovesTheTemporaryFileOfAnInterruptedWrite) {
  CmdResult a = run(lm(d("t")) + " --max-steps 3 --quiet");
  ASSERT_EQ(a.status, 0) << a.out;
  const std::string tmp = d("t") + "/last.safetensors.tmp.AbC123", mine = d("t") + "/notes.txt";
  for (const std::string& f : {tmp, mine}) std::ofstream(f) << "half";
  CmdResult r = run("train lm --resume " + d("t") + " --max-steps 5 --quiet");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_FALSE(std::filesystem::exists(tmp));
  EXPECT_TRUE(std::filesystem::exists(mine)) << "a file that is not the run's stays";
}

TEST_F(RunFolders, ResumeWithOnlyABestCheckpointSaysWhatToDo) {
  CmdResult a = run(lm(d("k")) + " --max-steps 100 --quiet");  // past the first epoch (~90 steps)
  ASSERT_EQ(a.status, 0) << a.out;
  ASSERT_TRUE(fs::exists(d("k") + "/best.safetensors"));
  fs::remove(d("k") + "/last.safetensors");  // the state the kill left
  fs::remove(d("k") + "/results.json");
  CmdResult r = run("train lm --resume " + d("k"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("recurrent: error: --resume: no last.safetensors in " + d("k")), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--force"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("--data is required"), std::string::npos) << r.out;
}

// A smaller --time-budget on resume is refused with the figures (issue 27: it used to stop at once and
// print "train nan bits/char … 0 tok/s").
TEST_F(RunFolders, ResumeRefusesAUsedUpTimeBudgetWithTheFigures) {
  CmdResult a = run("train lm --data " + text + " --hidden 8 --layers 1 --epochs 0 --time-budget 2s --threads 1 "
                    "--quiet --out " + d("tb"));
  ASSERT_EQ(a.status, 0) << a.out;
  CmdResult r = run("train lm --resume " + d("tb") + " --time-budget 1s");
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("recurrent: error: --time-budget: the run has already trained for "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(", all of a 1s budget; give more than "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("nan"), std::string::npos) << r.out;
}

// Progress output is the resuming command's own (so --quiet and --diagnostics can be turned off); the
// thread count and SIMD target the run computed with are re-entered unless chosen again.
TEST_F(RunFolders, ResumeTakesProgressOutputAsGivenAndKeepsTheEngine) {
  CmdResult a = run(lm(d("p")) + " --max-steps 3 --quiet --diagnostics 1");
  ASSERT_EQ(a.status, 0) << a.out;
  const size_t diag = lines_in(d("p") + "/diagnostics.jsonl");
  EXPECT_EQ(diag, 3u);
  const std::string rec = io::read_safetensors_header(d("p") + "/last.safetensors").metadata_or("recurrent.command", "");
  EXPECT_NE(rec.find("\"engine\":{"), std::string::npos) << rec;
  EXPECT_NE(rec.find("\"threads\":1"), std::string::npos) << rec;
  CmdResult b = run("train lm --resume " + d("p") + " --max-steps 6");  // the paste: no --quiet, no --threads
  ASSERT_EQ(b.status, 0) << b.out;
  EXPECT_NE(b.out.find("resuming char level"), std::string::npos) << "progress shown again:\n" << b.out;
  EXPECT_NE(b.out.find(", 1 thread\n"), std::string::npos) << "the run's --threads 1 kept:\n" << b.out;
  EXPECT_EQ(lines_in(d("p") + "/diagnostics.jsonl"), diag) << "--diagnostics not given again: off";
  CmdResult c = run("train lm --resume " + d("p") + " --max-steps 8 --quiet --threads 2");
  ASSERT_EQ(c.status, 0) << c.out;
  EXPECT_EQ(c.out.find("resuming"), std::string::npos) << c.out;
}

// A target the run chose (--target or RECURRENT_TARGET) is re-entered on resume, so the resumed run computes
// as the run did (a chosen target also holds oneDNN to its instruction set); a default one is recorded as
// not chosen and is not forced on the resumed run (forcing it would hold oneDNN where the run did not).
TEST_F(RunFolders, ResumeReentersAChosenTargetAndNotADefaultOne) {
  const std::string lowest = simd::target_name(simd::cpu_targets().back());
  CmdResult plain = run(lm(d("dflt")) + " --max-steps 2 --quiet");
  ASSERT_EQ(plain.status, 0) << plain.out;
  const std::string rec0 = io::read_safetensors_header(d("dflt") + "/last.safetensors").metadata_or("recurrent.command", "");
  EXPECT_NE(rec0.find("\"target_chosen\":false"), std::string::npos) << rec0;
  CmdResult a = run("--target " + lowest + " " + lm(d("a")) + " --quiet");
  ASSERT_EQ(a.status, 0) << a.out;
  CmdResult b1 = run("--target " + lowest + " " + lm(d("b")) + " --max-steps 7 --quiet");
  ASSERT_EQ(b1.status, 0) << b1.out;
  const std::string rec = io::read_safetensors_header(d("b") + "/last.safetensors").metadata_or("recurrent.command", "");
  EXPECT_NE(rec.find("\"target\":\"" + lowest + "\""), std::string::npos) << rec;
  EXPECT_NE(rec.find("\"target_chosen\":true"), std::string::npos) << rec;
  CmdResult b2 = run("train lm --resume " + d("b") + " --epochs 2 --quiet");
  ASSERT_EQ(b2.status, 0) << b2.out;
  std::string why;
  EXPECT_TRUE(same_tensors(d("a") + "/last.safetensors", d("b") + "/last.safetensors", "model.", why)) << why;
}
