// Classifier options beyond the basic run (tasks/classify.h):
//  * max pooling: a finite-difference gradient check of max_over_time, padding invariance, and the
//    keyword task learned with max pooling + word dropout + weight decay;
//  * word dropout: in training about p of the tokens read as <unk>, never in evaluation;
//  * folds: which items go to test / valid / train, and the default equals --folds 10 --fold 9;
//  * weight decay reaches the optimizer (adamw with 0 == adam bit for bit; adamw's default differs);
//  * patience: training stops after N epochs without a better validation, also across a resume
//    (which keeps the checkpoint's weight decay);
//  * --init-from / --init-from-reverse / --lm-vocab copy the LM's rows and tensors, and fail clearly;
//  * one-line CLI errors for bad values of each new option.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "autograd/gradcheck.h"
#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"
#include "recurrent/data/text_file.h"
#include "recurrent/data/utf8.h"
#include "recurrent/io/safetensors.h"
#include "recurrent/tasks/classify.h"
#include "recurrent/tasks/lm.h"
#include "recurrent/train/checkpoint.h"
#include "run_cli.h"
#include "temp_dir.h"

using namespace recurrent;
using namespace recurrent::tasks;
namespace fs = std::filesystem;

namespace {

// n sentences of 4..10 filler words; a random half hold "great" (pos), the others not (neg).
std::string options_keyword_tsv(const fs::path& file, int n, uint64_t seed) {
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
        t += "great";
      } else {
        t += 'w';
        t += std::to_string(r.below(20));
      }
    }
    s += std::string(pos ? "pos" : "neg") + "\t" + t + "\n";
  }
  data::write_file(file.string(), s);
  return file.string();
}

