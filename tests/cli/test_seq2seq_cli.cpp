// `recurrent train seq2seq`, `translate` and `eval` on an encoder-decoder, through the binary:
// outputs, the --attention-out CSV, eval --json keys, and one-line errors for bad input files and
// options (each naming the file and line, or the option, and what was expected).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "recurrent/data/text_file.h"
#include "run_cli.h"
#include "temp_dir.h"

namespace fs = std::filesystem;
using recurrent::testing::CmdResult;
using recurrent::testing::run;

namespace {

// 40 English -> Spanish pairs of two counting words ("one two\tuno dos"), written to `path`.
void write_counting_pairs(const fs::path& path) {
  std::string pairs;
  const char* words[] = {"one", "two", "three", "four"};
  const char* palabras[] = {"uno", "dos", "tres", "cuatro"};
  for (int i = 0; i < 40; ++i) pairs += std::string(words[i % 4]) + " " + words[(i / 4) % 4] + "\t" + palabras[i % 4] + " " +
                                       palabras[(i / 4) % 4] + "\n";
  recurrent::data::write_file(path.string(), pairs);
}

TEST(Seq2SeqCli, TrainTranslateEvalAndAttentionCsv) {
  fs::path d = recurrent::testing::fresh_temp_dir("s2scli-ok");
  write_counting_pairs(d / "p.tsv");
  const std::string out = (d / "run").string();
  CmdResult r = run("train seq2seq --quiet --data " + (d / "p.tsv").string() + " --hidden 8 --embed 4 --epochs 2 --out " +
                    out + " --threads 1 --attention luong-general --bidirectional");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("test: BLEU"), std::string::npos) << r.out;
  for (const char* f : {"best.safetensors", "last.safetensors", "metrics.csv", "results.json"})
    EXPECT_TRUE(fs::exists(d / "run" / f)) << f;

  recurrent::data::write_file((d / "in.txt").string(), "One two\nthree\n");
  const std::string csv = (d / "att.csv").string();
  r = run("translate --model " + out + " --beam 3 --attention-out " + csv + " < " + (d / "in.txt").string());
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2) << r.out;
  const std::vector<std::string> rows = recurrent::data::read_lines(csv);
  ASSERT_GE(rows.size(), 2u);
  EXPECT_EQ(rows[0], "target\\source,one,two");
  EXPECT_EQ(rows.back().rfind("<eos>,", 0), 0u) << rows.back();  // the last row is <eos>
  double sum = 0;  // each row's weights sum to 1
  std::string row = rows[1].substr(rows[1].find(',') + 1);
  for (size_t a = 0; a < row.size();) {
    size_t b = row.find(',', a);
    if (b == std::string::npos) b = row.size();
    sum += std::stod(row.substr(a, b - a));
    a = b + 1;
  }
  EXPECT_NEAR(sum, 1.0, 1e-4);

  r = run("eval --model " + out + " --data " + (d / "p.tsv").string() + " --json");
  ASSERT_EQ(r.status, 0) << r.out;
  nlohmann::json j = nlohmann::json::parse(r.out);
  for (const char* k : {"bleu", "exact_match", "n", "loss", "perplexity"}) EXPECT_TRUE(j.contains(k)) << r.out;
  EXPECT_EQ(j.at("n").get<int64_t>(), 40);
  fs::remove_all(d);
}

