// The label-conditioned sentence LM (tasks/condlm.h):
//  * on sentences whose words depend on the label (label a: words a0..a4, label b: b0..b4, 1 to 3
//    words), the conditioned model reaches a clearly lower held-out perplexity than the same network
//    trained without the condition (--no-condition), and its samples for a label use that label's words;
//  * the loss counts every target token once (<eos> included) and padding changes nothing;
//  * results.json and `eval --json` carry the unigram and bigram baselines of the training sentences, by hand;
//  * the CLI: train condlm, eval --json (perplexity), sample --condition, and one-line errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"
#include "recurrent/data/text_file.h"
#include "recurrent/tasks/condlm.h"
#include "run_cli.h"
#include "temp_dir.h"

using namespace recurrent;
using namespace recurrent::tasks;
namespace fs = std::filesystem;
using recurrent::testing::CmdResult;
using recurrent::testing::run;

namespace {

std::string grouped_tsv(const fs::path& file, int n, uint64_t seed) {
  Rng r(seed);
  std::string s;
  for (int i = 0; i < n; ++i) {
    const std::string lab = r.below(2) == 0 ? "a" : "b";
    s += lab + "\t";
    const int len = 1 + static_cast<int>(r.below(3));
    for (int k = 0; k < len; ++k) {
      s += (k ? " " : "") + lab;
      s += std::to_string(r.below(5));
    }
    s += "\n";
  }
  data::write_file(file.string(), s);
  return file.string();
}

CondLmTrainOptions small_opts_condlm(const std::string& data, const fs::path& out) {
  CondLmTrainOptions o;
  o.data = data;
  o.out = out.string();
  o.hidden = "16";
  o.embed = 8;
  o.label_embed = 4;
  o.batch = 16;
  o.epochs = 8;
  o.lr = 1e-2;
  o.quiet = true;
  o.seed = 3;
  return o;
}

double test_ppl(const fs::path& out) {
  return nlohmann::json::parse(data::read_file((out / "results.json").string())).at("test").at("perplexity").get<double>();
}

TEST(CondLm, ConditionLowersHeldOutPerplexityAndSamplesFollowTheLabel) {
  set_num_threads(1);
  fs::path d = recurrent::testing::fresh_temp_dir("condlm-groups");
  const std::string data = grouped_tsv(d / "g.tsv", 600, 31);
  CondLmTrainOptions c = small_opts_condlm(data, d / "cond");
  ASSERT_EQ(train_condlm(c), CondLmOutcome::finished);
  CondLmTrainOptions u = small_opts_condlm(data, d / "uncond");
  u.conditioned = false;
  ASSERT_EQ(train_condlm(u), CondLmOutcome::finished);
  const double pc = test_ppl(d / "cond"), pu = test_ppl(d / "uncond");
  // Per sentence (mean 2 words + <eos> = 3 targets): the first word costs ln 5 with the label and
  // ln 10 without, the rest is the same; ideal ppl ≈ exp((ln5 + ln5 + ln(3/2)... )/3). We only need
  // a clear gap: ln 2 per sentence ≈ 0.23 nats per token → ratio ≈ 0.79.
  EXPECT_LT(pc, 0.9 * pu) << pc << " vs " << pu;
  auto m = load_condlm((d / "cond").string());
  for (const char* lab : {"a", "b"}) {
    CondSampleOptions so;
    so.condition = lab;
    so.sentences = 20;
    int64_t words = 0, right = 0;
    for (const std::string& s : sample_condlm(*m, so)) {
      size_t a = 0;
      while (a < s.size()) {
        size_t b = s.find(' ', a);
        if (b == std::string::npos) b = s.size();
        ++words, right += s[a] == lab[0];
        a = b + 1;
      }
    }
    EXPECT_GT(words, 10) << lab;
    EXPECT_GE(static_cast<double>(right) / static_cast<double>(words), 0.9) << lab;
  }
  fs::remove_all(d);
}

TEST(CondLm, EvaluationCountsEveryTargetOnceAndIgnoresPadding) {
  CondLmConfig c;
  c.vocab = data::Vocab(data::TokenLevel::words, {"<unk>", "<eos>", "x", "y"}, false);
  c.labels = {"a", "b"};
  c.embed = 4;
  c.label_embed = 2;
  c.layers = {{CellType::gru, 5, 0}};
  Rng rng(9);
  CondLanguageModel m(c, rng);
  const CondSentence s1 = m.encode("a", "x", "t"), s2 = m.encode("b", "y x y zz", "t");
  EXPECT_EQ(s1.ids, (std::vector<int64_t>{1, 2, 1}));
  EXPECT_EQ(s2.ids, (std::vector<int64_t>{1, 3, 2, 3, 0, 1}));  // zz unseen → <unk>
  const CondLmEval one = evaluate_condlm(m, {s1}), two = evaluate_condlm(m, {s2}), both = evaluate_condlm(m, {s1, s2});
  EXPECT_EQ(one.tokens, 2);
  EXPECT_EQ(both.tokens, 7);
  EXPECT_NEAR(both.loss_nats * 7, one.loss_nats * 2 + two.loss_nats * 5, 1e-4);
  EXPECT_THROW(m.encode("c", "x", "t"), Error);
}

TEST(CondLm, ResultsCarryTheNgramBaselinesComputedByHand) {
  set_num_threads(1);
  const fs::path d = recurrent::testing::fresh_temp_dir("condlm-baselines");
  // Training stream <eos> x y <eos> y <eos>: N = 6 tokens, counts <eos> 3, x 1, y 2; V = 4 (<unk>, <eos>, x, y).
  data::write_file((d / "train.tsv").string(), "a\tx y\nb\ty\n");
  data::write_file((d / "valid.tsv").string(), "a\tx\n");    // targets x, <eos>
  data::write_file((d / "test.tsv").string(), "b\ty y\n");   // targets y, y, <eos>
  CondLmTrainOptions o = small_opts_condlm((d / "train.tsv").string(), d / "run");
  o.valid = (d / "valid.tsv").string(), o.test = (d / "test.tsv").string(), o.epochs = 1;
  ASSERT_EQ(train_condlm(o), CondLmOutcome::finished);
  const nlohmann::json r = nlohmann::json::parse(data::read_file((d / "run" / "results.json").string()));
  ASSERT_EQ(r.at("vocabulary").get<int64_t>(), 4);
  const nlohmann::json& b = r.at("baselines");
  // Add-one unigram: P(w) = (c(w) + 1) / (N + V) = (c(w) + 1) / 10.
  EXPECT_NEAR(b["valid"]["unigram"]["loss_nats"].get<double>(), -(std::log(0.2) + std::log(0.4)) / 2, 1e-12);
  EXPECT_NEAR(b["test"]["unigram"]["loss_nats"].get<double>(), -(2 * std::log(0.3) + std::log(0.4)) / 3, 1e-12);
  EXPECT_NEAR(b["test"]["unigram"]["perplexity"].get<double>(), std::exp(-(2 * std::log(0.3) + std::log(0.4)) / 3), 1e-9);
  EXPECT_NEAR(b["test"]["unigram"]["bits_per_token"].get<double>(), -(2 * std::log2(0.3) + std::log2(0.4)) / 3, 1e-12);
  // Bigram, Jelinek–Mercer with the reported λ: c(<eos>·) = 2 (<eos>→x, <eos>→y), c(x·) = 1 (x→y), c(y·) = 2 (y→<eos> twice).
  const double l = b["bigram_lambda"].get<double>();
  const double px = l * 1 / 2 + (1 - l) * 0.2, pe_x = (1 - l) * 0.4;  // valid: x | <eos>, <eos> | x
  EXPECT_NEAR(b["valid"]["bigram"]["loss_nats"].get<double>(), -(std::log(px) + std::log(pe_x)) / 2, 1e-12);
  const double py = l * 1 / 2 + (1 - l) * 0.3, py_y = (1 - l) * 0.3, pe_y = l * 2 / 2 + (1 - l) * 0.4;  // test
  EXPECT_NEAR(b["test"]["bigram"]["loss_nats"].get<double>(), -(std::log(py) + std::log(py_y) + std::log(pe_y)) / 3, 1e-12);
  // λ is the grid's best on validation (here the smallest: <eos> never follows x in training).
  EXPECT_DOUBLE_EQ(l, 0.5);
  // eval --json scores the baselines stored with the model on any file: the test file's figures again.
  const CmdResult e = run("eval --model " + (d / "run").string() + " --data " + (d / "test.tsv").string() + " --json");
  ASSERT_EQ(e.status, 0) << e.out;
  const nlohmann::json j = nlohmann::json::parse(e.out);
  ASSERT_TRUE(j.contains("baselines")) << e.out;
  EXPECT_NEAR(j["baselines"]["unigram"]["loss_nats"].get<double>(), -(2 * std::log(0.3) + std::log(0.4)) / 3, 1e-6);
  EXPECT_NEAR(j["baselines"]["bigram"]["loss_nats"].get<double>(), -(std::log(py) + std::log(py_y) + std::log(pe_y)) / 3, 1e-6);
  EXPECT_DOUBLE_EQ(j["baselines"]["bigram_lambda"].get<double>(), 0.5);
  EXPECT_NEAR(j["baselines"]["bigram"]["bits_per_token"].get<double>(), -(std::log2(py) + std::log2(py_y) + std::log2(pe_y)) / 3, 1e-6);
  fs::remove_all(d);
}

TEST(CondLmCli, TrainEvalSampleAndOneLineErrors) {
  fs::path d = recurrent::testing::fresh_temp_dir("condlm-cli");
  const std::string data = grouped_tsv(d / "g.tsv", 100, 32);
  const std::string out = (d / "run").string();
  CmdResult r = run("train condlm --quiet --data " + data + " --hidden 8 --epochs 1 --out " + out + " --threads 1");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("test: perplexity"), std::string::npos) << r.out;
  r = run("eval --model " + out + " --data " + data + " --json");
  ASSERT_EQ(r.status, 0) << r.out;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j.contains("perplexity")) << r.out;
  EXPECT_EQ(j.at("sentences").get<int64_t>(), 100);
  EXPECT_GT(j.at("perplexity").get<double>(), 1.0);
  r = run("sample --model " + out + " --condition b --sentences 3 --seed 2");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3) << r.out;

  data::write_file((d / "one.tsv").string(), "a\tx y\na\ty\n");
  data::write_file((d / "empty.tsv").string(), "\n");
  data::write_file((d / "notab.tsv").string(), "a\tx\nb y\n");
  data::write_file((d / "unseen.tsv").string(), "a\ta1\nz\ta2\n");
  const std::string base = "train condlm --quiet --epochs 1 --hidden 4 --out " + (d / "x").string();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {base + " --data " + (d / "one.tsv").string(), "single class ('a')"},
      {base + " --data " + (d / "empty.tsv").string(), "the training data is empty"},
      {base + " --data " + (d / "notab.tsv").string(), "notab.tsv:2: expected 'label<TAB>text'"},
      {base + " --data " + data + " --test " + (d / "unseen.tsv").string(), "unseen.tsv:2: label 'z' does not occur"},
      {"eval --model " + out + " --data " + (d / "unseen.tsv").string(), "unseen.tsv:2: label 'z' does not occur"},
      {"sample --model " + out + " --condition news", "--condition: label 'news' does not occur in the training data"},
  };
  for (const auto& [args, want] : cases) {
    CmdResult e = run(args);
    EXPECT_NE(e.status, 0) << args;
    EXPECT_NE(e.out.find(want), std::string::npos) << args << "\n" << e.out;
    EXPECT_EQ(std::count(e.out.begin(), e.out.end(), '\n'), 1) << args << "\n" << e.out;
  }
  fs::remove_all(d);
}

}  // namespace