ClassifyTrainOptions small_classify_opts(const std::string& data, const fs::path& out) {
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

nlohmann::json results(const fs::path& out) {
  return nlohmann::json::parse(data::read_file((out / "results.json").string()));
}

void expect_same_weights(const fs::path& a, const fs::path& b, bool same) {
  io::SafeTensors la = io::read_safetensors(a.string()), lb = io::read_safetensors(b.string());
  ASSERT_EQ(la.names(), lb.names());
  bool equal = true;
  for (const std::string& n : la.names()) {
    if (n.rfind("model.", 0) != 0) continue;
    Tensor x = la.get_f32(n), y = lb.get_f32(n);
    for (int64_t i = 0; i < x.numel() && equal; ++i) equal = x.data()[i] == y.data()[i];
  }
  EXPECT_EQ(equal, same) << a << " vs " << b;
}

ClassifierConfig tiny_config(Pooling pool) {
  ClassifierConfig c;
  c.vocab = {"<unk>", "a", "b", "c"};
  c.labels = {"x", "y", "z"};
  c.embed = 4;
  c.layers = {{CellType::lstm, 5, 0}};
  c.bidirectional = true;
  c.pooling = pool;
  return c;
}

TEST(ClassifyMaxPool, GradCheckWithRaggedLengths) {
  // x [T=4, B=3, F=5], lengths 4, 1, 2: padded steps must neither win the max nor get gradient.
  // Values along each (b, f) column are ≥ 0.3 apart (a random rank · 0.4 ± 0.05), so the finite
  // difference step (1e-2) never crosses a tie, where max is not differentiable.
  Rng rng(21);
  Tensor x({4, 3, 5});
  for (int64_t bf = 0; bf < 15; ++bf) {
    std::vector<int64_t> rank = {0, 1, 2, 3};
    for (size_t i = 4; i > 1; --i) std::swap(rank[i - 1], rank[rng.below(i)]);
    for (int64_t t = 0; t < 4; ++t) x.data()[t * 15 + bf] = -0.6f + 0.4f * rank[t] + rng.uniform(-0.05f, 0.05f);
  }
  for (int64_t f = 0; f < 5; ++f) x.data()[(3 * 3 + 1) * 5 + f] = 10.0f;  // a large value in padding (b = 1)
  const std::vector<int64_t> lengths = {4, 1, 2};
  Var out = max_over_time(Var(x), lengths);
  for (int64_t f = 0; f < 5; ++f) EXPECT_EQ(out.value().data()[5 + f], x.data()[(0 * 3 + 1) * 5 + f]);
  recurrent::testing::GradCheckResult r =
      recurrent::testing::gradcheck([&](const std::vector<Var>& v) { return max_over_time(v[0], lengths); }, {x});
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_THROW(max_over_time(Var(x), {4, 0, 2}), Error);
  EXPECT_THROW(max_over_time(Var(x), {4, 1}), Error);
}

TEST(ClassifyMaxPool, PaddingInABatchDoesNotChangeLogits) {
  Rng rng(7);
  TextClassifier m(tiny_config(Pooling::max), rng);
  m.eval();
  const std::vector<int64_t> s1 = {1, 2}, s2 = {3, 1, 2, 2, 3, 1};
  Tensor alone = m.forward({&s1}).value().clone();
  Tensor both = m.forward({&s2, &s1}).value().clone();
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(alone.data()[k], both.data()[3 + k], 1e-5);
  EXPECT_EQ(parse_pooling("max"), Pooling::max);
  EXPECT_STREQ(pooling_name(Pooling::max), "max");
}

TEST(ClassifyWordDropout, AboutPOfTokensReadAsUnkInTrainingOnly) {
  ClassifierConfig c = tiny_config(Pooling::last);
  c.word_dropout = 0.3f;
  Rng rng(9);
  TextClassifier m(c, rng);
  const std::vector<int64_t> tok = {2}, unk = {0};
  m.eval();
  const float keep_logit = m.forward({&tok}).value().data()[0], unk_logit = m.forward({&unk}).value().data()[0];
  ASSERT_NE(keep_logit, unk_logit);
  m.train();
  int dropped = 0, other = 0;
  const int n = 1000;
  for (int i = 0; i < n; ++i) {
    const float l = m.forward({&tok}).value().data()[0];
    dropped += l == unk_logit;
    other += l != unk_logit && l != keep_logit;
  }
  EXPECT_EQ(other, 0);
  EXPECT_NEAR(dropped / static_cast<double>(n), 0.3, 0.05);  // binomial sd 0.0145: 3.4 sd
  m.eval();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(m.forward({&tok}).value().data()[0], keep_logit);
  // Saved and reloaded with the model configuration.
  EXPECT_FLOAT_EQ(ClassifierConfig::from_json(m.config().to_json(), "t").word_dropout, 0.3f);
}

TEST(ClassifyFolds, TestValidTrainByFoldAndDefaultIsFold9Of10) {
  set_num_threads(1);
  fs::path d = recurrent::testing::fresh_temp_dir("clsopt-folds");
  const std::string data = options_keyword_tsv(d / "kw.tsv", 103, 31);
  ClassifyTrainOptions o = small_classify_opts(data, d / "f2");
  o.epochs = 1;
  o.fold = 2;  // test: i % 10 == 2 (i = 2, 12, ..., 102: 11), valid: i % 10 == 1 (11), train 81
  ASSERT_EQ(train_classifier(o), ClassifyOutcome::finished);
  nlohmann::json r = results(d / "f2");
  EXPECT_EQ(r.at("test").at("n").get<int64_t>(), 11);
  EXPECT_EQ(r.at("valid").at("n").get<int64_t>(), 11);
  EXPECT_EQ(r.at("train_n").get<int64_t>(), 81);
  o.folds = 4, o.fold = 0, o.out = (d / "k4").string();  // test i % 4 == 0 (26), valid i % 4 == 3 (25)
  ASSERT_EQ(train_classifier(o), ClassifyOutcome::finished);
  r = results(d / "k4");
  EXPECT_EQ(r.at("test").at("n").get<int64_t>(), 26);
  EXPECT_EQ(r.at("valid").at("n").get<int64_t>(), 25);
  EXPECT_EQ(r.at("train_n").get<int64_t>(), 52);
  // Default split == --folds 10 --fold 9, exactly (same items, same order: same weights).
  ClassifyTrainOptions a = small_classify_opts(data, d / "default");
  a.epochs = 1;
  ClassifyTrainOptions b = a;
  b.out = (d / "f9").string(), b.folds = 10, b.fold = 9;
  ASSERT_EQ(train_classifier(a), ClassifyOutcome::finished);
  ASSERT_EQ(train_classifier(b), ClassifyOutcome::finished);
  expect_same_weights(d / "default" / "last.safetensors", d / "f9" / "last.safetensors", true);
  fs::remove_all(d);
}

TEST(ClassifyWeightDecay, ReachesTheOptimizer) {
  set_num_threads(1);
  fs::path d = recurrent::testing::fresh_temp_dir("clsopt-wd");
  const std::string data = options_keyword_tsv(d / "kw.tsv", 100, 32);
  ClassifyTrainOptions adam = small_classify_opts(data, d / "adam");
  adam.epochs = 1;
  ClassifyTrainOptions adamw0 = adam, adamw = adam;
  adamw0.optimizer = adamw.optimizer = "adamw";
  adamw0.weight_decay = 0.0;
  adamw0.out = (d / "adamw0").string(), adamw.out = (d / "adamw").string();
  for (const auto* o : {&adam, &adamw0, &adamw}) ASSERT_EQ(train_classifier(*o), ClassifyOutcome::finished);
  // AdamW with decay 0 is Adam (p·(1 − lr·0) = p); AdamW's default decay 1e-2 changes the weights.
  expect_same_weights(d / "adam" / "best.safetensors", d / "adamw0" / "best.safetensors", true);
  expect_same_weights(d / "adam" / "best.safetensors", d / "adamw" / "best.safetensors", false);
  fs::remove_all(d);
}

TEST(ClassifyPatience, StopsAfterNEpochsWithoutABetterValidation) {
  set_num_threads(1);
  fs::path d = recurrent::testing::fresh_temp_dir("clsopt-patience");
  ClassifyTrainOptions o = small_classify_opts(options_keyword_tsv(d / "kw.tsv", 100, 33), d / "run");
  o.optimizer = "sgd";
  o.lr = 1e-30;  // every update rounds away: validation never improves after epoch 1
  o.epochs = 20;
  o.patience = 2;
  ASSERT_EQ(train_classifier(o), ClassifyOutcome::finished);
  EXPECT_EQ(results(d / "run").at("epochs_completed").get<int64_t>(), 3);
  fs::remove_all(d);
}

// The best epoch (for --patience) and the weight decay travel in last.safetensors: a run stopped
// mid-epoch and resumed without repeating --weight-decay stops at the same epoch / ends with the same
// weights as an uninterrupted one (80 training sentences, batch 16: 5 steps per epoch).
TEST(ClassifyPatience, SurvivesResumeWithTheCheckpointsWeightDecay) {
  set_num_threads(1);
  fs::path d = recurrent::testing::fresh_temp_dir("clsopt-patience-resume");
  ClassifyTrainOptions o = small_classify_opts(options_keyword_tsv(d / "kw.tsv", 100, 33), d / "p");
  o.optimizer = "sgd";
  o.lr = 1e-30;  // validation never improves after epoch 1: stops after epoch 3 with patience 2
  o.epochs = 20;
  o.patience = 2;
  o.max_steps = 7;  // mid epoch 2
  ASSERT_EQ(train_classifier(o), ClassifyOutcome::stopped);
  o.resume = o.out, o.max_steps = 0;
  ASSERT_EQ(train_classifier(o), ClassifyOutcome::finished);
  EXPECT_EQ(results(d / "p").at("epochs_completed").get<int64_t>(), 3);

  ClassifyTrainOptions a = small_classify_opts((d / "kw.tsv").string(), d / "a");
  a.epochs = 2;
  a.optimizer = "adamw";
  a.weight_decay = 0.0;  // not adamw's default 1e-2
  ClassifyTrainOptions b = a;
  b.out = (d / "b").string(), b.max_steps = 7;
  ASSERT_EQ(train_classifier(a), ClassifyOutcome::finished);
  ASSERT_EQ(train_classifier(b), ClassifyOutcome::stopped);
  b.resume = b.out, b.max_steps = 0, b.weight_decay = -1.0;  // resume: the checkpoint's decay
  ASSERT_EQ(train_classifier(b), ClassifyOutcome::finished);
  expect_same_weights(d / "a" / "last.safetensors", d / "b" / "last.safetensors", true);
  fs::remove_all(d);
}

TEST(ClassifyMaxPool, LearnsTheKeywordTaskWithWordDropoutAndWeightDecay) {
  set_num_threads(1);
  fs::path d = recurrent::testing::fresh_temp_dir("clsopt-max");
  ClassifyTrainOptions o = small_classify_opts(options_keyword_tsv(d / "kw.tsv", 600, 34), d / "run");
  o.pool = "max";
  o.bidirectional = true;
  o.word_dropout = 0.1;
  o.optimizer = "adamw";
  o.weight_decay = 1e-3;
  ASSERT_EQ(train_classifier(o), ClassifyOutcome::finished);
  EXPECT_GE(results(d / "run").at("test").at("accuracy").get<double>(), 0.95);
  fs::remove_all(d);
}

// A word LM (embedding 8, one LSTM layer of 16) saved as a checkpoint, as `train lm` writes it.
// lstm_bn: its running statistics set to 0.25 (means) over 3 steps, as a trained LM's would have moved.
std::string save_lm(const fs::path& file, const std::string& text, bool lower, int64_t hidden, uint64_t seed,
                    CellType cell = CellType::lstm) {
  LmConfig c;
  data::WordVocabOptions vo;
  vo.lower = lower;
  c.vocab = data::Vocab::build_words(data::utf8_decode(text, "t"), vo);
  c.embed = 8;
  c.layers = {{cell, hidden, 0}};
  Rng rng(seed);
  LanguageModel m(c, rng);
  for (auto& [name, b] : m.named_buffers())
    if (name.find("running_mean") != std::string::npos) m.set_buffer(name, Tensor({3, b.size(1)}).fill_(0.25f));
  train::CheckpointData cd;
  cd.config_json = c.to_json();
  train::save_checkpoint(file.string(), m, nullptr, cd);
  return file.string();
}

TEST(ClassifyInitFromLm, CopiesRowsByTokenAndRecurrentTensorsByName) {
  fs::path d = recurrent::testing::fresh_temp_dir("clsopt-init");
  const std::string fwd = save_lm(d / "fwd.safetensors", "The great w1 w2 .\nw3 Great\n", true, 16, 1);
  const std::string bwd = save_lm(d / "bwd.safetensors", "w2 w1 great the\n", false, 16, 2);
  ClassifierConfig c;
  c.vocab = {"<unk>", "great", "w1", "w9", "the"};
  c.labels = {"neg", "pos"};
  c.embed = 8;
  c.layers = {{CellType::lstm, 16, 0}};
  c.bidirectional = true;
  Rng rng(3);
  TextClassifier m(c, rng);
  LmInitReport r = init_classifier_from_lm(m, fwd, false);
  EXPECT_EQ(r.rows, 4);     // <unk>, great, w1, the (w9 unknown to the LM keeps its init)
  EXPECT_EQ(r.vocab, 5);
  EXPECT_EQ(r.tensors, 4);  // weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0
  EXPECT_EQ(init_classifier_from_lm(m, bwd, true).tensors, 4);  // → the *_reverse tensors

  auto lf = load_lm(fwd), lb = load_lm(bwd);
  std::map<std::string, Var> cp, fp, bp;
  for (auto& [n, v] : m.named_parameters()) cp.emplace(n, v);
  for (auto& [n, v] : lf->named_parameters()) fp.emplace(n, v);
  for (auto& [n, v] : lb->named_parameters()) bp.emplace(n, v);
  const Tensor &ce = cp.at("embedding.weight").value(), &fe = fp.at("embedding.weight").value();
  const data::Vocab& fv = lf->config().vocab;
  for (int64_t i : {0, 1, 2, 4})
    for (int64_t k = 0; k < 8; ++k)
      EXPECT_EQ(ce.data()[i * 8 + k], fe.data()[fv.id(c.vocab[i]) * 8 + k]) << c.vocab[i];
  for (const char* n : {"rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0"}) {
    const Tensor &a = cp.at(n).value(), &b = fp.at(n).value();
    const Tensor &ar = cp.at(std::string(n) + "_reverse").value(), &br = bp.at(n).value();
    for (int64_t k = 0; k < a.numel(); ++k) ASSERT_EQ(a.data()[k], b.data()[k]) << n;
    for (int64_t k = 0; k < ar.numel(); ++k) ASSERT_EQ(ar.data()[k], br.data()[k]) << n << "_reverse";
  }
  EXPECT_EQ(lm_vocabulary(fwd).size(), static_cast<size_t>(fv.size() - 2));  // without <unk>, <eos>

  // Shapes must agree: another hidden size is an error naming the tensor.
  const std::string wide = save_lm(d / "wide.safetensors", "a b\n", false, 12, 4);
  try {
    init_classifier_from_lm(m, wide, false);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rnn.bias_hh_l0 has shape [48] but the classifier"), std::string::npos) << e.what();
  }
  fs::remove_all(d);
}

// An lstm_bn LM hands over its gains by name as its weights, and its running statistics (buffers) with them.
TEST(ClassifyInitFromLm, BatchNormLmHandsOverItsRunningStatistics) {
  fs::path d = recurrent::testing::fresh_temp_dir("clsopt-init-bn");
  const std::string fwd = save_lm(d / "fwd.safetensors", "The great w1 w2 .\nw3 Great\n", true, 16, 1, CellType::lstm_bn);
  ClassifierConfig c;
  c.vocab = {"<unk>", "great", "w1"};
  c.labels = {"neg", "pos"};
  c.embed = 8;
  c.layers = {{CellType::lstm_bn, 16, 0}};
  c.bidirectional = true;
  Rng rng(3);
  TextClassifier m(c, rng);
  EXPECT_EQ(m.find_buffer("rnn.bn_running_mean_c_l0")->shape(), Shape({1, 16}));
  // 4 weights, 4 gains, 6 statistics
  EXPECT_EQ(init_classifier_from_lm(m, fwd, false).tensors, 14);
  const Tensor* mean = m.find_buffer("rnn.bn_running_mean_c_l0");
  ASSERT_EQ(mean->shape(), Shape({3, 16}));
  EXPECT_EQ(mean->data()[47], 0.25f);
  EXPECT_EQ(m.find_buffer("rnn.bn_running_var_ih_l0")->data()[5], 1.0f);
  EXPECT_EQ(m.find_buffer("rnn.bn_running_mean_c_l0_reverse")->shape(), Shape({1, 16})) << "forward LM: l0 only";
  fs::remove_all(d);
}

TEST(ClassifyInitFromLm, TrainingWithLmVocabAndReport) {
  set_num_threads(1);
  fs::path d = recurrent::testing::fresh_temp_dir("clsopt-initrun");
  const std::string lm = save_lm(d / "lm.safetensors", "great w1 w2 splendid\n", false, 16, 5);
  ClassifyTrainOptions o = small_classify_opts(options_keyword_tsv(d / "kw.tsv", 100, 35), d / "run");
  o.epochs = 1;
  o.init_from = lm;
  o.lm_vocab = true;
  ASSERT_EQ(train_classifier(o), ClassifyOutcome::finished);
  nlohmann::json r = results(d / "run");
  EXPECT_NE(r.at("init_from").get<std::string>().find("4 recurrent tensors"), std::string::npos) << r.dump();
  auto m = load_classifier((d / "run").string());
  const std::vector<std::string>& v = m->config().vocab;
  EXPECT_NE(std::find(v.begin(), v.end(), "splendid"), v.end());  // from the LM only
  EXPECT_EQ(m->encode("splendid", "t"), std::vector<int64_t>{static_cast<int64_t>(v.size()) - 1});
  fs::remove_all(d);
}

TEST(ClassifyOptionsCli, OneLineErrorsForBadValues) {
  using recurrent::testing::run;
  fs::path d = recurrent::testing::fresh_temp_dir("clsopt-cli");
  const std::string data = options_keyword_tsv(d / "kw.tsv", 60, 36);
  // A character-level LM cannot initialise a word classifier.
  LmConfig cc;
  cc.vocab = data::Vocab::build_chars(data::utf8_decode("abc", "t"));
  cc.embed = 8;
  cc.layers = {{CellType::lstm, 8, 0}};
  Rng rng(1);
  LanguageModel clm(cc, rng);
  train::CheckpointData cd;
  cd.config_json = cc.to_json();
  train::save_checkpoint((d / "char.safetensors").string(), clm, nullptr, cd);
  const std::string lm = save_lm(d / "lm.safetensors", "great w1\n", false, 8, 2);

  const std::string base = "train classify --quiet --epochs 1 --hidden 8 --threads 1 --out " +
                           (d / "x").string() + " --data " + data;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {base + " --pool maxx", "--pool: expected one of last, mean, max, got maxx"},
      {base + " --word-dropout 1", "--word-dropout: expected a fraction in [0, 1), got 1"},
      {base + " --folds 2", "--folds: expected >= 3"},
      {base + " --folds 5 --fold 5", "--fold: expected a fold in [0, 5)"},
      {base + " --fold -2", "--fold: expected an integer >= 0, got -2"},
      {base + " --weight-decay -0.1", "--weight-decay: expected a number >= 0, got -0.1"},
      {base + " --patience -1", "--patience: expected an integer >= 0, got -1"},
      {base + " --lm-vocab", "--lm-vocab: needs --init-from"},
      {base + " --init-from " + (d / "char.safetensors").string(), "is a character-level language model"},
      {base + " --init-from " + lm + " --embed 6", "the language model's embedding size is 8"},
      {base + " --no-bidirectional --init-from-reverse " + lm, "--init-from-reverse: needs --bidirectional"},
  };
  for (const auto& [args, want] : cases) {
    recurrent::testing::CmdResult e = run(args);
    EXPECT_NE(e.status, 0) << args;
    EXPECT_NE(e.out.find(want), std::string::npos) << args << "\n" << e.out;
    EXPECT_EQ(std::count(e.out.begin(), e.out.end(), '\n'), 1) << args << "\n" << e.out;
  }
  // And a good run with the new options through the CLI.
  recurrent::testing::CmdResult ok =
      run(base + " --pool max --word-dropout 0.1 --optimizer adamw --weight-decay 0.01 --patience 2 --folds 5 "
                 "--fold 1 --init-from " + lm + " --lm-vocab");
  EXPECT_EQ(ok.status, 0) << ok.out;
  EXPECT_NE(ok.out.find("test: accuracy"), std::string::npos) << ok.out;
  fs::remove_all(d);
}

}  // namespace
