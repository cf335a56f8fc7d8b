// explore/runs.h: run discovery, metrics.csv rows (whole lines only), diagnostics.jsonl, query numbers.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "explore/runs.h"
#include "recurrent/core/error.h"

namespace recurrent::explore {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path p = fs::temp_directory_path() / ("recurrent-explore-runs-" + std::to_string(::getpid()));
  TempDir() { fs::remove_all(p), fs::create_directories(p); }
  ~TempDir() { fs::remove_all(p); }
};

void write(const fs::path& p, const std::string& s) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << s;
}

TEST(ExploreRuns, FindsRunsInAFolderAndNamesClashesApart) {
  TempDir d;
  write(d.p / "runs" / "b" / "metrics.csv", "step\n");
  write(d.p / "runs" / "a" / "last.safetensors", "x");
  write(d.p / "runs" / "empty" / "notes.txt", "x");
  write(d.p / "other" / "a" / "diagnostics.jsonl", "");
  const auto runs = list_runs({(d.p / "runs").string(), (d.p / "other" / "a").string()});
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].name, "a");
  EXPECT_TRUE(runs[0].model);
  EXPECT_FALSE(runs[0].metrics);
  EXPECT_EQ(runs[1].name, "b");
  EXPECT_TRUE(runs[1].metrics);
  EXPECT_EQ(runs[2].name, "a-2");
  EXPECT_TRUE(runs[2].diagnostics);
  // A run started later in the folder appears on the next listing.
  write(d.p / "runs" / "c" / "metrics.csv", "step\n");
  EXPECT_EQ(list_runs({(d.p / "runs").string()}).size(), 3u);
}

TEST(ExploreRuns, MetricsRowsAreWholeLinesWithNullForEmptyFields) {
  TempDir d;
  const fs::path m = d.p / "metrics.csv";
  write(m, "step,train_loss,valid_loss\n10,2.5,\n20,2.25,2.4\n30,2.1");  // the last row is being written
  nlohmann::json j = read_metrics(m.string(), 0);
  EXPECT_EQ(j["columns"], nlohmann::json({"step", "train_loss", "valid_loss"}));
  ASSERT_EQ(j["total"], 2);
  ASSERT_EQ(j["rows"].size(), 2u);
  EXPECT_EQ(j["rows"][0][0], 10.0);
  EXPECT_TRUE(j["rows"][0][2].is_null());
  EXPECT_EQ(j["rows"][1][2], 2.4);
  j = read_metrics(m.string(), 1);  // from row 1
  ASSERT_EQ(j["rows"].size(), 1u);
  EXPECT_EQ(j["rows"][0][0], 20.0);
  EXPECT_THROW(read_metrics((d.p / "missing.csv").string(), 0), Error);
}

TEST(ExploreRuns, DiagnosticsKeepEvenlySpacedLinesAndSkipBadOnes) {
  TempDir d;
  std::string text;
  for (int s = 0; s < 10; ++s)
    text += "{\"step\":" + std::to_string(s) + ",\"loss\":1,\"grad_norm\":2,\"layers\":[{\"layer\":0,\"dir\":0,\"dh\":[1,0.5],\"dc\":[2,1]}]}\n";
  text += "not json\n{\"step\": 99";  // a bad line and a line being written
  write(d.p / "diagnostics.jsonl", text);
  nlohmann::json j = read_diagnostics((d.p / "diagnostics.jsonl").string(), 4);
  ASSERT_EQ(j["steps"].size(), 4u);
  EXPECT_EQ(j["steps"][0]["step"], 0);
  EXPECT_EQ(j["steps"][3]["step"], 9);
  EXPECT_EQ(j["probed"], 10);
  EXPECT_EQ(j["steps"][1]["layers"][0]["dc"][1], 1.0);
}

TEST(ExploreRuns, GradientLabDhCsvBecomesOneSeriesPerModelAndClip) {
  TempDir d;
  write(d.p / "lab" / "dh.csv",
        "model,clip,step,t,distance,dh_norm\nlstm,0,1,0,1,0.5\nlstm,0,1,1,0,1\ngru,1,1,1,0,2\ngru,1,1,0,1,0.25\n"
        "lstm,0,5,0,1,0.1\nlstm,0,5,1,0,0.2\n");
  const auto runs = list_runs({(d.p / "lab").string()});
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_TRUE(runs[0].diagnostics);
  const nlohmann::json j = read_gradlab_dh((d.p / "lab" / "dh.csv").string());
  ASSERT_EQ(j["steps"].size(), 2u);
  EXPECT_EQ(j["steps"][0]["step"], 1.0);
  ASSERT_EQ(j["steps"][0]["layers"].size(), 2u);
  EXPECT_EQ(j["steps"][0]["layers"][0]["name"], "lstm clip 0");
  EXPECT_EQ(j["steps"][0]["layers"][1]["dh"], nlohmann::json({0.25, 2.0}));  // by t, whatever the row order
  EXPECT_EQ(j["steps"][1]["layers"][0]["dh"], nlohmann::json({0.1, 0.2}));
  write(d.p / "bad.csv", "a,b\n");
  EXPECT_THROW(read_gradlab_dh((d.p / "bad.csv").string()), Error);
}

TEST(ExploreRuns, CountsAreNonNegativeIntegers) {
  EXPECT_EQ(parse_count("", 7), 7);
  EXPECT_EQ(parse_count("42", 0), 42);
  EXPECT_FALSE(parse_count("-1", 0));
  EXPECT_FALSE(parse_count("1e3", 0));
  EXPECT_FALSE(parse_count("99999999999999999999", 0));
}

}  // namespace
}  // namespace recurrent::explore
