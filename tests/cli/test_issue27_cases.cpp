// Cases of issue 27's list that no other test covered, each re-run through the binary (docs/cli.md, "The
// issue-27 cases", maps every case of the list to its test). Refusals are one line naming the option or
// file and a non-zero exit; what used to be wrong now behaves as documented.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "recurrent/data/text_file.h"
#include "recurrent/io/safetensors.h"
#include "run_cli.h"

namespace fs = std::filesystem;
using recurrent::testing::CmdResult;
using recurrent::testing::run;

namespace {

const std::string kMoby = std::string(RECURRENT_TEST_DATA) + "/lm/moby_train.txt";

class Issue27 : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("recurrent-i27-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
            std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  // A tiny char LM (a few steps: what it predicts does not matter here).
  std::string lm() const {
    const CmdResult r = run("train lm --data " + kMoby + " --hidden 8 --layers 1 --max-steps 3 --quiet --threads 1 "
                            "--out " + path("lm"));
    EXPECT_EQ(r.status, 0) << r.out;
    return path("lm");
  }
  // One line containing `want`, a non-zero exit, and no folder `out` (when given).
  static void expect_refused(const std::string& args, const std::string& want) {
    const CmdResult r = run(args + " --threads 1 < /dev/null");
    EXPECT_NE(r.status, 0) << args << "\n" << r.out;
    EXPECT_EQ(r.out.rfind("recurrent: error: ", 0), 0u) << args << "\n" << r.out;
    EXPECT_NE(r.out.find(want), std::string::npos) << args << "\n  expected: " << want << "\n  got: " << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << args << "\n" << r.out;
  }
  fs::path dir_;
};

// Item 4: gradlab/experiment take train's names (--cell, --max-steps) beside their old ones, and
// --time-budget with units (`--time-budget 20s` was "Value 20s not in range …", then "Could not convert").
TEST_F(Issue27, LabsTakeTheSharedNamesAndDurations) {
  const std::string tiny = " --T 10 --hidden 4 --batch 2 --eval-every 1 --eval-size 2 --clip 0 --json --threads 1";
  for (const std::string& args :
       {"experiment adding --cell lstm --max-steps 2 --time-budget 20s --no-plots --out " + path("e1") + tiny,
        "experiment adding --cells lstm --steps 2 --time-budget 0.5m --no-plots --out " + path("e2") + tiny,
        "gradlab train --task adding --cell gru --max-steps 2 --time-budget 1m --out " + path("g1") + tiny}) {
    const CmdResult r = run(args);
    ASSERT_EQ(r.status, 0) << args << "\n" << r.out;
    const nlohmann::json j = nlohmann::json::parse(r.out.substr(0, r.out.find('\n')));
    EXPECT_EQ(j.at("steps").get<int>(), 2) << args;
  }
  const CmdResult t = run("gradlab transformer --task adding --T 10 --layers 1 --d-model 8 --heads 2 --ff 8 "
                          "--batch 2 --max-steps 2 --eval-every 1 --eval-size 2 --time-budget 20s --json --threads 1 "
                          "--out " + path("t1"));
  EXPECT_EQ(t.status, 0) << t.out;
}

// Item 5: sample options that do not apply to a plain LM, or to --beam, are refused, not ignored; item 9:
// --temperature 0 is greedy (the same text as --greedy and --top-k 1); NaN weights are refused, not
// sampled from (they printed one token over and over).
TEST_F(Issue27, SampleRefusesWhatDoesNotApplyAndTemperatureZeroIsGreedy) {
  const std::string m = lm();
  expect_refused("sample --model " + m + " --sentences 3", "--sentences: applies to a conditional LM");
  expect_refused("sample --model " + m + " --beam 3 --temperature 0.5",
                 "--temperature: applies to sampling; --beam searches deterministically");
  const CmdResult zero = run("sample --model " + m + " --temperature 0 --length 30 --threads 1");
  const CmdResult greedy = run("sample --model " + m + " --greedy --length 30 --threads 1");
  const CmdResult top1 = run("sample --model " + m + " --top-k 1 --length 30 --seed 9 --threads 1");
  ASSERT_EQ(zero.status, 0) << zero.out;
  EXPECT_EQ(zero.out, greedy.out);
  EXPECT_EQ(zero.out, top1.out);

  const recurrent::io::SafeTensors st = recurrent::io::read_safetensors(m + "/last.safetensors");
  recurrent::io::NamedRawTensors raw;
  recurrent::io::NamedTensors f32;
  for (const std::string& name : st.names()) {
    if (name == "model.rnn.weight_hh_l0") {
      recurrent::Tensor w = st.get_f32(name);
      w.data()[1] = std::numeric_limits<float>::quiet_NaN();
      f32.emplace_back(name, w);
    } else {
      raw.emplace_back(name, st.raw_tensor(name));
    }
  }
  ASSERT_EQ(f32.size(), 1u);
  fs::create_directories(path("nan"));
  recurrent::io::write_safetensors(path("nan/last.safetensors"), f32, st.metadata(), {}, raw);
  expect_refused("sample --model " + path("nan") + " --length 5", "weight tensor 'rnn.weight_hh_l0' holds NaN");
}

// Item 5: word-level options at character level, --patience with --decay-start, folds with given
// valid/test files: refused with the reason, before any folder is made.
TEST_F(Issue27, OptionsThatDoNotApplyToTheRunAreRefused) {
  const std::string lm = "train lm --data " + kMoby + " --out " + path("x");
  for (const char* opt : {"--lower", "--max-vocab 100", "--min-count 2"})
    expect_refused(lm + " " + opt, std::string(opt).substr(0, std::string(opt).find(' ')) +
                                       ": applies to --level word (this is a character model)");
  expect_refused(lm + " --patience 2 --decay-start 3", "--patience: applies to the decay on plateau; --decay-start");
  const std::string tsv = path("c.tsv");
  recurrent::data::write_file(tsv, "1\tgood\n0\tbad\n1\tfine\n0\tawful\n");
  const std::string cls = "train classify --data " + tsv + " --out " + path("x");
  expect_refused(cls + " --fold 1 --valid " + tsv, "--fold: splits --data into folds; with --valid/--test");
  expect_refused(cls + " --folds 5 --test " + tsv, "--folds: splits --data into folds; with --valid/--test");
  EXPECT_FALSE(fs::exists(path("x")));
}

// Item 7: experiment checks its lists and optimizer before it makes its folder (it left four header-only
// CSVs behind).
TEST_F(Issue27, ExperimentChecksEverythingBeforeItsFolder) {
  const std::string base = "experiment adding --T 10 --max-steps 1 --no-plots --out " + path("e");
  expect_refused(base + " --cells lstm,bogus", "--cell: expected a comma list of");
  expect_refused(base + " --clip 1,x", "--clip: expected a number >= 0 or a comma list of them, got 1,x");
  expect_refused(base + " --inits foo", "--inits: expected a comma list of pytorch");
  expect_refused(base + " --optimizer foo", "--optimizer: expected one of adam, rmsprop, sgd, got foo");
  expect_refused(base + " --lr 0", "--lr: expected a number > 0, got 0");
  EXPECT_FALSE(fs::exists(path("e")));
}

// Item 7: a constant series (no MASE scale) is refused before training, not at the first validation
// (an epoch later; with --max-steps before the first epoch's end it even saved a run no resume could finish).
TEST_F(Issue27, ForecastOnAConstantSeriesIsRefusedBeforeTraining) {
  std::string csv = "t,y\n";
  for (int i = 0; i < 120; ++i) csv += std::to_string(i) + ",5\n";
  recurrent::data::write_file(path("const.csv"), csv);
  for (const char* budget : {"--epochs 1", "--max-steps 3"})
    expect_refused("train forecast --data " + path("const.csv") + " --column y --hidden 4 --quiet --out " + path("f") +
                       " " + budget,
                   path("const.csv") + ": the training part has no two consecutive different values");
  EXPECT_FALSE(fs::exists(path("f")));
}

// Item 8: a file given as --out is named (a raw "filesystem error" before), and so is a missing folder of
// predict's --plot/--out (a 30-line Python traceback for --plot).
TEST_F(Issue27, OutputPathsAreNamed) {
  recurrent::data::write_file(path("file"), "x\n");
  expect_refused("train lm --data " + kMoby + " --max-steps 1 --out " + path("file"),
                 "--out: " + path("file") + " is a file; expected a folder");
  std::string csv = "t,y\n";
  for (int i = 0; i < 200; ++i) csv += std::to_string(i) + "," + std::to_string(i % 7) + "\n";
  recurrent::data::write_file(path("s.csv"), csv);
  const CmdResult t = run("train forecast --data " + path("s.csv") + " --column y --hidden 4 --max-steps 2 --quiet "
                          "--threads 1 --out " + path("f"));
  ASSERT_EQ(t.status, 0) << t.out;
  expect_refused("predict --model " + path("f") + " --data " + path("s.csv") + " --plot " + path("no/x.png"),
                 "--plot: the folder " + path("no") + " does not exist (create it first)");
  expect_refused("predict --model " + path("f") + " --data " + path("s.csv") + " --out " + path("no/x.csv"),
                 "--out: the folder " + path("no") + " does not exist");
}

// Item 8: a folder where a file is expected is named ("basic_filebuf::underflow error" before).
TEST_F(Issue27, AFolderGivenForAFileIsNamed) {
  const std::string m = lm();
  fs::create_directories(path("folder"));
  expect_refused("eval --model " + m + " --data " + path("folder"), path("folder") + ": is a directory, expected a file");
  expect_refused("predict --model " + m + " --input " + path("folder"), path("folder") + ": is a directory, expected a file");
  expect_refused("train lm --data " + path("folder"), "--data: expected an existing file, got " + path("folder"));
}

// Item 9: inspect takes a model folder like every other command; help texts say what is true; the epoch
// line says its train figure is a moving average (metrics.csv holds interval means).
TEST_F(Issue27, InspectHelpAndEpochLinesSayWhatIsTrue) {
  const std::string m = lm();
  const CmdResult in = run("inspect " + m);
  EXPECT_EQ(in.status, 0) << in.out;
  EXPECT_NE(in.out.find("last.safetensors"), std::string::npos) << in.out;
  EXPECT_NE(in.out.find("model.rnn.weight_hh_l0"), std::string::npos) << in.out;

  const CmdResult help = run("train lm --help");
  EXPECT_NE(help.out.find("--diagnostics [N]"), std::string::npos) << help.out;
  EXPECT_EQ(help.out.find("--diagnostics INT"), std::string::npos) << "reads as on by default";
  EXPECT_NE(help.out.find("off without it"), std::string::npos);
  const CmdResult train = run("train --help");
  const size_t at = train.out.find("\n  lm ");
  ASSERT_NE(at, std::string::npos) << train.out;
  EXPECT_NE(train.out.substr(at, train.out.find('\n', at + 1) - at).find("transformer"), std::string::npos) << train.out;

  const CmdResult ep = run("train lm --data " + kMoby + " --hidden 8 --layers 1 --seq-len 50 --batch 64 --epochs 1 "
                           "--log-every 0 --threads 1 --out " + path("ep"));
  ASSERT_EQ(ep.status, 0) << ep.out;
  EXPECT_NE(ep.out.find("epoch 1  step "), std::string::npos) << ep.out;
  EXPECT_NE(ep.out.find(" bits/char (moving avg)  valid "), std::string::npos) << ep.out;
}

}  // namespace
