// The baselines printed beside every result (tasks/baselines.h):
//  * majority class: the most frequent label, ties to the lowest id;
//  * bag of n-grams: learns a keyword task, and a task that only bigrams can solve (the same words in two
//    orders: identical unigram bags, so the test fails if bigrams are not used);
//    the tensors written to a checkpoint give back the same predictions;
//  * through the CLI: `train classify` stores them, prints them, and `eval --json` scores them on another
//    file; the majority figures are checked against a hand computation.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "recurrent/core/error.h"
#include "recurrent/core/rng.h"
#include "recurrent/data/text_file.h"
#include "recurrent/tasks/baselines.h"
#include "recurrent/tasks/classify.h"
#include "recurrent/tasks/lm.h"
#include "run_cli.h"

using namespace recurrent;
using namespace recurrent::tasks;
namespace fs = std::filesystem;

namespace {

double accuracy(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  double right = 0;
  for (size_t i = 0; i < a.size(); ++i) right += a[i] == b[i];
  return right / static_cast<double>(a.size());
}

// Sentences of 3..8 filler ids 2..11; label 1 iff the sentence holds id 1 (at a random place).
void keyword_set(int n, uint64_t seed, std::vector<std::vector<int64_t>>& x, std::vector<int64_t>& y) {
  Rng r(seed);
  for (int i = 0; i < n; ++i) {
    const int64_t len = 3 + static_cast<int64_t>(r.below(6)), label = static_cast<int64_t>(r.below(2));
    std::vector<int64_t> s;
    for (int64_t t = 0; t < len; ++t) s.push_back(2 + static_cast<int64_t>(r.below(10)));
    if (label) s[r.below(static_cast<uint64_t>(len))] = 1;
    x.push_back(s), y.push_back(label);
  }
}

// "… 1 2 …" (label 1) or "… 2 1 …" (label 0): the same unigrams, only the bigram tells.
void order_set(int n, uint64_t seed, std::vector<std::vector<int64_t>>& x, std::vector<int64_t>& y) {
  Rng r(seed);
  for (int i = 0; i < n; ++i) {
    const int64_t label = static_cast<int64_t>(r.below(2));
    std::vector<int64_t> s = {3 + static_cast<int64_t>(r.below(5))};
    s.push_back(label ? 1 : 2), s.push_back(label ? 2 : 1);
    s.push_back(3 + static_cast<int64_t>(r.below(5)));
    x.push_back(s), y.push_back(label);
  }
}

}  // namespace

TEST(Baselines, MajorityLabelTiesGoToTheLowestId) {
  EXPECT_EQ(majority_label({2, 1, 2, 0}, 3), 2);
  EXPECT_EQ(majority_label({1, 0, 0, 1}, 2), 0);
  EXPECT_EQ(majority_label({1}, 4), 1);
}

TEST(Baselines, BagOfNgramsLearnsAKeywordAndUsesBigrams) {
  std::vector<std::vector<int64_t>> xtr, xva, xte;
  std::vector<int64_t> ytr, yva, yte;
  keyword_set(400, 1, xtr, ytr), keyword_set(100, 2, xva, yva), keyword_set(200, 3, xte, yte);
  const BowClassifier kw = BowClassifier::fit(xtr, ytr, xva, yva, 12, 2);
  EXPECT_GE(accuracy(kw.predict(xte), yte), 0.97);

  xtr.clear(), ytr.clear(), xva.clear(), yva.clear(), xte.clear(), yte.clear();
  order_set(300, 4, xtr, ytr), order_set(100, 5, xva, yva), order_set(200, 6, xte, yte);
  const BowClassifier ord = BowClassifier::fit(xtr, ytr, xva, yva, 8, 2);
  EXPECT_GE(ord.features(), 8 + 2);  // at least the two bigrams "1 2" and "2 1"
  EXPECT_GE(accuracy(ord.predict(xte), yte), 0.97);
  // The same unigrams in two orders: a unigram model cannot tell them apart, the bigrams do.
  EXPECT_EQ(ord.predict({{5, 1, 2, 5}, {5, 2, 1, 5}}), (std::vector<int64_t>{1, 0}));

  io::NamedTensors t;
  ord.append_tensors(t, "b.");
  const BowClassifier back = BowClassifier::from_tensors(t, "b.", 8, "test");
  EXPECT_EQ(back.predict(xte), ord.predict(xte));
  EXPECT_EQ(back.weight_decay(), static_cast<float>(ord.weight_decay()));
  EXPECT_FALSE(BowClassifier::from_tensors({}, "b.", 8, "test").defined());
  t.pop_back(), t.pop_back();  // bias and weight decay gone: damaged
  EXPECT_THROW(BowClassifier::from_tensors(t, "b.", 8, "test"), Error);
}

