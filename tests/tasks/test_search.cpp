// `train forecast|classify|tag --search` on tiny data (tasks/forecast.h, tasks/classify.h, tasks/tag.h,
// train/search.h): every trial logged, trials scored on validation only (no "test" in their results), the kept
// run is the trial best by validation and is evaluated on test once in the run's folder, and the test part is
// never looked at: the same search with a different test part runs the same trials to the same validation
// figures and keeps the same candidate, while its test figures differ.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "recurrent/core/rng.h"
#include "recurrent/core/threads.h"
#include "recurrent/data/text_file.h"
#include "recurrent/tasks/classify.h"
#include "recurrent/tasks/forecast.h"
#include "recurrent/tasks/tag.h"
#include "recurrent/train/checkpoint.h"

using namespace recurrent;
using namespace recurrent::tasks;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path tmpdir_search(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("recurrent-tsearch-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

json read_json(const fs::path& f) { return json::parse(data::read_file(f.string())); }

// The trials' log without its timings: (rung, trial, epochs, validation score) per row, and the kept name.
std::vector<std::string> trial_rows(const fs::path& out) {
  std::vector<std::string> v;
  for (const json& r : read_json(out / "trials.json"))
    v.push_back(std::to_string(r["rung"].get<int>()) + " " + r["name"].get<std::string>() + " " +
                std::to_string(r["epochs"].get<int>()) + " " + r["summary"].get<std::string>() +
                (r["kept"].get<bool>() ? " kept" : ""));
  return v;
}

// Checks what every search must leave: a trial folder per candidate with validation-only results, the log,
// and the kept trial = the best by validation in the last rung it shared with another, evaluated on test.
void check_search(const fs::path& out, size_t n, bool lower_is_better, const char* metric) {
  const json rows = read_json(out / "trials.json");
  std::map<std::string, double> last;  // each trial's last score
  std::string kept;
  for (const json& r : rows) {
    last[r["name"]] = r["score"].get<double>();
    if (r["kept"].get<bool>()) kept = r["name"];
  }
  ASSERT_EQ(last.size(), n);
  ASSERT_FALSE(kept.empty());
  // In the rung before the last, the kept trial had the best validation score of that rung's trials.
  const int rungs = rows.back()["rung"].get<int>();
  std::map<std::string, double> before;  // the scores of rung rungs−1
  for (const json& r : rows)
    if (r["rung"].get<int>() == rungs - 1) before[r["name"]] = r["score"].get<double>();
  for (const auto& [name, score] : before)
    if (name != kept) {
      EXPECT_LE(score, before.at(kept)) << name;
    }
  for (const auto& e : fs::directory_iterator(out / "trials")) {
    const json t = read_json(e.path() / "results.json");
    EXPECT_TRUE(t.contains("valid")) << e.path();
    EXPECT_FALSE(t.contains("test")) << e.path() << ": a trial looked at the test part";
  }
  EXPECT_EQ(std::distance(fs::directory_iterator(out / "trials"), fs::directory_iterator{}), static_cast<long>(n));
  const json res = read_json(out / "results.json");
  EXPECT_EQ(res["search"]["kept"], kept);
  ASSERT_TRUE(res.contains("test"));
  // The kept model is the kept trial's best weights, scored on validation as in its last rung.
  const double v = res["valid"][metric].get<double>();
  EXPECT_NEAR(lower_is_better ? -v : v, last[kept], 1e-9 * std::max(1.0, std::abs(v)));
  EXPECT_EQ(data::read_file((out / "best.safetensors").string()),
            data::read_file((out / "trials" / (std::to_string(res["search"]["kept_trial"].get<int>()) + "-" + kept) /
                             "best.safetensors").string()));
}

// AR(2) with noise as "t,y" rows; the last `test_rows` rows replaced by other values when `alt`.
std::string series(int n, int test_rows, bool alt) {
  Rng r(3), q(99);
  std::string s = "t,y\n";
  double a = 0, b = 0;
  for (int i = 0; i < n + 30; ++i) {
    const double y = 1.6 * a - 0.9 * b + 0.5 * r.normal();
    b = a, a = y;
    if (i < 30) continue;
    const double v = alt && i - 30 >= n - test_rows ? 10 * q.normal() : y + 5;
    s += std::to_string(i - 30) + "," + std::to_string(v) + "\n";
  }
  return s;
}

}  // namespace

TEST(Search, ForecastKeepsTheBestByValidationAndNeverLooksAtTest) {
  set_num_threads(1);
  const fs::path d = tmpdir_search("forecast");
  const int n = 100;
  data::write_file((d / "a.csv").string(), series(n, 15, false));
  data::write_file((d / "b.csv").string(), series(n, 15, true));  // the same series with another test part
  auto opts = [&](const char* csv, const char* out) {
    ForecastTrainOptions o;
    o.data = (d / csv).string(), o.column = "y";
    o.lookback = 8, o.season = 1, o.batch = 16, o.epochs = 4, o.search = 3;
    o.out = (d / out).string(), o.quiet = true, o.seed = 2;
    return o;
  };
  ASSERT_EQ(train_forecaster(opts("a.csv", "ra")), ForecastOutcome::finished);
  check_search(d / "ra", 3, true, "mae");
  ASSERT_EQ(train_forecaster(opts("b.csv", "rb")), ForecastOutcome::finished);
  EXPECT_EQ(trial_rows(d / "ra"), trial_rows(d / "rb"));
  EXPECT_EQ(trial_rows(d / "ra").size(), 3u + 2u + 1u);  // 3 → 2 → 1
  EXPECT_NE(read_json(d / "ra" / "results.json")["test"]["mae"], read_json(d / "rb" / "results.json")["test"]["mae"]);
  // The kept run's record names its candidate's options, not --search (so --resume continues it).
  const ForecastTrainOptions a = opts("a.csv", "rc");
  ForecastTrainOptions c = a;
  c.command = R"({"task":"forecast","options":{"--search":["3"],"--seed":["2"]}})";
  ASSERT_EQ(train_forecaster(c), ForecastOutcome::finished);
  const json rec = json::parse(train::read_checkpoint((d / "rc" / "last.safetensors").string()).command_json);
  EXPECT_FALSE(rec["options"].contains("--search"));
  EXPECT_TRUE(rec["options"].contains("--hidden"));
  EXPECT_EQ(rec["options"]["--seed"][0], "2");
  fs::remove_all(d);
}

TEST(Search, ClassifyKeepsTheBestByValidationAndNeverLooksAtTest) {
  set_num_threads(1);
  const fs::path d = tmpdir_search("classify");
  Rng r(7);
  auto sentences = [&](int n, bool flip) {
    std::string s;
    for (int i = 0; i < n; ++i) {
      const bool pos = r.below(2) == 0;
      std::string t = "w" + std::to_string(r.below(9)) + (pos ? " good " : " bad ") + "w" + std::to_string(r.below(9));
      s += std::string(pos != flip ? "pos" : "neg") + "\t" + t + "\n";
    }
    return s;
  };
  data::write_file((d / "train.tsv").string(), sentences(120, false));
  data::write_file((d / "valid.tsv").string(), sentences(30, false));
  data::write_file((d / "test1.tsv").string(), sentences(30, false));
  data::write_file((d / "test2.tsv").string(), sentences(30, true));  // labels flipped: another test part
  auto opts = [&](const char* test, const char* out) {
    ClassifyTrainOptions o;
    o.data = {(d / "train.tsv").string()}, o.valid = (d / "valid.tsv").string(), o.test = (d / test).string();
    o.embed = 8, o.batch = 16, o.epochs = 2, o.search = 2;
    o.out = (d / out).string(), o.quiet = true, o.seed = 4;
    return o;
  };
  ASSERT_EQ(train_classifier(opts("test1.tsv", "r1")), ClassifyOutcome::finished);
  check_search(d / "r1", 2, false, "macro_f1");
  ASSERT_EQ(train_classifier(opts("test2.tsv", "r2")), ClassifyOutcome::finished);
  EXPECT_EQ(trial_rows(d / "r1"), trial_rows(d / "r2"));
  EXPECT_NE(read_json(d / "r1" / "results.json")["test"]["accuracy"], read_json(d / "r2" / "results.json")["test"]["accuracy"]);
  fs::remove_all(d);
}

TEST(Search, TagKeepsTheBestByValidationAndNeverLooksAtTest) {
  set_num_threads(1);
  const fs::path d = tmpdir_search("tag");
  Rng r(11);
  // CoNLL sentences of d*/n*/v* words tagged DET/NOUN/VERB by their first letter; `flip` swaps NOUN and VERB.
  auto sentences = [&](int n, bool flip) {
    std::string s;
    const char* kinds[3][2] = {{"d", "DET"}, {"n", "NOUN"}, {"v", "VERB"}};
    for (int i = 0; i < n; ++i) {
      for (int t = 0, len = 3 + static_cast<int>(r.below(4)); t < len; ++t) {
        const int k = static_cast<int>(r.below(3));
        const int tag = flip && k > 0 ? 3 - k : k;
        s += std::string(kinds[k][0]) + std::to_string(r.below(6)) + "\t" + kinds[tag][1] + "\n";
      }
      s += "\n";
    }
    return s;
  };
  data::write_file((d / "train.conll").string(), sentences(60, false));
  data::write_file((d / "valid.conll").string(), sentences(15, false));
  data::write_file((d / "test1.conll").string(), sentences(15, false));
  data::write_file((d / "test2.conll").string(), sentences(15, true));  // another test part
  auto opts = [&](const char* test, const char* out) {
    TagTrainOptions o;
    o.data = (d / "train.conll").string(), o.valid = (d / "valid.conll").string(), o.test = (d / test).string();
    o.embed = 8, o.feature_embed = 4, o.batch = 16, o.epochs = 2, o.search = 3;
    o.out = (d / out).string(), o.quiet = true, o.seed = 6;
    return o;
  };
  ASSERT_EQ(train_tagger(opts("test1.conll", "r1")), TagOutcome::finished);
  check_search(d / "r1", 3, false, "score");
  ASSERT_EQ(train_tagger(opts("test2.conll", "r2")), TagOutcome::finished);
  EXPECT_EQ(trial_rows(d / "r1"), trial_rows(d / "r2"));
  EXPECT_EQ(trial_rows(d / "r1").size(), 3u + 2u + 1u);  // 3 → 2 → 1
  EXPECT_NE(read_json(d / "r1" / "results.json")["test"]["accuracy"], read_json(d / "r2" / "results.json")["test"]["accuracy"]);
  EXPECT_EQ(tag_candidates().front().name, "bilstm128");  // the default first
  fs::remove_all(d);
}
