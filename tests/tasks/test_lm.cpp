// Language models end to end, on a real excerpt of Moby Dick (tests/fixtures/lm, made by
// scripts/fixtures/make_lm_fixture.py; one tokenised sentence per line):
//  * score ranks real held-out sentences above the same words shuffled (an untrained model of the
//    same shape does not: the control shows the test can fail);
//  * an interrupted and resumed run ends with the same weights and optimizer state as an
//    uninterrupted one (dropout, mixed cells, carried state, mid-epoch stops);
//  * scoring agrees with evaluation (chain rule), sampling is deterministic, beam 1 = top-k 1;
//  * bad inputs give one-line errors through the CLI.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"
#include "recurrent/data/text_file.h"
#include "recurrent/data/utf8.h"
#include "recurrent/io/safetensors.h"
#include "recurrent/kernels/cpu.h"
#include "recurrent/train/checkpoint.h"
#include "recurrent/tasks/lm.h"
#include "run_cli.h"
#include "same_tensors.h"
#include "temp_dir.h"

using namespace recurrent;
using namespace recurrent::tasks;
namespace fs = std::filesystem;

namespace {

const std::string kFix = std::string(RECURRENT_TEST_DATA) + "/lm/";

using recurrent::testing::CmdResult;
using recurrent::testing::run;

// A small char-level text: the first ~12k characters of the training excerpt.
std::string char_excerpt(const fs::path& dir) {
  std::string t = data::read_file(kFix + "moby_train.txt").substr(0, 12000);
  const std::string p = (dir / "excerpt.txt").string();
  data::write_file(p, t);
  return p;
}

LmTrainOptions char_opts(const std::string& data, const fs::path& out) {
  LmTrainOptions o;
  o.data = data;
  o.out = out.string();
  o.level = "char";
  o.cells = "lstm,gru";
  o.hidden = "24,16";
  o.layers = 2;
  o.embed = 8;
  o.dropout = 0.1;
  o.seq_len = 16;
  o.batch = 8;
  o.epochs = 2;
  o.lr = 3e-3;
  o.log_interval = 5;
  o.quiet = true;
  return o;
}

using recurrent::testing::same_tensors;

}  // namespace

TEST(LmResume, InterruptedTwiceEqualsUninterrupted) {
  set_num_threads(2);
  fs::path d = recurrent::testing::fresh_temp_dir("lm-resume");
  const std::string text = char_excerpt(d);
  LmTrainOptions a = char_opts(text, d / "a");
  ASSERT_EQ(train_lm(a), TrainOutcome::finished);

  LmTrainOptions b = char_opts(text, d / "b");
  b.max_steps = 7;  // mid-epoch 1
  ASSERT_EQ(train_lm(b), TrainOutcome::stopped);
  b.resume = b.out;
  b.max_steps = 100;  // mid-epoch 2 (an epoch here is ~90 steps)
  ASSERT_EQ(train_lm(b), TrainOutcome::stopped);
  b.max_steps = 0;
  ASSERT_EQ(train_lm(b), TrainOutcome::finished);

  io::SafeTensors la = io::read_safetensors((d / "a" / "last.safetensors").string());
  io::SafeTensors lb = io::read_safetensors((d / "b" / "last.safetensors").string());
  std::string why;
  EXPECT_TRUE(same_tensors(la, lb, "model.", why)) << why;
  EXPECT_TRUE(same_tensors(la, lb, "optim.", why)) << why;
  EXPECT_EQ(data::read_file((d / "a" / "results.json").string()).substr(0, 60),
            data::read_file((d / "b" / "results.json").string()).substr(0, 60));
  // The resumed run's metrics continue the same steps with the same losses. Differences by design:
  // the row written at the stop after step 7, and the next row (step 10) averaging steps 8-10 only.
  auto rows = [](const fs::path& p, bool stopped) {
    std::vector<std::string> out;
    for (const std::string& l : data::read_lines(p.string())) {
      if ((stopped && l.rfind("7,", 0) == 0) || l.rfind("10,", 0) == 0) continue;
      size_t c = 0;
      for (int k = 0; k < 6; ++k) c = l.find(',', c) + 1;  // step..lr; not tokens/s, elapsed
      out.push_back(l.substr(0, c));
    }
    return out;
  };
  EXPECT_EQ(rows(d / "a" / "metrics.csv", false), rows(d / "b" / "metrics.csv", true));
  fs::remove_all(d);
}

