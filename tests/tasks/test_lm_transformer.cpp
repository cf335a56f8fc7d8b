// The transformer language model in the LM task (tasks/lm_transformer.h), on the Moby Dick excerpt
// of tests/fixtures/lm:
//  * its KV-cache streams give the logits of a full forward over the window they hold, however the
//    tokens are fed, across window slides, and after a beam reorder;
//  * an interrupted and resumed run (dropout on, warm-up, mid-epoch stops) ends with the same
//    weights and optimizer state as an uninterrupted one;
//  * scoring agrees with evaluation, sampling is deterministic, beam 1 = greedy;
//  * `train lm --arch transformer` → eval / score / sample through the CLI, and one-line errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"
#include "recurrent/data/text_file.h"
#include "recurrent/data/utf8.h"
#include "recurrent/io/safetensors.h"
#include "recurrent/tasks/lm_transformer.h"
#include "run_cli.h"
#include "same_tensors.h"
#include "temp_dir.h"

using namespace recurrent;
using namespace recurrent::tasks;
namespace fs = std::filesystem;
using recurrent::testing::CmdResult;
using recurrent::testing::run;

namespace {

const std::string kLmFix = std::string(RECURRENT_TEST_DATA) + "/lm/";

std::string transformer_char_excerpt(const fs::path& dir, size_t n = 12000) {
  const std::string p = (dir / "excerpt.txt").string();
  data::write_file(p, data::read_file(kLmFix + "moby_train.txt").substr(0, n));
  return p;
}

LmTrainOptions tf_opts(const std::string& data, const fs::path& out) {
  LmTrainOptions o;
  o.data = data;
  o.out = out.string();
  o.arch = "transformer";
  o.layers = 2, o.heads = 2, o.d_model = 16, o.ff = 32, o.context = 16;
  o.seq_len = 16, o.batch = 8, o.epochs = 2;
  o.dropout = 0.1;  // every dropout stream must resume where it stopped
  o.warmup = 20;
  o.lr = 3e-3;
  o.log_interval = 5;
  o.quiet = true;
  return o;
}

TransformerLmConfig small_transformer_config(int64_t context) {
  TransformerLmConfig c;
  c.vocab = data::Vocab::build_chars(data::utf8_decode("abcdefgh ij\n", "t"));
  c.layers = 2, c.heads = 2, c.d_model = 8, c.ff = 16, c.context = context;
  return c;
}

// logits [T, V] of the last step of a full (tape-free) forward over `window`, as the reference.
std::vector<float> last_logits(TransformerLanguageModel& m, const std::vector<int64_t>& window) {
  NoGradGuard ng;
  RNNState none;
  Tensor l = m.forward_chunk(window, static_cast<int64_t>(window.size()), 1, none).value().contiguous();
  const int64_t V = m.vocab_size();
  return std::vector<float>(l.data() + l.numel() - V, l.data() + l.numel());
}

void expect_close(const std::vector<float>& a, const float* b, const std::string& what) {
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::abs(a[i] - b[i]) > worst) worst = std::abs(a[i] - b[i]), at = i;
  EXPECT_LT(worst, 1e-4) << what << ": worst difference " << worst << " at " << at;
}

using recurrent::testing::same_tensors;

}  // namespace

TEST(LmTransformerStreams, MatchFullForwardOverTheWindowAcrossSlides) {
  Rng rng(3);
  TransformerLanguageModel m(small_transformer_config(8), rng);
  m.eval();
  std::vector<int64_t> ids;
  for (int i = 0; i < 21; ++i) ids.push_back(1 + (i * 7 + i / 3) % 11);
  const int64_t V = m.vocab_size();
  // Fed one at a time and all at once: the same logits.
  auto one = m.streams(), all = m.streams();
  Tensor whole = all->feed(ids, 21, 1);  // [21, 1, V]
  m.set_recompute(true);  // no cache: every token re-runs its window (sample --no-kv-cache)
  Tensor again = m.streams()->feed(ids, 21, 1);
  m.set_recompute(false);
  size_t start = 0, len = 0;  // the window the cache holds: ids[start, start + len)
  for (size_t t = 0; t < ids.size(); ++t) {
    if (len == 8) start += 4, len = 4;  // full: slide to the last C/2 = 4
    ++len;
    Tensor l = one->feed({ids[t]}, 1, 1);
    std::vector<int64_t> window(ids.begin() + static_cast<long>(start), ids.begin() + static_cast<long>(start + len));
    const std::vector<float> ref = last_logits(m, window);
    expect_close(ref, l.data(), "one at a time, step " + std::to_string(t));
    expect_close(ref, whole.data() + t * V, "all at once, step " + std::to_string(t));
    expect_close(ref, again.data() + t * V, "recomputed, step " + std::to_string(t));
  }
}

