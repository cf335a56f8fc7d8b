// Classifier ensembles (tasks/classify.h: classifier_probabilities, evaluate_ensemble; eval --ensemble):
//  * probabilities are the softmax of the model's logits (rows sum to 1);
//  * one member gives exactly that model's predictions and (up to rounding) its loss;
//  * two members give the argmax and −log of the hand-computed mean of their probabilities;
//  * each member encodes the text with its own vocabulary: a copy of a model with its vocabulary
//    permuted (and its embedding rows permuted alike) is the same function, and the ensemble of a model
//    and that copy predicts like the model alone;
//  * members with different labels, and --ensemble on a non-classifier, are one-line errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"
#include "recurrent/data/text_file.h"
#include "recurrent/tasks/classify.h"
#include "run_cli.h"

using namespace recurrent;
using namespace recurrent::tasks;
namespace fs = std::filesystem;

namespace {

ClassifierConfig small_config_classify_ensemble(std::vector<std::string> vocab) {
  ClassifierConfig c;
  c.vocab = std::move(vocab);
  c.labels = {"neg", "pos", "mid"};
  c.embed = 4;
  c.layers = {{CellType::lstm, 5, 0}};
  c.bidirectional = true;
  c.pooling = Pooling::max;
  return c;
}

// Sentences over the words a..e (and one unknown word), labels cycling neg/pos/mid.
data::LabeledSet sentences() {
  return data::parse_labeled("neg\ta b c\npos\tb b\nmid\te d c a\nneg\tzz a\npos\tc\nmid\td e e b a c\n", "ens.tsv",
                             data::TextFormat::tsv);
}

std::vector<std::vector<int64_t>> encode_all(const TextClassifier& m, const data::LabeledSet& s) {
  std::vector<std::vector<int64_t>> out;
  for (const data::LabeledText& it : s.items) out.push_back(m.encode(it.text, "t"));
  return out;
}

const std::vector<std::string> kVocab = {"<unk>", "a", "b", "c", "d", "e"};

TEST(ClassifyEnsemble, ProbabilitiesAreTheSoftmaxOfTheLogits) {
  set_num_threads(1);
  Rng rng(5);
  TextClassifier m(small_config_classify_ensemble(kVocab), rng);
  const data::LabeledSet s = sentences();
  const auto seqs = encode_all(m, s);
  const std::vector<float> p = classifier_probabilities(m, seqs, 4);  // two batches: 4 + 2
  ASSERT_EQ(p.size(), seqs.size() * 3);
  m.eval();
  for (size_t n = 0; n < seqs.size(); ++n) {
    NoGradGuard ng;
    Tensor l = m.forward({&seqs[n]}).value().clone();  // [1, 3]
    double z = 0, sum = 0;
    for (int c = 0; c < 3; ++c) z += std::exp(static_cast<double>(l.data()[c]));
    for (int c = 0; c < 3; ++c) {
      EXPECT_NEAR(p[n * 3 + c], std::exp(static_cast<double>(l.data()[c])) / z, 1e-6) << n << " " << c;
      sum += p[n * 3 + c];
    }
    EXPECT_NEAR(sum, 1.0, 1e-6);
  }
}

TEST(ClassifyEnsemble, OneMemberIsThatModel) {
  set_num_threads(1);
  Rng rng(6);
  TextClassifier m(small_config_classify_ensemble(kVocab), rng);
  const data::LabeledSet s = sentences();
  const ClassifyEval one = evaluate_classifier(m, encode_all(m, s), data::LabelSet::from_names(m.config().labels).ids(s));
  const ClassifyEval ens = evaluate_ensemble({&m}, {"m"}, s);
  EXPECT_EQ(ens.predictions, one.predictions);
  EXPECT_EQ(ens.confusion, one.confusion);
  EXPECT_DOUBLE_EQ(ens.accuracy, one.accuracy);
  EXPECT_NEAR(ens.loss, one.loss, 1e-5);
}

TEST(ClassifyEnsemble, TwoMembersAverageTheirProbabilities) {
  set_num_threads(1);
  Rng r1(7), r2(8);
  TextClassifier a(small_config_classify_ensemble(kVocab), r1), b(small_config_classify_ensemble(kVocab), r2);
  const data::LabeledSet s = sentences();
  const std::vector<float> pa = classifier_probabilities(a, encode_all(a, s)),
                           pb = classifier_probabilities(b, encode_all(b, s));
  const std::vector<int64_t> gold = data::LabelSet::from_names(a.config().labels).ids(s);
  std::vector<int64_t> want;
  double loss = 0;
  for (size_t n = 0; n < gold.size(); ++n) {
    double best = -1;
    int64_t arg = 0;
    for (int64_t c = 0; c < 3; ++c) {
      const double q = (static_cast<double>(pa[n * 3 + c]) + pb[n * 3 + c]) / 2;
      if (q > best) best = q, arg = c;
    }
    want.push_back(arg);
    loss -= std::log((static_cast<double>(pa[n * 3 + gold[n]]) + pb[n * 3 + gold[n]]) / 2);
  }
  const ClassifyEval e = evaluate_ensemble({&a, &b}, {"a", "b"}, s);
  EXPECT_EQ(e.predictions, want);
  EXPECT_NEAR(e.loss, loss / static_cast<double>(gold.size()), 1e-6);
  // The mean is not one of the members (the loss of a mean lies strictly between, by convexity, here).
  const ClassifyEval ea = evaluate_ensemble({&a}, {"a"}, s), eb = evaluate_ensemble({&b}, {"b"}, s);
  EXPECT_LT(e.loss, std::max(ea.loss, eb.loss));
  EXPECT_NE(e.loss, ea.loss);
}

TEST(ClassifyEnsemble, EachMemberEncodesWithItsOwnVocabulary) {
  set_num_threads(1);
  Rng r1(9), r2(9);
  TextClassifier a(small_config_classify_ensemble(kVocab), r1);
  // b: the same weights with the vocabulary reversed (except <unk>) and the embedding rows alike.
  const std::vector<std::string> rev = {"<unk>", "e", "d", "c", "b", "a"};
  TextClassifier b(small_config_classify_ensemble(rev), r2);
  auto pa = a.named_parameters(), pb = b.named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t k = 0; k < pa.size(); ++k) {
    ASSERT_EQ(pa[k].first, pb[k].first);
    Tensor& dst = pb[k].second.value();
    const Tensor& src = pa[k].second.value();
    if (pa[k].first == "embedding.weight") {  // [V, E]: row of token t in b = row of t in a
      for (int64_t v = 0; v < 6; ++v) {
        const int64_t from = v == 0 ? 0 : 6 - v;
        for (int64_t e = 0; e < 4; ++e) dst.data()[v * 4 + e] = src.data()[from * 4 + e];
      }
    } else {
      for (int64_t i = 0; i < src.numel(); ++i) dst.data()[i] = src.data()[i];
    }
  }
  const data::LabeledSet s = sentences();
  const std::vector<float> qa = classifier_probabilities(a, encode_all(a, s)),
                           qb = classifier_probabilities(b, encode_all(b, s));
  for (size_t i = 0; i < qa.size(); ++i) EXPECT_NEAR(qa[i], qb[i], 1e-6) << i;
  const ClassifyEval alone = evaluate_ensemble({&a}, {"a"}, s), both = evaluate_ensemble({&a, &b}, {"a", "b"}, s);
  EXPECT_EQ(both.predictions, alone.predictions);
  EXPECT_NEAR(both.loss, alone.loss, 1e-6);
}