// --arch transformer through the binary: train, translate (greedy and beam), eval, resume; and
// --attention-out refused for it with one line.
TEST(Seq2SeqCli, TransformerTrainTranslateEvalResume) {
  fs::path d = recurrent::testing::fresh_temp_dir("s2scli-tf");
  write_counting_pairs(d / "p.tsv");
  const std::string out = (d / "run").string();
  const std::string train = "train seq2seq --quiet --data " + (d / "p.tsv").string() +
                            " --arch transformer --layers 1 --heads 2 --d-model 8 --ff 16 --dropout 0.1 --warmup 2 "
                            "--threads 1 --out " + out;
  CmdResult r = run(train + " --max-steps 2");
  ASSERT_EQ(r.status, 0) << r.out;
  r = run("train seq2seq --quiet --resume " + out + " --epochs 2 --threads 1 --data " + (d / "p.tsv").string());
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("test: BLEU"), std::string::npos) << r.out;
  nlohmann::json res = nlohmann::json::parse(recurrent::data::read_file((d / "run" / "results.json").string()));
  EXPECT_EQ(res.at("arch"), "transformer");
  EXPECT_EQ(res.at("attention"), "multi-head");
  EXPECT_EQ(res.at("epochs_completed").get<int64_t>(), 2);

  recurrent::data::write_file((d / "in.txt").string(), "One two\nthree\n");
  for (const char* beam : {"1", "3"}) {
    r = run("translate --model " + out + " --beam " + beam + " < " + (d / "in.txt").string());
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2) << r.out;
  }
  r = run("translate --model " + out + " --attention-out " + (d / "a.csv").string() + " < " + (d / "in.txt").string());
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("--attention-out: only for --arch rnn models"), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  r = run("eval --model " + out + " --data " + (d / "p.tsv").string() + " --beam 2 --json");
  ASSERT_EQ(r.status, 0) << r.out;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("n").get<int64_t>(), 40);
  EXPECT_TRUE(j.contains("bleu")) << r.out;
  fs::remove_all(d);
}

TEST(Seq2SeqCli, OneLineErrors) {
  fs::path d = recurrent::testing::fresh_temp_dir("s2scli-err");
  auto w = [&](const char* name, const std::string& s) {
    recurrent::data::write_file((d / name).string(), s);
    return (d / name).string();
  };
  std::string good;
  for (int i = 0; i < 20; ++i) good += "a b\tc d\n";
  const std::string ok = w("ok.tsv", good);
  const std::string base = "train seq2seq --quiet --epochs 1 --hidden 4 --out " + (d / "x").string() + " --data ";
  const std::string tf = "train seq2seq --quiet --epochs 1 --arch transformer --out " + (d / "x").string() + " --data ";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {base + w("notab.tsv", "a\tb\nc d\n"), "notab.tsv:2: expected 'source<TAB>target', found no tab"},
      {base + w("tabs.tsv", "a\tb\tc\n"), "tabs.tsv:1: expected 'source<TAB>target' with exactly one tab"},
      {base + w("nosrc.tsv", "a\tb\n\tb\n"), "nosrc.tsv:2: expected 'source<TAB>target', the source is empty"},
      {base + w("empty.tsv", "\n"), "empty.tsv: no sentence pairs"},
      {base + ok + " --valid " + w("badvalid.tsv", "x\n"), "badvalid.tsv:1: expected 'source<TAB>target'"},
      {base + ok + " --max-len 1", "no training pairs with at most --max-len 1"},
      {base + ok + " --attention concat", "--attention: expected one of none, bahdanau, luong-dot, luong-general, got concat"},
      {base + ok + " --arch transformers", "--arch: expected one of rnn, transformer, got transformers"},
      {base + ok + " --arch transformer", "--hidden: is an RNN option; --arch transformer uses --heads"},
      {base + ok + " --heads 2", "--heads: is a transformer option (add --arch transformer)"},
      {tf + ok + " --heads 3 --d-model 8", "--d-model: expected a positive multiple of --heads 3, got 8"},
      {tf + ok + " --layers 0", "--layers: expected a positive integer, got 0"},
      {tf + ok + " --ff 0", "--ff: expected a positive integer, got 0"},
      {tf + ok + " --attention luong-dot", "--attention: is an RNN option"},
      {tf + ok + " --warmup -1", "--warmup: expected an integer >= 0, got -1"},
      {"train seq2seq --quiet --epochs 1 --hidden 5 --bidirectional --out " + (d / "x").string() + " --data " + ok,
       "--hidden: with --bidirectional"},
      {base + ok + " --cell lstmm", "--cell"},
      {"translate --model " + (d / "none").string(), "none"},
  };
  for (const auto& [args, want] : cases) {
    CmdResult e = run(args + " < /dev/null");
    EXPECT_NE(e.status, 0) << args;
    EXPECT_NE(e.out.find(want), std::string::npos) << args << "\n" << e.out;
    EXPECT_EQ(std::count(e.out.begin(), e.out.end(), '\n'), 1) << args << "\n" << e.out;
  }
  fs::remove_all(d);
}

}  // namespace