TEST(LmScore, RanksRealHeldOutSentencesAboveShuffledOnes) {
  fs::path d = recurrent::testing::fresh_temp_dir("lm-score");
  LmTrainOptions o;
  o.data = kFix + "moby_train.txt";
  o.valid = kFix + "moby_heldout.txt";
  o.out = d.string();
  o.level = "word";
  o.min_count = 2;
  o.cells = "lstm";
  o.hidden = "64";
  o.layers = 1;
  o.embed = 32;
  o.seq_len = 20;
  o.batch = 16;
  o.epochs = 5;
  o.lr = 3e-3;
  o.quiet = true;
  ASSERT_EQ(train_lm(o), TrainOutcome::finished);
  std::unique_ptr<LanguageModel> m = load_lm(d.string());

  Rng init(7);
  LanguageModel untrained(m->config(), init);  // the control
  Rng rng(2024);
  int wins = 0, control_wins = 0, n = 0;
  for (const std::string& line : data::read_lines(kFix + "moby_heldout.txt")) {
    std::vector<std::string> w = data::split_words(data::utf8_decode(line, "heldout"), false), s = w;
    while (s == w)  // Fisher–Yates until the order differs
      for (size_t i = s.size() - 1; i > 0; --i) std::swap(s[i], s[rng.below(i + 1)]);
    std::string shuffled;
    for (auto& x : s) shuffled += (shuffled.empty() ? "" : " ") + x;
    wins += score_text(*m, line).log_prob > score_text(*m, shuffled).log_prob;
    control_wins += score_text(untrained, line).log_prob > score_text(untrained, shuffled).log_prob;
    ++n;
  }
  ASSERT_EQ(n, 200);
  EXPECT_GE(wins, 190) << "real sentence more likely than its shuffle for " << wins << " of 200";
  EXPECT_LE(control_wins, 150) << "the untrained control ranks " << control_wins << " of 200";
  fs::remove_all(d);
}

TEST(LmScore, AgreesWithEvaluationByTheChainRule) {
  fs::path d = recurrent::testing::fresh_temp_dir("lm-chain");
  LmTrainOptions o = char_opts(char_excerpt(d), d);
  o.epochs = 1;
  o.max_steps = 10;
  ASSERT_EQ(train_lm(o), TrainOutcome::stopped);
  std::unique_ptr<LanguageModel> m = load_lm(d.string());
  const std::string text = "Call me Ishmael. Some years ago";
  TextScore s = score_text(*m, text);
  ASSERT_EQ(s.tokens.size(), 31u);
  double sum = 0;
  for (auto& t : s.tokens) {
    EXPECT_GT(t.prob, 0.0);
    EXPECT_LE(t.prob, 1.0);
    sum += std::log(t.prob);
  }
  EXPECT_NEAR(sum, s.log_prob, 1e-9 * std::abs(s.log_prob) + 1e-9);
  // eval over "\n" + text with one row and chunks of 7 steps (state carried across chunks)
  std::vector<int64_t> ids = m->config().vocab.encode(data::utf8_decode("\n" + text, "t"));
  LmEval e = evaluate_lm(*m, ids, 1, 7);
  EXPECT_EQ(e.tokens, 31);
  EXPECT_NEAR(e.loss_nats * 31, -s.log_prob, 1e-4 * std::abs(s.log_prob));
  fs::remove_all(d);
}

