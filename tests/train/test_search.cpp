// --search's successive halving (train/search.h) with made-up trials: which trials run in which rung with
// which allowance, that trials which stopped by themselves are not run again, the log (trials.csv/json), the
// kept trial's evaluation (evaluate_only in the run's folder, its record with the candidate's options), and
// the refusals. The real tasks' searches on tiny data: tests/tasks/test_search.cpp.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "recurrent/core/error.h"
#include "recurrent/data/text_file.h"
#include "recurrent/train/search.h"

using namespace recurrent;
using namespace recurrent::train;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path tmpdir_search(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("recurrent-search-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  return d;
}

std::vector<SearchCandidate> five() {
  std::vector<SearchCandidate> c;
  for (int k = 0; k < 5; ++k) c.push_back({"c" + std::to_string(k), {{"--hidden", std::to_string(8 << k)}}});
  return c;
}

std::string search_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no Error thrown";
  return "";
}

}  // namespace

TEST(Search, SuccessiveHalvingByEpochsKeepsTheBestByValidation) {
  // Trial k's score after e epochs: quality[k]·e (k=3 best, then 1); trial 1 stops by itself after 2 epochs.
  const double quality[5] = {1, 4, 2, 5, 3};
  const fs::path d = tmpdir_search("epochs");
  RunOptions o;
  o.out = d.string(), o.epochs = 8, o.seed = 1, o.quiet = true;
  o.command = R"({"task":"forecast","options":{"--search":["5"],"--hidden":["99"],"--data":["x.csv"]}})";
  std::map<size_t, std::vector<int64_t>> runs;  // trial → the --epochs of each of its runs
  int finals = 0;
  auto run = [&](size_t k, const RunOptions& b, bool resume) {
    EXPECT_TRUE(b.trial);
    EXPECT_FALSE(b.evaluate_only);
    EXPECT_EQ(b.out, trial_dir(d.string(), k, five()[k]));
    EXPECT_EQ(resume, !runs[k].empty());
    EXPECT_EQ(b.resume, resume ? b.out : "");
    EXPECT_EQ(json::parse(b.command)["options"]["--hidden"][0], std::to_string(8 << k));
    EXPECT_FALSE(json::parse(b.command)["options"].contains("--search"));
    runs[k].push_back(b.epochs);
    fs::create_directories(b.out);
    data::write_file((fs::path(b.out) / "best.safetensors").string(), "weights of " + std::to_string(k));
    TrialReport r;
    r.epochs = k == 1 ? std::min<int64_t>(b.epochs, 2) : b.epochs;
    r.finished = k == 1 && b.epochs >= 2;
    r.score = quality[k] * static_cast<double>(r.epochs);
    r.summary = "score " + std::to_string(r.score);
    return r;
  };
  auto final_eval = [&](const RunOptions& f) {
    ++finals;
    EXPECT_TRUE(f.evaluate_only);
    EXPECT_FALSE(f.trial);
    EXPECT_EQ(f.resume, d.string());
    EXPECT_EQ(json::parse(f.command)["options"]["--hidden"][0], "64");
    data::write_file((d / "results.json").string(), R"({"test": {"mae": 1}})");
  };
  const SearchOutcome res = successive_halving(five(), o, run, final_eval);
  // 5 → 3 → 2 → 1 over 4 rungs with cumulative epochs 1, 2, 4, 8.
  EXPECT_EQ(res.winner, 3u);
  EXPECT_EQ(finals, 1);
  EXPECT_EQ(runs[3], (std::vector<int64_t>{1, 2, 4, 8}));
  EXPECT_EQ(runs[0], (std::vector<int64_t>{1}));
  EXPECT_EQ(runs[2], (std::vector<int64_t>{1}));  // rung 1 keeps 3 of 5: trials 3, 1 and 4 (1·1=1 < 2 < 3 < 4 < 5)
  EXPECT_EQ(runs[4], (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(runs[1], (std::vector<int64_t>{1, 2}));  // stopped by itself at 2 epochs: never run again
  EXPECT_EQ(data::read_file((d / "best.safetensors").string()), "weights of 3");
  const json rows = json::parse(data::read_file((d / "trials.json").string()));
  ASSERT_EQ(rows.size(), 5u + 3u + 2u + 1u);
  int kept = 0;
  for (const json& r : rows) kept += r["kept"].get<bool>();
  EXPECT_EQ(kept, 1);
  EXPECT_EQ(rows.back()["name"], "c3");
  EXPECT_TRUE(rows.back()["kept"].get<bool>());
  const std::string csv = data::read_file((d / "trials.csv").string());
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 12);  // header + 11 rows
  const json results = json::parse(data::read_file((d / "results.json").string()));
  EXPECT_EQ(results["search"]["kept"], "c3");
  EXPECT_EQ(results["test"]["mae"], 1);
  fs::remove_all(d);
}

TEST(Search, ATimeBudgetIsSharedOutAndTheLastRungGetsWhatIsLeft) {
  const fs::path d = tmpdir_search("time");
  RunOptions o;
  o.out = d.string(), o.time_budget = 40, o.quiet = true;
  std::vector<double> budgets;
  auto run = [&](size_t k, const RunOptions& b, bool) {
    budgets.push_back(b.time_budget);
    EXPECT_EQ(b.epochs, 0);
    TrialReport r;
    r.train_seconds = 0.0;  // the made-up trials take no time: every rung's share is what is left / rungs left
    r.score = static_cast<double>(k);
    return r;
  };
  successive_halving({five()[0], five()[1]}, o, run, [](const RunOptions&) {});
  ASSERT_EQ(budgets.size(), 3u);  // rung 1: 2 trials of (40 / 2 rungs) / 2; rung 2: trial 2 gets ~all 40
  EXPECT_NEAR(budgets[0], 10, 0.5);
  EXPECT_NEAR(budgets[1], 10, 0.5);
  EXPECT_NEAR(budgets[2], 40, 0.5);
  fs::remove_all(d);
}

TEST(Search, RefusalsAndTheRecordOfTheKeptRun) {
  RunOptions o;
  o.out = tmpdir_search("refuse").string(), o.time_budget = 10;
  auto none = [](size_t, const RunOptions&, bool) { return TrialReport{}; };
  auto fin = [](const RunOptions&) {};
  RunOptions r = o;
  r.resume = o.out;
  EXPECT_NE(search_error_of([&] { successive_halving(five(), r, none, fin); }).find("--search: a search cannot be resumed"), std::string::npos);
  r = o, r.max_steps = 5;
  EXPECT_NE(search_error_of([&] { successive_halving(five(), r, none, fin); }).find("--max-steps"), std::string::npos);
  r = o, r.time_budget = 0;
  EXPECT_NE(search_error_of([&] { successive_halving(five(), r, none, fin); }).find("needs --time-budget or --epochs"), std::string::npos);
  EXPECT_NE(search_error_of([&] { first_candidates(five(), 6); }).find("--search: expected 1 to 5 candidates"), std::string::npos);
  EXPECT_EQ(first_candidates(five(), 2).size(), 2u);
  const SearchCandidate c{"uni", {{"--no-bidirectional", ""}, {"--pool", "last"}}};
  const json j = json::parse(candidate_command(
      R"({"task":"classify","options":{"--search":["3"],"--bidirectional":[],"--pool":["max"],"--seed":["2"]}})", c));
  EXPECT_EQ(j["options"], json::parse(R"({"--no-bidirectional":[],"--pool":["last"],"--seed":["2"]})"));
  EXPECT_EQ(candidate_command("", c), "");
}