TEST(LmTransformerStreams, ReorderContinuesTheChosenStreams) {
  Rng rng(4);
  TransformerLanguageModel m(small_transformer_config(6), rng);
  m.eval();
  const std::vector<int64_t> a{1, 2, 3, 4, 5}, b{6, 7, 8, 9, 10};
  auto s = m.streams();
  std::vector<int64_t> tm;  // [5, 2] time-major
  for (size_t t = 0; t < 5; ++t) tm.insert(tm.end(), {a[t], b[t]});
  s->feed(tm, 5, 2);
  s->reorder({1, 1, 0});  // beams: b, b, a
  Tensor l = s->feed({3, 4, 11}, 1, 3);  // the sixth token fills the context; a seventh slides
  Tensor l2 = s->feed({2, 2, 2}, 1, 3);
  const int64_t V = m.vocab_size();
  const std::vector<std::vector<int64_t>> seqs{{6, 7, 8, 9, 10, 3, 2}, {6, 7, 8, 9, 10, 4, 2}, {1, 2, 3, 4, 5, 11, 2}};
  for (int64_t k = 0; k < 3; ++k) {
    const auto& q = seqs[static_cast<size_t>(k)];
    expect_close(last_logits(m, {q.begin(), q.begin() + 6}), l.data() + k * V, "beam " + std::to_string(k));
    expect_close(last_logits(m, {q.begin() + 3, q.end()}), l2.data() + k * V, "beam " + std::to_string(k) + " slid");
  }
}

TEST(LmTransformerResume, InterruptedTwiceEqualsUninterrupted) {
  set_num_threads(2);
  fs::path d = recurrent::testing::fresh_temp_dir("tlm-resume");
  const std::string text = transformer_char_excerpt(d);
  LmTrainOptions a = tf_opts(text, d / "a");
  ASSERT_EQ(train_lm(a), TrainOutcome::finished);

  LmTrainOptions b = tf_opts(text, d / "b");
  b.max_steps = 7;  // mid-epoch 1, inside the warm-up
  ASSERT_EQ(train_lm(b), TrainOutcome::stopped);
  b.resume = b.out;
  b.warmup = 0;  // resume takes the run's own warm-up from the checkpoint
  b.max_steps = 100;  // mid-epoch 2 (an epoch here is ~84 steps)
  ASSERT_EQ(train_lm(b), TrainOutcome::stopped);
  b.max_steps = 0;
  ASSERT_EQ(train_lm(b), TrainOutcome::finished);

  io::SafeTensors la = io::read_safetensors((d / "a" / "last.safetensors").string());
  io::SafeTensors lb = io::read_safetensors((d / "b" / "last.safetensors").string());
  std::string why;
  EXPECT_TRUE(same_tensors(la, lb, "model.", why)) << why;
  EXPECT_TRUE(same_tensors(la, lb, "optim.", why)) << why;
  EXPECT_TRUE(la.contains("model.transformer.layers.1.self_attn.in_proj_weight"));
  const nlohmann::json ra = nlohmann::json::parse(data::read_file((d / "a" / "results.json").string()));
  const nlohmann::json rb = nlohmann::json::parse(data::read_file((d / "b" / "results.json").string()));
  EXPECT_EQ(ra["arch"], "transformer");
  EXPECT_EQ(ra["valid"]["loss_nats"], rb["valid"]["loss_nats"]);
  EXPECT_EQ(ra["test"]["loss_nats"], rb["test"]["loss_nats"]);
  fs::remove_all(d);
}

TEST(LmTransformer, ScoreAgreesWithEvaluationAndSamplingIsDeterministic) {
  fs::path d = recurrent::testing::fresh_temp_dir("tlm-score");
  LmTrainOptions o = tf_opts(transformer_char_excerpt(d), d);
  o.max_steps = 10;
  ASSERT_EQ(train_lm(o), TrainOutcome::stopped);
  std::unique_ptr<LmModel> m = open_lm(d.string());
  EXPECT_THROW(load_lm(d.string()), Error);  // the RNN-only loader names the mismatch
  const std::string text = "Call me Ishmael. Some years ago";  // 31 tokens: the 16-step window slides
  TextScore s = score_text(*m, text);
  ASSERT_EQ(s.tokens.size(), 31u);
  std::vector<int64_t> ids = m->vocab().encode(data::utf8_decode("\n" + text, "t"));
  LmEval e = evaluate_lm(*m, ids, 1, 7);
  EXPECT_EQ(e.tokens, 31);
  EXPECT_NEAR(e.loss_nats * 31, -s.log_prob, 1e-4 * std::abs(s.log_prob));

  auto gen = [&](SampleOptions so) {
    std::string out;
    sample_lm(*m, so, [&](const std::string& x) { out += x; });
    return out;
  };
  SampleOptions so;
  so.prime = "Call me";
  so.length = 40;  // past the context: the stream slides
  so.seed = 5;
  const std::string a = gen(so);
  EXPECT_EQ(a, gen(so));
  EXPECT_EQ(data::utf8_decode(a, "sample").size(), 7u + 40u);
  so.top_k = 1;
  const std::string greedy = gen(so);
  so.top_k = 0;
  so.beam = 1;
  EXPECT_EQ(gen(so), greedy);
  so.beam = 3;
  EXPECT_EQ(gen(so), gen(so));
  fs::remove_all(d);
}

