// `recurrent train esn`, and echo state networks in `eval` and `predict`: a run writes its model and
// results, eval --json gives the same test figures, predict writes the forecasts CSV; bad settings are
// refused with one line naming the option (docs/esn.md).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "run_cli.h"

using recurrent::testing::run;
namespace fs = std::filesystem;

namespace {

struct Tmp {
  fs::path dir = fs::temp_directory_path() / ("recurrent-esn-cli-" + std::to_string(::getpid()));
  Tmp() { fs::create_directories(dir); }
  ~Tmp() { fs::remove_all(dir); }
  std::string operator/(const std::string& s) const { return (dir / s).string(); }
};

// A noisy sine with a slow drift (400 rows): enough structure for a readout to beat the naive forecast.
std::string series(const Tmp& t) {
  const std::string p = t / "s.csv";
  std::ofstream f(p);
  f << "t,y\n";
  for (int i = 0; i < 400; ++i) f << i << "," << std::sin(0.3 * i) + 0.3 * std::sin(0.05 * i) << "\n";
  return p;
}

void one_line_error(const std::string& args, const std::string& option) {
  const recurrent::testing::CmdResult r = run(args);
  EXPECT_NE(r.status, 0) << args << "\n" << r.out;
  EXPECT_NE(r.out.find("recurrent: error: " + option + ": "), std::string::npos) << args << "\n" << r.out;
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << args << ": one line expected\n" << r.out;
}

}  // namespace

TEST(EsnCli, TrainEvalPredict) {
  Tmp t;
  const std::string data = series(t), out = t / "run";
  const std::string base = "train esn --data " + data + " --column y --reservoir 50 --washout 20 --ridge 1e-6 "
                           "--horizon 5 --quiet --out " + out;
  const recurrent::testing::CmdResult r = run(base);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("test: one-step"), std::string::npos) << r.out;
  ASSERT_TRUE(fs::exists(out + "/last.safetensors"));
  std::ifstream rf(out + "/results.json");
  const nlohmann::json res = nlohmann::json::parse(rf);
  const recurrent::testing::CmdResult e = run("eval --model " + out + " --data " + data + " --json");
  ASSERT_EQ(e.status, 0) << e.out;
  const nlohmann::json j = nlohmann::json::parse(e.out);
  EXPECT_DOUBLE_EQ(j.at("one_step").at("mae").get<double>(), res.at("test").at("one_step").at("mae").get<double>());
  EXPECT_DOUBLE_EQ(j.at("nrmse_horizon").get<double>(), res.at("test").at("nrmse_horizon").get<double>());
  EXPECT_LT(j.at("one_step").at("mase").get<double>(), j.at("one_step").at("naive_mase").get<double>()) << e.out;
  const recurrent::testing::CmdResult p = run("predict --model " + out + " --data " + data + " --out -");
  ASSERT_EQ(p.status, 0) << p.out;
  EXPECT_EQ(p.out.rfind("index,origin_time,step,time,forecast,actual,naive,seasonal_naive\n", 0), 0u) << p.out;
  // the run folder is refused for a second run without --force
  one_line_error(base, "--out");
  EXPECT_EQ(run(base + " --force").status, 0);
  one_line_error("predict --model " + out + " --top-k 3 --data " + data, "--top-k");
}

TEST(EsnCli, BadSettingsAreRefusedWithOneLine) {
  Tmp t;
  const std::string data = series(t);
  const std::string base = "train esn --data " + data + " --column y --reservoir 20 --out " + t / "bad";
  one_line_error(base + " --spectral-radius 0", "--spectral-radius");
  one_line_error(base + " --spectral-radius -1", "--spectral-radius");
  one_line_error(base + " --leak 0", "--leak");
  one_line_error(base + " --leak 1.5", "--leak");
  one_line_error(base + " --ridge -1", "--ridge");
  one_line_error(base + " --reservoir 0", "--reservoir");
  one_line_error(base + " --density 0", "--density");
  one_line_error(base + " --washout 400", "--washout");  // ≥ the series (and its training part)
  one_line_error(base + " --washout 300", "--washout");  // ≥ the training part (280 rows)
  one_line_error(base + " --horizon 5 --features t", "--horizon");
  one_line_error(base + " --no-target-input", "--no-target-input");
  const recurrent::testing::CmdResult r = run("train esn --data " + data + " --column nope --out " + t / "bad");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("recurrent: error: " + data), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("nope"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << r.out;
  EXPECT_FALSE(fs::exists(t / "bad"));  // nothing left behind by a refused run
}

TEST(EsnCli, ClassifyTrainEvalPredict) {
  Tmp t;
  const std::string data = t / "s.tsv", out = t / "cls";
  {
    std::ofstream f(data);
    for (int i = 0; i < 60; ++i) f << (i % 2 ? "pos\tgood great fine nice" : "neg\tbad awful poor sad") << "\n";
  }
  const recurrent::testing::CmdResult r =
      run("train esn --mode classify --data " + data + " --reservoir 30 --min-count 1 --quiet --out " + out);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("test: accuracy 100.00%"), std::string::npos) << r.out;
  const recurrent::testing::CmdResult e = run("eval --model " + out + " --data " + data + " --json");
  ASSERT_EQ(e.status, 0) << e.out;
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(e.out).at("accuracy").get<double>(), 1.0) << e.out;
  const recurrent::testing::CmdResult p = run("predict --model " + out + " --input " + data);
  ASSERT_EQ(p.status, 0) << p.out;
  EXPECT_EQ(p.out.rfind("text\tlabel\tscore_neg\tscore_pos\n", 0), 0u) << p.out;
  one_line_error("predict --model " + out + " --data " + data, "--data");
  one_line_error("train esn --mode classify --data " + data + " --column y --out " + t / "x", "--column");
  one_line_error("train esn --data " + data + " --level char --out " + t / "x", "--level");
}
