// Text classification end to end (tasks/classify.h):
//  * a synthetic task whose answer is known (positive iff the sentence holds the keyword "great", at
//    any position among random filler words) is learned to >= 95% test accuracy by a small BiLSTM
//    (last-state pooling) and a GRU (mean pooling); an untrained model of the same shape stays near
//    chance (the control shows the test can fail);
//  * padding a sentence into a batch with a longer one does not change its logits (lengths support);
//  * an interrupted and resumed run ends with the same weights as an uninterrupted one;
//  * tokens, metrics, and bad inputs through the CLI: one-line errors naming file and line.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"
#include "recurrent/data/text_file.h"
#include "recurrent/io/safetensors.h"
#include "recurrent/tasks/classify.h"
#include "run_cli.h"

using namespace recurrent;
using namespace recurrent::tasks;
namespace fs = std::filesystem;

namespace {

fs::path tmpdir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("recurrent-cls-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

using recurrent::testing::CmdResult;
using recurrent::testing::run;

// n sentences of 4..10 filler words w0..w19; a random half hold "great" at a random position and
// are labelled pos, the others neg (random, so every positional split holds both classes).
std::string keyword_tsv(const fs::path& file, int n, uint64_t seed) {
  Rng r(seed);
  std::string s;
  for (int i = 0; i < n; ++i) {
    const bool pos = r.below(2) == 0;
    const int len = 4 + static_cast<int>(r.below(7));
    const int at = static_cast<int>(r.below(static_cast<uint64_t>(len)));
    std::string t;
    for (int k = 0; k < len; ++k) {
      if (!t.empty()) t += ' ';
      if (pos && k == at) {
        t += "Great";
      } else {  // appended piecewise: GCC 12 warns (-Wrestrict) falsely on "w" + std::to_string(..)
        t += 'w';
        t += std::to_string(r.below(20));
      }
    }
    s += std::string(pos ? "pos" : "neg") + "\t" + t + (i % 3 == 0 ? "." : "") + "\n";
  }
  data::write_file(file.string(), s);
  return file.string();
}

ClassifyTrainOptions small_opts(const std::string& data, const fs::path& out) {
  ClassifyTrainOptions o;
  o.data = {data};
  o.out = out.string();
  o.hidden = "16";
  o.embed = 8;
  o.batch = 16;
  o.epochs = 6;
  o.lr = 1e-2;
  o.quiet = true;
  o.seed = 3;
  // The mechanics under test, not the defaults (docs/defaults.md): one direction, last state, no dropout.
  o.bidirectional = false, o.pool = "last", o.dropout = 0.0, o.word_dropout = 0.0;
  return o;
}

double test_accuracy(const fs::path& out) {
  return nlohmann::json::parse(data::read_file((out / "results.json").string())).at("test").at("accuracy").get<double>();
}

TEST(ClassifyTokens, WordsPunctuationAndChars) {
  EXPECT_EQ(classify_tokens("Don't stop, OK!", false, true, "t"),
            (std::vector<std::string>{"don't", "stop", ",", "ok", "!"}));
  EXPECT_EQ(classify_tokens("'Tis café", false, false, "t"), (std::vector<std::string>{"'", "Tis", "café"}));
  EXPECT_EQ(classify_tokens("aé", true, true, "t"), (std::vector<std::string>{"a", "é"}));
}

TEST(ClassifyMetrics, AccuracyMacroF1AndConfusion) {
  // gold 0 0 1 1 2, pred 0 1 1 1 0: class 0 tp1 fp1 fn1 → 0.5; class 1 tp2 fp1 fn0 → 0.8; class 2 → 0.
  ClassifyEval e = classification_metrics({0, 0, 1, 1, 2}, {0, 1, 1, 1, 0}, 3);
  EXPECT_DOUBLE_EQ(e.accuracy, 0.6);
  EXPECT_NEAR(e.macro_f1, (0.5 + 0.8 + 0.0) / 3, 1e-12);
  EXPECT_EQ(e.confusion[2][0], 1);
  EXPECT_EQ(e.confusion[0][1], 1);
}

TEST(Classify, BiLstmLearnsTheKeywordTaskAndUntrainedDoesNot) {
  set_num_threads(1);
  fs::path d = tmpdir("keyword");
  const std::string data = keyword_tsv(d / "kw.tsv", 600, 11);
  ClassifyTrainOptions o = small_opts(data, d / "run");
  o.bidirectional = true;
  ASSERT_EQ(train_classifier(o), ClassifyOutcome::finished);
  EXPECT_GE(test_accuracy(d / "run"), 0.95);
  for (const char* f : {"best.safetensors", "last.safetensors", "metrics.csv", "results.json"})
    EXPECT_TRUE(fs::exists(d / "run" / f)) << f;

  // Control: the same architecture untrained, on the same held-out sentences (every 10th from 9).
  auto trained = load_classifier((d / "run").string());
  Rng rng(5);
  TextClassifier untrained(trained->config(), rng);
  std::vector<std::vector<int64_t>> seqs;
  std::vector<int64_t> labels;
  const data::LabeledSet all = data::read_labeled(data);
  int64_t npos = 0;
  for (size_t i = 9; i < all.items.size(); i += 10) {
    npos += all.items[i].label == "pos";
    seqs.push_back(trained->encode(all.items[i].text, "kw"));
    labels.push_back(all.items[i].label == "pos" ? 1 : 0);
  }
  ASSERT_GT(npos, 15);  // both classes well represented: a constant prediction cannot pass
  ASSERT_LT(npos, 45);
  EXPECT_GE(evaluate_classifier(*trained, seqs, labels).accuracy, 0.95);
  EXPECT_LT(evaluate_classifier(untrained, seqs, labels).accuracy, 0.8);
  fs::remove_all(d);
}

TEST(Classify, GruWithMeanPoolingLearnsTheKeywordTask) {
  set_num_threads(1);
  fs::path d = tmpdir("gru");
  ClassifyTrainOptions o = small_opts(keyword_tsv(d / "kw.tsv", 600, 12), d / "run");
  o.cells = "gru";
  o.pool = "mean";
  ASSERT_EQ(train_classifier(o), ClassifyOutcome::finished);
  EXPECT_GE(test_accuracy(d / "run"), 0.95);
  fs::remove_all(d);
}

TEST(Classify, PaddingInABatchDoesNotChangeLogits) {
  for (const char* pool : {"last", "mean"}) {
    ClassifierConfig c;
    c.vocab = {"<unk>", "a", "b", "c"};
    c.labels = {"x", "y", "z"};
    c.embed = 4;
    c.layers = {{CellType::lstm, 5, 0}, {CellType::gru, 3, 0}};
    c.bidirectional = true;
    c.pooling = parse_pooling(pool);
    Rng rng(7);
    TextClassifier m(c, rng);
    m.eval();
    const std::vector<int64_t> s1 = {1, 2}, s2 = {3, 1, 2, 2, 3, 1};
    Tensor alone = m.forward({&s1}).value().clone();
    Tensor both = m.forward({&s2, &s1}).value().clone();
    for (int k = 0; k < 3; ++k) EXPECT_NEAR(alone.data()[k], both.data()[3 + k], 1e-5) << pool;
  }
}

TEST(Classify, InterruptedAndResumedEqualsUninterrupted) {
  set_num_threads(1);
  fs::path d = tmpdir("resume");
  const std::string data = keyword_tsv(d / "kw.tsv", 200, 13);
  ClassifyTrainOptions a = small_opts(data, d / "a");
  a.epochs = 3;
  a.dropout = 0.2;
  ASSERT_EQ(train_classifier(a), ClassifyOutcome::finished);
  ClassifyTrainOptions b = a;
  b.out = (d / "b").string();
  b.max_steps = 13;  // mid-epoch 2 (10 batches per epoch)
  ASSERT_EQ(train_classifier(b), ClassifyOutcome::stopped);
  b.resume = b.out;
  b.max_steps = 0;
  ASSERT_EQ(train_classifier(b), ClassifyOutcome::finished);
  io::SafeTensors la = io::read_safetensors((d / "a" / "last.safetensors").string());
  io::SafeTensors lb = io::read_safetensors((d / "b" / "last.safetensors").string());
  ASSERT_EQ(la.names(), lb.names());
  for (const std::string& n : la.names()) {
    Tensor x = la.get_f32(n), y = lb.get_f32(n);
    ASSERT_EQ(x.numel(), y.numel()) << n;
    for (int64_t i = 0; i < x.numel(); ++i) ASSERT_EQ(x.data()[i], y.data()[i]) << n << "[" << i << "]";
  }
  fs::remove_all(d);
}

TEST(ClassifyCli, TrainEvalJsonAndOneLineErrors) {
  fs::path d = tmpdir("cli");
  const std::string data = keyword_tsv(d / "kw.tsv", 100, 14);
  const std::string out = (d / "run").string();
  CmdResult r = run("train classify --quiet --data " + data + " --hidden 8 --epochs 1 --out " + out + " --threads 1");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("test: accuracy"), std::string::npos) << r.out;
  r = run("eval --model " + out + " --data " + data + " --json");
  ASSERT_EQ(r.status, 0) << r.out;
  nlohmann::json j = nlohmann::json::parse(r.out);
  for (const char* k : {"accuracy", "macro_f1", "n", "loss"}) EXPECT_TRUE(j.contains(k)) << r.out;
  EXPECT_EQ(j.at("n").get<int64_t>(), 100);

  data::write_file((d / "notab.tsv").string(), "pos\tgood\nneg bad\n");
  data::write_file((d / "one.tsv").string(), "pos\tgood\npos\tfine\n");
  data::write_file((d / "empty.tsv").string(), "\n");
  data::write_file((d / "unseen.tsv").string(), "pos\tgood\nmeh\tso so\n");
  data::write_file((d / "bad.jsonl").string(), "{\"text\": \"a\", \"label\": \"pos\"}\n{oops}\n");
  const std::string base = "train classify --quiet --epochs 1 --hidden 4 --out " + (d / "x").string();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {base + " --data " + (d / "notab.tsv").string(), "notab.tsv:2: expected 'label<TAB>text'"},
      {base + " --data " + (d / "one.tsv").string(), "single class ('pos')"},
      {base + " --data " + (d / "empty.tsv").string(), "the training data is empty"},
      {base + " --data " + data + " --test " + (d / "unseen.tsv").string(), "unseen.tsv:2: label 'meh' does not occur"},
      {base + " --data " + (d / "bad.jsonl").string(), "bad.jsonl:2: expected one JSON object per line"},
      {base + " --data " + data + " --pool min", "--pool: expected one of last, mean, max, got min"},
      {base + " --data " + data + " --level byte", "--level: expected one of word, char, got byte"},
      {"eval --model " + out + " --data " + (d / "unseen.tsv").string(), "label 'meh' does not occur"},
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
