// `mpirun -np N recurrent train ...` against one process (docs/distributed.md), on loopback with
// oversubscription (CI: 2 cores, root). The exactness test of issue 25: N ranks with global batch B take
// the same steps as one process with batch B, up to the order of the floating-point sums.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "recurrent/train/checkpoint.h"
#include "recurrent/train/dist.h"
#include "run_cli.h"

namespace fs = std::filesystem;

namespace {

std::string mpirun(int n);

// `cmd` through a shell; its status and combined output.
recurrent::testing::CmdResult shell(const std::string& cmd) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof buf, p)) out += buf;
  const int st = pclose(p);
  return {WEXITSTATUS(st), out};
}
// recurrent alone (N = 1) or under mpirun -np N.
recurrent::testing::CmdResult run(int n, const std::string& args) {
  return shell((n == 1 ? std::string(RECURRENT_BIN) + " " : mpirun(n)) + args);
}

// Every rank on this machine, over loopback: shared memory between ranks, the runtime's own traffic
// on lo; --oversubscribe: 3 ranks on 2 cores.
std::string mpirun(int n) {
  return std::string(RECURRENT_MPIEXEC) + " --oversubscribe --allow-run-as-root --bind-to none --mca oob_tcp_if_include lo"
         " --mca btl self,vader,tcp --mca btl_tcp_if_include lo --mca btl_vader_single_copy_mechanism none -np " +
         std::to_string(n) + " " + RECURRENT_BIN + " ";
}

class Dist : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("recurrent_dist_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& f) const { return (dir_ / f).string(); }
  fs::path dir_;
};

// A char LM small enough for 20 steps in a second: 2 × 24 LSTM, global batch 8, no dropout, SGD with lr 1
// (its update is linear in the gradient, so the runs differ only by the order of the gradient sums; Adam's
// g/√v also magnifies the rounding of near-zero gradients: docs/distributed.md gives its figures).
std::string lm_args(const std::string& out, int steps) {
  const std::string d = std::string(RECURRENT_TEST_DATA) + "/lm/";
  return "train lm --data " + d + "moby_train.txt --valid " + d + "moby_heldout.txt --hidden 24 --layers 2 --batch 8 "
         "--seq-len 16 --dropout 0 --optimizer sgd --lr 1 --max-steps " + std::to_string(steps) +
         " --log-interval 1 --threads 1 --seed 7 --quiet --out " + out;
}

// A word LM whose embedding [V, 16] (V in the thousands) has a row-sparse gradient: a batch of 8 × 8 tokens
// touches a few dozen rows, so the ranks sum only those (train/dist.h, kSparseMinRows).
std::string word_lm_args(const std::string& out, int steps, bool quiet) {
  const std::string d = std::string(RECURRENT_TEST_DATA) + "/lm/";
  return "train lm --level word --min-count 1 --data " + d + "moby_train.txt --valid " + d + "moby_heldout.txt --embed 16 --hidden 16 "
         "--layers 1 --batch 8 --seq-len 8 --dropout 0 --optimizer sgd --lr 1 --max-steps " + std::to_string(steps) +
         " --log-interval 1 --threads 1 --seed 7" + (quiet ? " --quiet" : "") + " --out " + out;
}

// The relative weight difference: max over the model's tensors of max|a − b| / max|b| (each tensor's
// difference against its largest weight).
double max_rel_diff(const std::string& a, const std::string& b, std::string& worst) {
  const auto ca = recurrent::train::read_checkpoint(a), cb = recurrent::train::read_checkpoint(b);
  double m = 0;
  for (const auto& name : cb.file.names()) {
    if (name.rfind("model.", 0) != 0) continue;
    const std::vector<float> x = ca.file.get_f32(name).to_vector(), y = cb.file.get_f32(name).to_vector();
    EXPECT_EQ(x.size(), y.size()) << name;
    double d = 0, scale = 0;
    for (size_t i = 0; i < std::min(x.size(), y.size()); ++i)
      d = std::max(d, std::abs(double(x[i]) - y[i])), scale = std::max(scale, std::abs(double(y[i])));
    if (scale > 0 && d / scale > m) m = d / scale, worst = name;
  }
  return m;
}

// The train_loss column of metrics.csv (one row per step with --log-interval 1).
std::vector<double> losses(const std::string& csv) {
  std::ifstream in(csv);
  std::string line;
  std::vector<double> v;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::stringstream s(line);
    std::string step, epoch, loss;
    std::getline(s, step, ',');
    std::getline(s, epoch, ',');
    std::getline(s, loss, ',');
    if (!loss.empty()) v.push_back(std::stod(loss));
  }
  return v;
}

