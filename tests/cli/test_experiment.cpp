// `recurrent experiment NAME` as a process: one JSON summary line per (cell, clip) run with the promised
// keys, a report folder (report.md with the command and one table row per run, the CSV files), the
// sequential-image experiment on small crafted IDX files, and one-line errors for bad image files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "run_cli.h"

namespace fs = std::filesystem;
using recurrent::testing::run;

namespace {

std::string read_text(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<nlohmann::json> json_lines(const std::string& out) {
  std::vector<nlohmann::json> v;
  std::stringstream ss(out);
  for (std::string line; std::getline(ss, line);)
    if (!line.empty() && line[0] == '{') v.push_back(nlohmann::json::parse(line));
  return v;
}

class Experiment : public ::testing::Test {
 protected:
  fs::path dir = fs::temp_directory_path() /
                 ("recurrent-exp-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
  void SetUp() override { fs::remove_all(dir), fs::create_directories(dir); }
  void TearDown() override { fs::remove_all(dir); }
  // IDX ubyte file with the given sizes and data.
  std::string idx(const std::string& name, const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data) {
    const std::string p = (dir / name).string();
    std::ofstream f(p, std::ios::binary);
    const char magic[4] = {0, 0, 8, static_cast<char>(dims.size())};
    f.write(magic, 4);
    for (uint32_t d : dims) {
      const char b[4] = {char(d >> 24), char(d >> 16), char(d >> 8), char(d)};
      f.write(b, 4);
    }
    f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    return p;
  }
};

TEST_F(Experiment, JsonLinePerRunAndReportFolder) {
  const fs::path out = dir / "agr";
  auto r = run("--threads 1 experiment agreement --distance 4 --cells rnn_tanh,gru --clip 0,1 --steps 6 --eval-every 3 "
               "--eval-size 20 --hidden 6 --batch 4 --no-plots --json --out " + out.string());
  ASSERT_EQ(r.status, 0) << r.out;
  auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 4u) << r.out;  // 2 cells × 2 clip values
  for (const auto& j : lines) {
    for (const char* k : {"cell", "metric", "value", "steps", "steps_to_solve", "grad_ratio", "clip"})
      EXPECT_TRUE(j.contains(k)) << k << " in " << j.dump();
    EXPECT_EQ(j["metric"], "accuracy");
    EXPECT_EQ(j["steps"], 6);
    EXPECT_GE(j["value"].get<double>(), 0.0);
    EXPECT_LE(j["value"].get<double>(), 1.0);
  }
  EXPECT_EQ(lines[0]["cell"], "rnn_tanh");
  EXPECT_EQ(lines[3]["cell"], "gru");
  EXPECT_EQ(lines[3]["clip"], 1.0);
  const std::string rep = read_text(out / "report.md");
  EXPECT_NE(rep.find("experiment agreement --distance 4"), std::string::npos) << rep;
  EXPECT_NE(rep.find("| gru | 1 |"), std::string::npos) << rep;
  EXPECT_NE(rep.find("No plots: --no-plots given"), std::string::npos) << rep;
  for (const char* f : {"train.csv", "gates.csv", "dh.csv", "summary.csv"}) EXPECT_TRUE(fs::exists(out / f)) << f;
  std::stringstream summary(read_text(out / "summary.csv"));
  int n = 0;
  for (std::string line; std::getline(summary, line);) ++n;
  EXPECT_EQ(n, 5);  // header + 4 runs
}

TEST_F(Experiment, SeqImageReadsIdxFilesByRowsAndPixels) {
  std::vector<uint8_t> px, lb;
  for (int i = 0; i < 40; ++i) {  // 40 images 3×2, label = i % 2, pixel values from i
    lb.push_back(static_cast<uint8_t>(i % 2));
    for (int k = 0; k < 6; ++k) px.push_back(static_cast<uint8_t>((i * 37 + k * 11) % 256));
  }
  const std::string im = idx("im", {40, 3, 2}, px), la = idx("lb", {40}, lb);
  for (const char* by : {"rows", "pixels"}) {
    auto r = run(std::string("--threads 1 experiment seqimage --by ") + by + " --train-images " + im + " --train-labels " +
                 la + " --test-images " + im + " --test-labels " + la + " --valid 10 --cells lstm --clip 1 --steps 4 "
                 "--eval-every 2 --eval-size 10 --hidden 4 --batch 5 --no-plots --json --out " + (dir / by).string());
    ASSERT_EQ(r.status, 0) << r.out;
    auto lines = json_lines(r.out);
    ASSERT_EQ(lines.size(), 1u) << r.out;
    EXPECT_EQ(lines[0]["T"], std::string(by) == "rows" ? 3 : 6);
    EXPECT_EQ(lines[0]["metric"], "accuracy");
  }
}

TEST_F(Experiment, BadImageFileIsOneLineNamingIt) {
  const std::string labels = idx("labels", {5}, {0, 1, 0, 1, 0});
  auto r = run("experiment seqimage --train-images " + labels + " --train-labels " + labels + " --test-images " + labels +
               " --test-labels " + labels + " --no-plots --out " + (dir / "x").string());
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("recurrent: error: " + labels + ": IDX file with 1 dimensions, expected 3"), std::string::npos)
      << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  r = run("experiment seqimage --by columns --train-images " + labels + " --train-labels " + labels + " --test-images " +
          labels + " --test-labels " + labels + " --no-plots");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("--by: expected one of rows, pixels, got columns"), std::string::npos) << r.out;
}

}  // namespace