// The plain beam search (every beam's whole sequence copied each step), to check the streamed one.
std::string reference_beam(LanguageModel& m, const std::string& prime, int64_t length, size_t width) {
  NoGradGuard ng;
  m.eval();
  const data::Vocab& vocab = m.vocab();
  const int64_t V = m.vocab_size();
  std::unique_ptr<LmStreams> st = m.streams();
  std::vector<int64_t> ids{vocab.id("\n")};
  for (int64_t id : vocab.encode_line(data::utf8_decode(prime, "prime"))) ids.push_back(id);
  Tensor l = log_softmax(Var(st->feed(ids, static_cast<int64_t>(ids.size()), 1))).value().contiguous();
  std::vector<double> cur(l.data() + (l.numel() - V), l.data() + l.numel());
  std::vector<double> score{0.0};
  std::vector<std::vector<int64_t>> seqs{{}};
  for (int64_t step = 0; step < length; ++step) {
    std::vector<std::pair<double, int64_t>> cand;
    for (size_t b = 0; b < score.size(); ++b)
      for (int64_t v = 1; v < V; ++v) cand.push_back({score[b] + cur[b * V + v], static_cast<int64_t>(b) * V + v});
    const size_t K = std::min(width, cand.size());
    std::sort(cand.begin(), cand.end(), [](auto& a, auto& c) { return a.first > c.first || (a.first == c.first && a.second < c.second); });
    std::vector<int64_t> from(K), next(K);
    std::vector<std::vector<int64_t>> nseqs(K);
    score.assign(K, 0.0);
    for (size_t k = 0; k < K; ++k) {
      from[k] = cand[k].second / V, next[k] = cand[k].second % V, score[k] = cand[k].first;
      nseqs[k] = seqs[static_cast<size_t>(from[k])];
      nseqs[k].push_back(next[k]);
    }
    seqs = std::move(nseqs);
    st->reorder(from);
    Tensor n = log_softmax(Var(st->feed(next, 1, static_cast<int64_t>(K)))).value().contiguous();
    cur.assign(n.data(), n.data() + n.numel());
  }
  std::string out = prime;
  for (int64_t id : seqs[0]) out += vocab.render(id);
  return out;
}

// Beam search streams: the prime first, then tokens as soon as every beam agrees on them (many pieces
// before the end), and the text is exactly the plain beam search's.
TEST(LmSample, StreamedBeamSearchEqualsThePlainOne) {
  fs::path d = recurrent::testing::fresh_temp_dir("lm-beam");
  LmTrainOptions o = char_opts(char_excerpt(d), d);
  o.max_steps = 10;
  ASSERT_EQ(train_lm(o), TrainOutcome::stopped);
  std::unique_ptr<LanguageModel> m = load_lm(d.string());
  for (int64_t width : {2, 3, 5}) {
    SampleOptions so;
    so.prime = "Call me";
    so.length = 120;
    so.beam = width;
    std::vector<std::string> pieces;
    sample_lm(*m, so, [&](const std::string& s) { pieces.push_back(s); });
    std::string out;
    for (const std::string& p : pieces) out += p;
    EXPECT_EQ(out, reference_beam(*m, so.prime, so.length, static_cast<size_t>(width))) << "beam " << width;
    ASSERT_FALSE(pieces.empty());
    EXPECT_EQ(pieces[0], "Call me");
  }
  fs::remove_all(d);
}

