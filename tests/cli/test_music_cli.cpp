// `recurrent train music`, `eval` and `sample` on a music model, through the binary, on a small chorale
// file the test writes: the run's files and figures, eval --json agreeing with results.json, a sampled
// MIDI file that parses back (io/midi.h) to the same notes the same command prints without --out, the
// prime kept at the start, and one clear error each for bad data and options that do not apply.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "recurrent/data/chorales.h"
#include "recurrent/io/midi.h"
#include "run_cli.h"

using recurrent::testing::run;
namespace fs = std::filesystem;

namespace {

// 12 / 4 / 4 chorales of 6–13 steps: chords moving up and down by steps, with rests.
std::string chorale_json() {
  std::ostringstream s;
  s << "{";
  const char* parts[] = {"train", "valid", "test"};
  for (int p = 0; p < 3; ++p) {
    s << (p ? ", " : "") << '"' << parts[p] << "\": [";
    for (int c = 0, n = p == 0 ? 12 : 4; c < n; ++c) {
      s << (c ? ", " : "") << "[";
      for (int t = 0, T = 6 + (c * 5 + p) % 8; t < T; ++t) {
        const int root = 48 + (t * (c % 3 + 1)) % 7;
        s << (t ? ", " : "");
        if ((t + c) % 5 == 4)
          s << "[]";
        else
          s << "[" << root << ", " << root + 4 << ", " << root + 7 << ", " << root + 12 << "]";
      }
      s << "]";
    }
    s << "]";
  }
  s << "}";
  return s.str();
}

class MusicCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("recurrent-music-cli-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    data_ = (dir_ / "chorales.json").string();
    std::ofstream(data_) << chorale_json();
    model_ = (dir_ / "run").string();
    train_ = run("train music --data " + data_ + " --cell lstm --hidden 12 --epochs 3 --batch 4 --out " + model_ +
                 " --threads 1 --quiet");
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static std::string last_line(const std::string& out) {
    std::string s = out;
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s.substr(s.rfind('\n') == std::string::npos ? 0 : s.rfind('\n') + 1);
  }

  static fs::path dir_;
  static std::string data_, model_;
  static recurrent::testing::CmdResult train_;
};
fs::path MusicCli::dir_;
std::string MusicCli::data_, MusicCli::model_;
recurrent::testing::CmdResult MusicCli::train_;

}  // namespace

TEST_F(MusicCli, TrainWritesTheRunAndEvalAgreesWithItsResults) {
  ASSERT_EQ(train_.status, 0) << train_.out;
  EXPECT_NE(train_.out.find("test: NLL per step"), std::string::npos) << train_.out;
  for (const char* f : {"best.safetensors", "last.safetensors", "metrics.csv", "results.json"})
    EXPECT_TRUE(fs::exists(fs::path(model_) / f)) << f;
  std::ifstream rf(fs::path(model_) / "results.json");
  const nlohmann::json r = nlohmann::json::parse(rf);
  EXPECT_EQ(r.at("test").at("chorales"), 4);
  const auto e = run("eval --model " + model_ + " --data " + data_ + " --json");
  ASSERT_EQ(e.status, 0) << e.out;
  const nlohmann::json j = nlohmann::json::parse(last_line(e.out));
  EXPECT_EQ(j.at("split"), "test");
  EXPECT_NEAR(j.at("nll_per_step").get<double>(), r.at("test").at("nll_per_step").get<double>(), 1e-9);
  EXPECT_NEAR(j.at("frame_accuracy").get<double>(), r.at("test").at("frame_accuracy").get<double>(), 1e-12);
  EXPECT_GT(j.at("nll_per_step").get<double>(), 0.0);
  std::ifstream mf(fs::path(model_) / "metrics.csv");
  std::string header;
  std::getline(mf, header);
  EXPECT_EQ(header, "step,epoch,train_nll,valid_nll,valid_frame_accuracy,grad_norm,lr,elapsed_s");
}