TEST(LmTransformerCli, TrainEvalScoreSampleAndErrors) {
  fs::path d = recurrent::testing::fresh_temp_dir("tlm-cli");
  const std::string text = transformer_char_excerpt(d), m = (d / "m").string();
  CmdResult t = run("train lm --arch transformer --layers 1 --heads 2 --d-model 16 --ff 32 --context 16 --pos sinusoidal "
                    "--batch 8 --epochs 1 --warmup 10 --lr 3e-3 --data " + text + " --out " + m + " --threads 1 --log-every 0");
  ASSERT_EQ(t.status, 0) << t.out;
  EXPECT_NE(t.out.find("1 transformer layers (d_model 16, 2 heads, context 16)"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("test: "), std::string::npos) << t.out;
  for (const char* f : {"best.safetensors", "last.safetensors", "metrics.csv", "results.json"})
    EXPECT_TRUE(fs::exists(fs::path(m) / f)) << f;
  // It learned: held-out bits/char well below the uniform log2 V (the unigram entropy is ~4.3).
  const nlohmann::json r = nlohmann::json::parse(data::read_file(m + "/results.json"));
  const double V = 60;  // ≥ the excerpt's vocabulary
  EXPECT_LT(r["valid"]["bits_per_token"].get<double>(), std::log2(V) - 1.0) << r.dump();

  CmdResult e = run("eval --model " + m + " --data " + text + " --json");
  ASSERT_EQ(e.status, 0) << e.out;
  EXPECT_NE(e.out.find("\"bits_per_token\":"), std::string::npos) << e.out;
  CmdResult s = run("score --model " + m + " 'the sea'");
  ASSERT_EQ(s.status, 0) << s.out;
  EXPECT_NE(s.out.find("log P = -"), std::string::npos) << s.out;
  CmdResult s1 = run("sample --model " + m + " --prime 'Call me' --length 40 --top-k 5 --top-p 0.9 --seed 3 --threads 1");
  CmdResult s2 = run("sample --model " + m + " --prime 'Call me' --length 40 --top-k 5 --top-p 0.9 --seed 3 --threads 2");
  ASSERT_EQ(s1.status, 0) << s1.out;
  EXPECT_EQ(s1.out, s2.out);
  CmdResult bm = run("sample --model " + m + " --prime 'Call me' --length 20 --beam 3");
  ASSERT_EQ(bm.status, 0) << bm.out;
  EXPECT_EQ(bm.out.rfind("Call me", 0), 0u) << bm.out;

  struct Bad {
    std::string args, expect;
  } bad[] = {
      {"train lm --arch transformer --cell gru --data " + text + " --out " + m + "x", "--cell"},
      {"train lm --heads 2 --data " + text + " --out " + m + "x", "--heads"},
      {"train lm --arch transformer --heads 3 --d-model 16 --data " + text + " --out " + m + "x", "--d-model"},
      {"train lm --arch transformer --context 16 --seq-len 8 --data " + text + " --out " + m + "x", "--seq-len"},
      {"train lm --arch transformer --pos rotary --data " + text + " --out " + m + "x", "--pos"},
      {"train lm --arch lstm --data " + text + " --out " + m + "x", "--arch"},
      {"train lm --arch transformer --heads 2 --d-model 16 --ff 32 --context 16 --optimizer sgd --lr 1e38 --clip 0 "
       "--data " + text + " --out " + m + "y", " step "},  // NaN/Inf reported with the step
      {"train lm --data " + text + " --resume " + m + " --batch 4", "--batch: the run in " + m + " was trained with --batch 8"},
  };
  for (const Bad& b : bad) {
    CmdResult x = run(b.args + " --threads 1");
    EXPECT_NE(x.status, 0) << b.args << "\n" << x.out;
    EXPECT_NE(x.out.find(b.expect), std::string::npos) << b.args << "\n" << x.out;
    EXPECT_EQ(x.out.find("recurrent: error: "), x.out.rfind("recurrent: error: ")) << x.out;
  }
  fs::remove_all(d);
}

TEST(LmTransformerConfig, JsonRoundTripAndDispatch) {
  TransformerLmConfig c = small_transformer_config(12);
  c.pos = PositionalKind::sinusoidal;
  c.dropout = 0.25f;
  TransformerLmConfig r = TransformerLmConfig::from_json(c.to_json(), "t");
  EXPECT_EQ(r.to_json(), c.to_json());
  Rng rng(1);
  std::unique_ptr<LmModel> m = make_lm(c.to_json(), "t", rng);
  ASSERT_NE(dynamic_cast<TransformerLanguageModel*>(m.get()), nullptr);
  EXPECT_FALSE(m->has_parameter("transformer.pos_emb.weight"));  // sinusoidal: no table
  EXPECT_FALSE(m->has_parameter("transformer.head.weight"));     // tied to the token embedding
  EXPECT_THROW(LmConfig::from_json(c.to_json(), "t"), Error);
  EXPECT_THROW(make_lm("{\"task\":\"lm\",\"arch\":\"mamba\"}", "t", rng), Error);
  c.d_model = 9;  // not a multiple of 2 heads
  EXPECT_THROW(TransformerLmConfig::from_json(c.to_json(), "t"), Error);
}