TEST(LmSample, SameSeedSameTextAndBeamOneIsGreedy) {
  fs::path d = recurrent::testing::fresh_temp_dir("lm-sample");
  LmTrainOptions o = char_opts(char_excerpt(d), d);
  o.max_steps = 10;
  ASSERT_EQ(train_lm(o), TrainOutcome::stopped);
  std::unique_ptr<LanguageModel> m = load_lm(d.string());
  auto gen = [&](SampleOptions so) {
    std::string out;
    sample_lm(*m, so, [&](const std::string& s) { out += s; });
    return out;
  };
  SampleOptions so;
  so.prime = "Call me";
  so.length = 80;
  so.seed = 5;
  so.temperature = 0.9;
  const std::string a = gen(so), b = gen(so);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.rfind("Call me", 0), 0u);
  EXPECT_EQ(data::utf8_decode(a, "sample").size(), 7u + 80u);
  so.seed = 6;
  EXPECT_NE(gen(so), a);
  so.top_k = 1;
  const std::string greedy = gen(so);
  so.seed = 99;
  EXPECT_EQ(gen(so), greedy);  // top-k 1 leaves no choice
  so.top_k = 0;
  so.beam = 1;
  EXPECT_EQ(gen(so), greedy);  // a beam of one is greedy decoding
  so.beam = 3;
  EXPECT_EQ(gen(so), gen(so));
  so.beam = 0;
  so.top_p = 1e-6;  // nucleus of one token
  EXPECT_EQ(gen(so), greedy);
  // the CLI streams the same text for the same seed
  CmdResult r1 = run("sample --model " + d.string() + " --prime 'Call me' --length 40 --seed 3 --threads 1");
  CmdResult r2 = run("sample --model " + d.string() + " --prime 'Call me' --length 40 --seed 3 --threads 2");
  ASSERT_EQ(r1.status, 0) << r1.out;
  EXPECT_EQ(r1.out, r2.out);
  fs::remove_all(d);
}

TEST(LmCli, TrainEvalScoreEndToEndAndErrors) {
  fs::path d = recurrent::testing::fresh_temp_dir("lm-cli");
  const std::string text = char_excerpt(d), m = (d / "m").string();
  CmdResult t = run("train lm --data " + text + " --hidden 16 --layers 1 --embed 8 --seq-len 16 --batch 8 --epochs 1 "
                    "--out " + m + " --threads 1 --log-every 0");
  ASSERT_EQ(t.status, 0) << t.out;
  EXPECT_NE(t.out.find("test: "), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("valid "), std::string::npos) << t.out;  // the epoch line
  for (const char* f : {"best.safetensors", "last.safetensors", "metrics.csv", "results.json"})
    EXPECT_TRUE(fs::exists(fs::path(m) / f)) << f;
  EXPECT_EQ(data::read_lines(m + "/metrics.csv")[0], "step,epoch,train_loss,valid_loss,grad_norm,lr,tokens_per_s,elapsed_s");

  CmdResult e = run("eval --model " + m + " --data " + text + " --json");
  ASSERT_EQ(e.status, 0) << e.out;
  for (const char* k : {"\"tokens\":", "\"loss_nats\":", "\"bits_per_token\":", "\"perplexity\":"})
    EXPECT_NE(e.out.find(k), std::string::npos) << e.out;
  CmdResult s = run("score --model " + m + " 'the sea'");
  ASSERT_EQ(s.status, 0) << s.out;
  EXPECT_NE(s.out.find("log P = -"), std::string::npos) << s.out;
  CmdResult js = run("score --model " + m + " --json < " + kFix + "moby_heldout.txt");  // lines on stdin
  ASSERT_EQ(js.status, 0) << js.out;
  EXPECT_EQ(std::count(js.out.begin(), js.out.end(), '\n'), 200) << js.out.substr(0, 300);
  EXPECT_EQ(js.out.rfind("{\"log2_prob\":", 0), 0u) << js.out.substr(0, 300);

  const std::string bin = (d / "bad.txt").string();
  data::write_file(bin, std::string("ok\xC3\x28", 4));
  struct Bad {
    std::string args, expect;
  } bad[] = {
      {"train lm --data " + bin + " --out " + m + "-new", "invalid UTF-8 at byte offset"},
      {"train lm --data " + text + " --level byte --out " + m + "-new", "--level"},
      {"train lm --data " + text + " --cell lstmx --out " + m + "-new", "--cell"},
      {"train lm --data " + text + " --hidden 16,8,4 --layers 2 --out " + m + "-new", "--hidden"},
      {"train lm --data " + text + " --hidden 16 --embed 8 --tie-weights --out " + m + "-new", "--tie-weights"},
      {"train lm --data " + text + " --batch 100000 --hidden 8 --seq-len 4 --out " + m + "-new", "too few for 100000 rows"},
      {"train lm --data " + text + " --optimizer adamax --out " + m + "-new", "--optimizer"},
      {"train lm --data " + text + " --time-budget 5q --out " + m + "-new", "--time-budget"},
      {"train lm --data " + text + " --resume " + d.string(), "no last.safetensors"},
      {"train lm --data " + text + " --hidden 16 --layers 1 --optimizer sgd --lr 1e38 --clip 0 --out " + m + "x",
       " step "},  // a NaN/Inf loss (training or validation) is reported with the step
      {"train lm --data " + text + " --resume " + m + " --batch 4", "--batch: the run in " + m + " was trained with --batch 8"},
      {"train lm --data " + text + " --out " + m, "--out: " + m + " holds another run"},
      {"train lm --data " + kFix + "moby_heldout.txt --seq-len 16 --batch 8 --resume " + m, "resume with the same --data"},
      {"eval --model " + d.string() + " --data " + text, "no best.safetensors or last.safetensors"},
      {"eval --model " + bin + " --data " + text, bin},
      {"sample --model " + m + " --temperature -1", "--temperature"},
      {"sample --model " + m + " --beam 2 --top-k 5", "--top-k: applies to sampling"},
      {"sample --model " + m + " --condition news", "--condition: applies to a conditional LM"},
      {"sample --model " + m + " --top-p 1.5", "--top-p"},
  };
  for (const Bad& b : bad) {
    CmdResult r = run(b.args + " --threads 1");
    EXPECT_NE(r.status, 0) << b.args << "\n" << r.out;
    EXPECT_NE(r.out.find(b.expect), std::string::npos) << b.args << "\n" << r.out;
    EXPECT_EQ(r.out.find("recurrent: error: "), r.out.rfind("recurrent: error: ")) << r.out;  // one error line
  }
  fs::remove_all(d);
}