TEST_F(MusicCli, SampleWritesAMidiFileOfTheNotesItPrints) {
  ASSERT_EQ(train_.status, 0) << train_.out;
  const std::string mid = (dir_ / "sample.mid").string();
  const std::string args = "sample --model " + model_ + " --steps 20 --prime-from test:1:3 --temperature 0.9 --seed 7";
  const auto printed = run(args);
  ASSERT_EQ(printed.status, 0) << printed.out;
  const auto wrote = run(args + " --out " + mid + " --tempo 60");
  ASSERT_EQ(wrote.status, 0) << wrote.out;
  EXPECT_NE(wrote.out.find("wrote " + mid + ": 23 steps (3 primed from test:1"), std::string::npos) << wrote.out;
  // The printed steps (one line of pitches each) and the file's notes, laid back on the step grid.
  std::vector<std::vector<int64_t>> steps;
  std::istringstream in(printed.out);
  for (std::string line; std::getline(in, line);) {
    std::istringstream ls(line);
    steps.emplace_back();
    for (int64_t p; ls >> p;) steps.back().push_back(p);
  }
  ASSERT_EQ(steps.size(), 23u);
  const recurrent::io::MidiFile f = recurrent::io::read_midi(mid);
  EXPECT_EQ(f.tempo, 1000000);  // 60 steps a minute
  EXPECT_EQ(recurrent::io::steps_from_notes(f.notes, f.ticks_per_quarter, 23), steps);
  EXPECT_EQ(f.notes, recurrent::io::notes_from_steps(steps, f.ticks_per_quarter));
  // The prime: the first 3 steps of test chorale 1.
  const recurrent::data::ChoraleSet set = recurrent::data::read_chorales(data_);
  const auto real = recurrent::data::roll_pitches(set.part(recurrent::data::ChoraleSplit::test)[1]);
  for (size_t t = 0; t < 3; ++t) EXPECT_EQ(steps[t], real[t]) << t;
}

TEST_F(MusicCli, BadInputIsOneClearError) {
  ASSERT_EQ(train_.status, 0) << train_.out;
  const std::string bad = (dir_ / "bad.json").string();
  std::ofstream(bad) << R"({"train": [[[60]]], "valid": [[[60, 12]]], "test": [[[60]]]})";
  auto r = run("train music --data " + bad + " --epochs 1 --out " + (dir_ / "bad-run").string());
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find(bad + ": valid[0]: step 0: pitch 12 is outside the piano range 21-108"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir_ / "bad-run" / "last.safetensors"));
  const std::string sample = "sample --model " + model_;
  r = run(sample + " --prime-from test:9");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("--prime-from: chorale 9 of 'test'"), std::string::npos) << r.out;
  r = run(sample + " --prime-from dev:1");
  EXPECT_NE(r.out.find("--prime-from: unknown split 'dev'"), std::string::npos) << r.out;
  r = run(sample + " --prime-from test");
  EXPECT_NE(r.out.find("expected SPLIT:INDEX[:STEPS]"), std::string::npos) << r.out;
  r = run(sample + " --top-k 5");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("--top-k: does not apply to a music model"), std::string::npos) << r.out;
  r = run(sample + " --temperature 0");
  EXPECT_NE(r.out.find("--temperature: a music model samples"), std::string::npos) << r.out;
  r = run("eval --model " + model_ + " --data " + data_ + " --beam 2");
  EXPECT_NE(r.out.find("this model is a music model"), std::string::npos) << r.out;
}

TEST_F(MusicCli, ResumeAfterMaxStepsEndsWhereAnUninterruptedRunEnds) {
  ASSERT_EQ(train_.status, 0) << train_.out;
  // 12 training chorales in batches of 4: 3 steps an epoch; stop inside epoch 2, then continue.
  const std::string part = (dir_ / "part").string();
  auto r = run("train music --data " + data_ + " --cell lstm --hidden 12 --epochs 3 --batch 4 --max-steps 4 --out " +
               part + " --threads 1 --quiet");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_FALSE(fs::exists(fs::path(part) / "results.json"));
  r = run("train music --resume " + part + " --max-steps 0 --threads 1 --quiet");
  ASSERT_EQ(r.status, 0) << r.out;
  auto test_nll = [](const std::string& dir) {
    std::ifstream f(fs::path(dir) / "results.json");
    return nlohmann::json::parse(f).at("test").at("nll_per_step").get<double>();
  };
  EXPECT_EQ(test_nll(part), test_nll(model_));  // the same seed, data, order and steps: bit for bit
}