TEST(Baselines, TrainClassifyStoresThemAndEvalScoresThem) {
  const fs::path d = fs::temp_directory_path() / ("recurrent-baselines-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  // Training: 70% neg (so the majority is neg); pos iff the sentence holds "great".
  Rng r(7);
  std::string train, held;
  for (int i = 0; i < 300; ++i) {
    const bool pos = r.below(10) < 3;
    std::string s = pos ? "pos\tthis is great w" : "neg\tthis is w";
    s += std::to_string(r.below(30)) + " w" + std::to_string(r.below(30)) + "\n";
    train += s;
  }
  // Held out: 4 pos, 6 neg. Majority (neg): accuracy 6/10; F1(neg) = 2·6/(2·6+4) = 0.75, F1(pos) = 0
  // (no true positives, 4 false negatives), macro-F1 = 0.375.
  for (int i = 0; i < 10; ++i) held += i < 4 ? "pos\tgreat w" + std::to_string(i) + " is this\n" : "neg\tw" + std::to_string(i) + " this is\n";
  data::write_file((d / "train.tsv").string(), train);
  data::write_file((d / "held.tsv").string(), held);
  const auto t = recurrent::testing::run("train classify --data " + (d / "train.tsv").string() + " --out " +
                                         (d / "run").string() + " --hidden 8 --epochs 1 --seed 1 --quiet --threads 1");
  ASSERT_EQ(t.status, 0) << t.out;
  EXPECT_NE(t.out.find("valid baselines: majority class accuracy"), std::string::npos) << t.out;
  const auto res = nlohmann::json::parse(data::read_file((d / "run" / "results.json").string()));
  EXPECT_TRUE(res.at("baselines").at("test").contains("bag_of_ngrams")) << res.dump();

  const auto e = recurrent::testing::run("eval --model " + (d / "run").string() + " --data " + (d / "held.tsv").string() +
                                         " --json --threads 1");
  ASSERT_EQ(e.status, 0) << e.out;
  const auto j = nlohmann::json::parse(e.out.substr(e.out.find('{')));
  EXPECT_DOUBLE_EQ(j.at("baselines").at("majority").at("accuracy").get<double>(), 0.6);
  EXPECT_DOUBLE_EQ(j.at("baselines").at("majority").at("macro_f1").get<double>(), 0.375);
  EXPECT_GE(j.at("baselines").at("bag_of_ngrams").at("accuracy").get<double>(), 0.9);  // the keyword is learnable
  fs::remove_all(d);
}

TEST(Baselines, TrainTagStoresTheMostFrequentTagTableAndEvalScoresIt) {
  const fs::path d = fs::temp_directory_path() / ("recurrent-baselines-tag-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  // Training tags: DT 4, NN 3, VBZ 2, VB 1 → unknown words get DT; "dog" is NN 3 times, VB once → NN.
  data::write_file((d / "train.conll").string(),
                   "the\tDT\ndog\tNN\nruns\tVBZ\n\nthe\tDT\ndog\tNN\nbarks\tVBZ\n\nthe\tDT\ndog\tVB\n\na\tDT\ndog\tNN\n\n");
  // Held out: The/DT (via its lower-cased form) dog/NN runs/VBZ; cat/NN (unknown → DT: wrong) runs/VBZ.
  // Hand computation: 4 of 5 tokens right → accuracy 0.8.
  data::write_file((d / "held.conll").string(), "The\tDT\ndog\tNN\nruns\tVBZ\n\ncat\tNN\nruns\tVBZ\n\n");
  const std::string train = (d / "train.conll").string();
  const auto t = recurrent::testing::run("train tag --data " + train + " --valid " + train + " --test " + train +
                                         " --out " + (d / "run").string() + " --hidden 8 --epochs 1 --quiet --threads 1");
  ASSERT_EQ(t.status, 0) << t.out;
  const auto e = recurrent::testing::run("eval --model " + (d / "run").string() + " --data " + (d / "held.conll").string() +
                                         " --json --threads 1");
  ASSERT_EQ(e.status, 0) << e.out;
  const auto j = nlohmann::json::parse(e.out.substr(e.out.find('{')));
  EXPECT_DOUBLE_EQ(j.at("baselines").at("most_frequent_tag").at("accuracy").get<double>(), 0.8) << j.dump();
  fs::remove_all(d);
}

TEST(Baselines, NgramLmAgainstAHandComputation) {
  // Training 0 1 0 1 0 (V = 2, N = 5): P_uni(0) = (3+1)/7, P_uni(1) = (2+1)/7; bigrams 0→1 twice, 1→0 twice.
  // Validation 0 1 0 follows the alternation, so the largest λ of the grid (0.99) is chosen.
  const NgramLmBaseline m = NgramLmBaseline::fit({0, 1, 0, 1, 0}, {0, 1, 0}, 2);
  EXPECT_DOUBLE_EQ(m.lambda(), 0.99);
  EXPECT_NEAR(m.unigram_nats({0, 1}), -std::log(3.0 / 7.0), 1e-12);
  EXPECT_NEAR(m.bigram_nats({0, 1}), -std::log(0.99 * 2.0 / 2.0 + 0.01 * 3.0 / 7.0), 1e-12);
  // 1 → 1 was never seen: λ·0 + (1−λ)·P_uni(1).
  EXPECT_NEAR(m.bigram_nats({1, 1}), -std::log(0.01 * 3.0 / 7.0), 1e-12);
  EXPECT_EQ(m.bigram_nats({1}), 0.0);
}

TEST(Baselines, TrainLmStoresTheNgramModelsAndEvalScoresThem) {
  const fs::path d = fs::temp_directory_path() / ("recurrent-lm-baselines-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  // Training text "abab…aba" (201 a, 200 b, N = 401 characters): bigrams a→b 200 times, b→a 200 times, so
  // c(a·) = c(b·) = 200. Validation "abab…" alternates too, so λ = 0.99 (the grid's largest) is chosen.
  std::string train;
  for (int i = 0; i < 200; ++i) train += "ab";
  train += "a";
  data::write_file((d / "train.txt").string(), train);
  data::write_file((d / "valid.txt").string(), "abababab");
  data::write_file((d / "held.txt").string(), "aab");
  const auto t = recurrent::testing::run("train lm --data " + (d / "train.txt").string() + " --valid " + (d / "valid.txt").string() +
                                         " --level char --layers 1 --hidden 8 --seq-len 8 --batch 4 --epochs 1 --out " +
                                         (d / "run").string() + " --seed 1 --quiet --threads 1");
  ASSERT_EQ(t.status, 0) << t.out;
  const auto e = recurrent::testing::run("eval --model " + (d / "run").string() + " --data " + (d / "held.txt").string() +
                                         " --json --threads 1");
  ASSERT_EQ(e.status, 0) << e.out;
  const auto j = nlohmann::json::parse(e.out.substr(e.out.find('{')));
  const double V = static_cast<double>(open_lm((d / "run").string())->vocab().size()), N = 401, lambda = 0.99;
  // "aab": a predicted from a, b predicted from a.
  const double pa = (201 + 1) / (N + V), pb = (200 + 1) / (N + V);
  const double uni = -(std::log(pa) + std::log(pb)) / 2;
  const double bi = -(std::log(lambda * 0 / 200 + (1 - lambda) * pa) + std::log(lambda * 200 / 200 + (1 - lambda) * pb)) / 2;
  EXPECT_NEAR(j.at("baselines").at("unigram").at("loss_nats").get<double>(), uni, 1e-6);
  EXPECT_NEAR(j.at("baselines").at("bigram").at("loss_nats").get<double>(), bi, 1e-6);
  EXPECT_NEAR(j.at("baselines").at("bigram").at("bits_per_token").get<double>(), bi / std::log(2.0), 1e-6);
  EXPECT_NEAR(j.at("baselines").at("bigram_lambda").get<double>(), lambda, 1e-6);
  // The same figures as training printed for its own held-out text (results.json), from the stored tensors.
  const auto v = recurrent::testing::run("eval --model " + (d / "run").string() + " --data " + (d / "valid.txt").string() +
                                         " --json --threads 1");
  ASSERT_EQ(v.status, 0) << v.out;
  const auto res = nlohmann::json::parse(data::read_file((d / "run" / "results.json").string()));
  EXPECT_NEAR(nlohmann::json::parse(v.out.substr(v.out.find('{'))).at("baselines").at("bigram").at("loss_nats").get<double>(),
              res.at("baselines").at("valid").at("bigram").at("loss_nats").get<double>(), 1e-6);
  fs::remove_all(d);
}