TEST(LmConfig, JsonRoundTripAndTiedWeights) {
  LmConfig c;
  c.vocab = data::Vocab::build_words(data::utf8_decode("a b c a", "t"), {});
  c.embed = 6;
  c.layers = {{CellType::gru, 8, 0}, {CellType::lstm, 6, 0}};
  c.dropout = 0.25f;
  c.tie_weights = true;
  LmConfig r = LmConfig::from_json(c.to_json(), "t");
  EXPECT_EQ(r.to_json(), c.to_json());
  Rng rng(1);
  LanguageModel m(r, rng);
  EXPECT_FALSE(m.has_parameter("decoder.weight"));  // the embedding is the decoder
  RNNState st;
  EXPECT_EQ(m.forward({1, 2, 3, 2}, 2, 2, st).shape(), (Shape{2, 2, 5}));
  EXPECT_THROW(LmConfig::from_json("{\"task\":\"classify\"}", "t"), Error);
  EXPECT_THROW(LmConfig::from_json("not json", "t"), Error);
}

// --init-range draws every weight and bias from U(−a, a) but leaves the norms' gains and biases and RG-LRU's Λ as
// their cells initialise them (γ = 1 for layer norm, 0.1 for batch norm, β = 0): drawn, the norms would start
// near zero. A plain LSTM's parameters are all drawn.
TEST(LmInitRange, DrawsWeightsAndLeavesNormGainsAndLambda) {
  LmConfig c;
  c.vocab = data::Vocab::build_words(data::utf8_decode("a b c a", "t"), {});
  c.embed = 4;
  c.layers = {{CellType::lstm_ln, 6, 0}, {CellType::lstm_bn, 5, 0}, {CellType::rglru, 4, 0}, {CellType::lstm, 3, 0}};
  Rng rng_fresh(1), rng_drawn(1), init(2);
  LanguageModel fresh(c, rng_fresh), m(c, rng_drawn);
  m.init_uniform(0.1f, init);
  int kept = 0, drawn = 0;
  const auto before = fresh.named_parameters();
  const auto after = m.named_parameters();
  ASSERT_EQ(before.size(), after.size());
  for (size_t k = 0; k < after.size(); ++k) {
    const std::string& name = after[k].first;
    const Tensor a = after[k].second.value(), b = before[k].second.value();
    double max_abs = 0.0;
    bool same = true;
    for (int64_t i = 0; i < a.numel(); ++i) {
      max_abs = std::max(max_abs, static_cast<double>(std::fabs(a.data()[i])));
      same = same && a.data()[i] == b.data()[i];
    }
    if (keeps_own_init(name)) {
      ++kept;
      EXPECT_TRUE(same) << name << " was redrawn";
    } else {
      ++drawn;
      EXPECT_LE(max_abs, 0.1) << name;
      EXPECT_FALSE(same) << name << " was not drawn";
    }
  }
  EXPECT_EQ(kept, 4 + 4 + 1) << "ln_weight_ih/hh, ln_weight_c, ln_bias_c; bn_ the same four; lambda_l2";
  EXPECT_GT(drawn, 10);
  EXPECT_TRUE(keeps_own_init("rnn.ln_weight_ih_l0_reverse") && keeps_own_init("bn_bias_c_l1") &&
              keeps_own_init("rnn.lambda_l3") && !keeps_own_init("rnn.weight_ln_x") && !keeps_own_init("rnn.bias_ih_l0"));
}