void expect_same_run(const std::string& one, const std::string& many, const std::string& label) {
  std::string worst;
  const double d = max_rel_diff(many + "/last.safetensors", one + "/last.safetensors", worst);
  std::printf("%s: max relative weight difference after 20 steps %.3g (at %s)\n", label.c_str(), d, worst.c_str());
  EXPECT_LE(d, 1e-5) << label << ": worst at " << worst;
  const std::vector<double> a = losses(one + "/metrics.csv"), b = losses(many + "/metrics.csv");
  ASSERT_EQ(a.size(), 20u) << one;
  ASSERT_EQ(b.size(), a.size()) << many;
  for (size_t i = 0; i < a.size(); ++i) {
    char x[32], y[32];
    std::snprintf(x, sizeof x, "%.4f", a[i]);
    std::snprintf(y, sizeof y, "%.4f", b[i]);
    EXPECT_STREQ(x, y) << label << ": loss at step " << i + 1;
  }
}

}  // namespace

TEST_F(Dist, TwoRanksTakeTheStepsOfOneProcess) {
  auto r1 = run(1, lm_args(path("one"), 20));
  ASSERT_EQ(r1.status, 0) << r1.out;
  auto r2 = run(2, lm_args(path("two"), 20));
  ASSERT_EQ(r2.status, 0) << r2.out;
  expect_same_run(path("one"), path("two"), "2 ranks vs 1 process");
}

// The word LM's embedding gradient goes row-sparse: the same run as one process, and the bytes a step
// moves (the run's "data parallel:" line) leave out at least half of the embedding's 4·V·E.
TEST_F(Dist, TwoRanksSumOnlyTheEmbeddingRowsABatchTouches) {
  auto r1 = run(1, word_lm_args(path("one"), 20, true));
  ASSERT_EQ(r1.status, 0) << r1.out;
  auto r2 = run(2, word_lm_args(path("two"), 20, false));
  ASSERT_EQ(r2.status, 0) << r2.out;
  expect_same_run(path("one"), path("two"), "word LM, 2 ranks vs 1 process");
  const auto ck = recurrent::train::read_checkpoint(path("one/last.safetensors"));
  int64_t params = 0, embedding = 0;
  for (const auto& name : ck.file.names()) {
    if (name.rfind("model.", 0) != 0) continue;
    const recurrent::Tensor t = ck.file.get_f32(name);
    params += t.numel();
    if (name == "model.embedding.weight") {
      ASSERT_GE(t.shape()[0], recurrent::train::kSparseMinRows) << "the test needs an embedding large enough to go sparse";
      embedding = t.numel();
    }
  }
  const std::string key = "allreduce of ";
  const size_t at = r2.out.find(key);
  ASSERT_NE(at, std::string::npos) << r2.out;
  const double bytes = std::stod(r2.out.substr(at + key.size())) * 1048576.0;
  std::printf("word LM: %lld parameters (embedding %lld), %.0f bytes per step (dense: %lld)\n",
              static_cast<long long>(params), static_cast<long long>(embedding), bytes, static_cast<long long>(4 * params));
  EXPECT_LT(bytes, 4.0 * static_cast<double>(params) - 2.0 * static_cast<double>(embedding));
}

// A run started on 3 ranks (the batch of 8 cut 3 + 3 + 2) and resumed on 2 ends where one process does:
// the checkpoint holds the whole batch's carried state, so the ranks' count can change.
TEST_F(Dist, ResumesOnAnotherNumberOfRanks) {
  auto r1 = run(1, lm_args(path("one"), 20));
  ASSERT_EQ(r1.status, 0) << r1.out;
  auto r3 = run(3, lm_args(path("three"), 10));
  ASSERT_EQ(r3.status, 0) << r3.out;
  auto r2 = run(2, "train lm --resume " + path("three") + " --max-steps 20");
  ASSERT_EQ(r2.status, 0) << r2.out;
  expect_same_run(path("one"), path("three"), "3 ranks, resumed on 2, vs 1 process");
}

// A rank that fails (here: its data cannot be read) ends the job, naming itself.
TEST_F(Dist, AFailingRankEndsTheJobWithItsMessage) {
  auto r = run(2, "train lm --data " + path("missing.txt") + " --max-steps 2 --threads 1 --out " + path("run"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("recurrent: error: rank "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("missing.txt"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(path("run/last.safetensors")));
}