TEST(ClassifyEnsemble, MembersWithOtherLabelsAreAnError) {
  Rng r1(1), r2(2);
  ClassifierConfig c2 = small_config_classify_ensemble(kVocab);
  c2.labels = {"mid", "neg", "pos"};
  TextClassifier a(small_config_classify_ensemble(kVocab), r1), b(c2, r2);
  try {
    evaluate_ensemble({&a, &b}, {"runA", "runB"}, sentences());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("runB"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("same labels"), std::string::npos) << e.what();
  }
}

TEST(ClassifyEnsembleCli, EvalEnsembleJsonAndErrors) {
  using recurrent::testing::run;
  fs::path d = fs::temp_directory_path() / ("recurrent-clsens-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  std::string tsv;
  for (int i = 0; i < 60; ++i) {  // appended piecewise: GCC 12 warns (-Wrestrict) falsely on "w" + to_string
    tsv += i % 2 ? "pos\tw1 great w" : "neg\tw1 poor w";
    tsv += std::to_string(i % 7);
    tsv += '\n';
  }
  data::write_file((d / "s.tsv").string(), tsv);
  const std::string base = "train classify --quiet --epochs 1 --hidden 8 --threads 1 --data " + (d / "s.tsv").string();
  for (const char* seed : {"1", "2"}) {  // no "s" + std::to_string(..): GCC 12's false -Wrestrict
    const auto r = run(base + " --seed " + seed + " --out " + (d / (std::string("s") + seed)).string());
    ASSERT_EQ(r.status, 0) << r.out;
  }
  const std::string a = (d / "s1").string(), b = (d / "s2").string(), data = (d / "s.tsv").string();
  auto r = run("eval --model " + a + " --ensemble " + b + " --data " + data + " --json");
  ASSERT_EQ(r.status, 0) << r.out;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("models").get<int64_t>(), 2);
  EXPECT_EQ(j.at("n").get<int64_t>(), 60);
  // The CLI's figure is the library's.
  auto ma = load_classifier(a), mb = load_classifier(b);
  const ClassifyEval e = evaluate_ensemble({ma.get(), mb.get()}, {a, b}, data::read_labeled(data));
  EXPECT_NEAR(j.at("accuracy").get<double>(), e.accuracy, 1e-12);
  EXPECT_NEAR(j.at("loss").get<double>(), e.loss, 1e-9);
  // --ensemble with a model that is not a classifier: one line naming the option.
  r = run("eval --model " + a + " --ensemble " + (d / "s.tsv").string() + " --data " + data);
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  fs::remove_all(d);
}

}  // namespace