// --precision: saved in the model's config ("precision"), absent in older models (= fp32); a bf16 model
// is trained, evaluated and sampled in bf16 (its RNN options carry it), or refused with one error line
// on a CPU without AVX512_BF16.
TEST(LmConfig, PrecisionIsSavedAndOlderModelsAreFp32) {
  LmConfig c;
  c.vocab = data::Vocab::build_words(data::utf8_decode("a b c a", "t"), {});
  c.embed = 6;
  c.layers = {{CellType::lstm, 8, 0}};
  EXPECT_NE(c.to_json().find("\"precision\":\"fp32\""), std::string::npos);
  nlohmann::json old = nlohmann::json::parse(c.to_json());
  old.erase("precision");  // a model saved before the option existed
  EXPECT_EQ(LmConfig::from_json(old.dump(), "t").precision, Precision::fp32);
  old["precision"] = "fp8";
  EXPECT_THROW(LmConfig::from_json(old.dump(), "t"), Error);
  if (!bf16_available()) return;
  c.precision = Precision::bf16;
  LmConfig r = LmConfig::from_json(c.to_json(), "t");
  EXPECT_EQ(r.precision, Precision::bf16);
  EXPECT_EQ(r.rnn_options().precision, Precision::bf16);
}

TEST(LmCli, Bf16TrainsSavesAndSamplesInBf16) {
  fs::path d = recurrent::testing::fresh_temp_dir("lm-bf16");
  const std::string text = char_excerpt(d), m = (d / "m").string();
  CmdResult t = run("train lm --data " + text + " --hidden 40 --layers 1 --embed 8 --seq-len 16 --batch 8 --max-steps 3 "
                    "--precision bf16 --out " + m + " --threads 1 --log-every 0");
  if (!bf16_available()) {
    EXPECT_NE(t.status, 0);
    EXPECT_NE(t.out.find("bf16"), std::string::npos) << t.out;
    fs::remove_all(d);
    return;
  }
  ASSERT_EQ(t.status, 0) << t.out;
  const train::LoadedCheckpoint ck = train::read_checkpoint(m + "/last.safetensors");
  EXPECT_EQ(nlohmann::json::parse(ck.config_json).at("precision"), "bf16");
  auto model = open_lm(m);
  auto* lm = dynamic_cast<LanguageModel*>(model.get());
  ASSERT_NE(lm, nullptr);
  EXPECT_EQ(lm->rnn().options().precision, Precision::bf16);
  CmdResult s = run("sample --model " + m + " --prime 'Call me' --length 20 --seed 3 --threads 1");
  ASSERT_EQ(s.status, 0) << s.out;
  EXPECT_EQ(s.out.rfind("Call me", 0), 0u) << s.out;
  CmdResult e = run("eval --model " + m + " --data " + text + " --json --threads 1");
  ASSERT_EQ(e.status, 0) << e.out;
  CmdResult tf = run("train lm --arch transformer --data " + text + " --precision bf16 --out " + m + "t --threads 1");
  EXPECT_NE(tf.status, 0);
  EXPECT_NE(tf.out.find("--precision"), std::string::npos) << tf.out;
  fs::remove_all(d);
}

// The valid_loss column of an LM run's metrics.csv (rows written at epoch ends; the others leave it empty).
std::vector<double> lm_valid_losses(const fs::path& run) {
  std::vector<double> v;
  const std::vector<std::string> lines = data::read_lines((run / "metrics.csv").string());
  for (size_t i = 1; i < lines.size(); ++i) {
    size_t c = 0;
    for (int k = 0; k < 3; ++k) c = lines[i].find(',', c) + 1;  // step, epoch, train_loss, valid_loss
    const std::string f = lines[i].substr(c, lines[i].find(',', c) - c);
    if (!f.empty()) v.push_back(std::stod(f));
  }
  return v;
}

TEST(LmEarlyStop, StopsByItselfWhenValidationStopsImprovingAndKeepsTheBestWeights) {
  // Random characters (no pattern to learn beyond their frequencies): a 64-unit LSTM memorises 1,200 training
  // characters while the validation loss, after its best epoch, only rises; --stop-patience 3 ends the run long
  // before --epochs 200, and the model is the best epoch's.
  set_num_threads(1);
  fs::path d = recurrent::testing::fresh_temp_dir("lm-earlystop");
  Rng r(4);
  auto random_text = [&](int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += static_cast<char>('a' + r.below(8));
    return s;
  };
  data::write_file((d / "train.txt").string(), random_text(1200));
  data::write_file((d / "valid.txt").string(), random_text(400));
  LmTrainOptions o = char_opts((d / "train.txt").string(), d / "run");
  o.valid = (d / "valid.txt").string();
  o.cells = "lstm", o.hidden = "64", o.layers = 1, o.embed = 16, o.dropout = 0.0;
  o.epochs = 200, o.lr = 1e-2, o.stop_patience = 3;
  ASSERT_EQ(train_lm(o), TrainOutcome::finished);
  const nlohmann::json res = nlohmann::json::parse(data::read_file((d / "run" / "results.json").string()));
  const int64_t epochs = res.at("epochs_completed").get<int64_t>(), best = res.at("best_epoch").get<int64_t>();
  EXPECT_TRUE(res.at("stopped_early").get<bool>());
  EXPECT_LT(epochs, 60);
  EXPECT_EQ(epochs, best + 3);
  const std::vector<double> v = lm_valid_losses(d / "run");
  ASSERT_EQ(static_cast<int64_t>(v.size()), epochs);
  EXPECT_GT(v.back(), *std::min_element(v.begin(), v.end()));
  EXPECT_NEAR(res.at("valid").at("loss_nats").get<double>(), v[static_cast<size_t>(best - 1)], 1e-4);
  // --stop-patience 0: no early stop (the same run goes on to --epochs).
  o.stop_patience = 0, o.epochs = epochs + 2, o.out = (d / "off").string();
  ASSERT_EQ(train_lm(o), TrainOutcome::finished);
  EXPECT_EQ(nlohmann::json::parse(data::read_file((d / "off" / "results.json").string())).at("epochs_completed"), epochs + 2);
  fs::remove_all(d);
}
