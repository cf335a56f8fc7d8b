// The transformer encoder-decoder (tasks/seq2seq.h, `--arch transformer`):
//  * configuration JSON round trip, and errors naming the option for bad sizes;
//  * decoding = training: the step-by-step decoder (with the KV cache and without it) gives the
//    teacher-forced log-probabilities, for a batch of sources of different lengths (padding);
//  * padding a pair into a batch with longer ones does not change its logits;
//  * greedy and beam translations are the same with and without the KV cache (beam search also
//    reorders the caches), and beam width 1 is greedy;
//  * a saved checkpoint loads into the same function (load_seq2seq);
//  * finite differences of the whole model's loss w.r.t. every parameter (no new op: this checks
//    the composition — scaled embeddings, positions, cross-attention, tied output);
//  * a synthetic translation (reverse the words, map w_i → v_i) is learned to BLEU ≥ 90 while the
//    same model untrained stays below 10 (the control shows the test can fail);
//  * an interrupted and resumed run (with dropout and warm-up) ends with the same weights.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <functional>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"
#include "recurrent/data/text_file.h"
#include "recurrent/io/safetensors.h"
#include "recurrent/tasks/seq2seq.h"
#include "recurrent/train/checkpoint.h"
#include "temp_dir.h"

using namespace recurrent;
using namespace recurrent::tasks;
namespace fs = std::filesystem;

namespace {

Seq2SeqConfig tiny_seq2seq_transformer(int64_t depth = 2, int64_t d_model = 8, int64_t heads = 2, int64_t ff = 12) {
  Seq2SeqConfig c;
  c.arch = "transformer";
  c.src = TokenVocab({"<unk>", "a", "b", "c", "d"});
  c.tgt = TokenVocab({"<unk>", "<bos>", "<eos>", "x", "y", "z"});
  c.depth = depth, c.d_model = d_model, c.heads = heads, c.ff = ff;
  return c;
}

std::unique_ptr<TransformerSeq2Seq> make(const Seq2SeqConfig& c, uint64_t seed) {
  Rng rng(seed);
  auto m = std::make_unique<TransformerSeq2Seq>(c, rng);
  m->eval();
  return m;
}

std::string s2s_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Seq2SeqTransformerConfig, JsonRoundTripAndErrors) {
  Seq2SeqConfig c = tiny_seq2seq_transformer(3, 16, 4, 20);
  c.dropout = 0.25f;
  const Seq2SeqConfig r = Seq2SeqConfig::from_json(c.to_json(), "cfg");
  EXPECT_EQ(r.arch, "transformer");
  EXPECT_EQ(r.depth, 3);
  EXPECT_EQ(r.d_model, 16);
  EXPECT_EQ(r.heads, 4);
  EXPECT_EQ(r.ff, 20);
  EXPECT_FLOAT_EQ(r.dropout, 0.25f);
  EXPECT_EQ(r.tgt.tokens(), c.tgt.tokens());
  EXPECT_EQ(r.to_json(), c.to_json());
  const std::pair<Seq2SeqConfig, std::string> bad[] = {
      {tiny_seq2seq_transformer(0), "--layers: expected >= 1"},
      {tiny_seq2seq_transformer(1, 10, 4), "--d-model: expected a positive multiple of --heads 4, got 10"},
      {tiny_seq2seq_transformer(1, 8, 0), "--heads: expected >= 1"},
      {tiny_seq2seq_transformer(1, 8, 2, 0), "--ff: expected >= 1"},
  };
  for (const auto& [cfg, want] : bad) {
    Rng rng(1);
    const std::string e = s2s_error_of([&] { make_seq2seq(cfg, rng); });
    EXPECT_NE(e.find(want), std::string::npos) << e;
  }
  Seq2SeqConfig other = tiny_seq2seq_transformer();
  other.arch = "transformers";
  EXPECT_NE(s2s_error_of([&] { other.validate(); }).find("--arch: expected rnn or transformer"), std::string::npos);
}

// Teacher-forced log-probabilities [B, T, V].
Tensor forced_log_probs(Seq2SeqModel& m, const std::vector<std::vector<int64_t>>& src, const std::vector<std::vector<int64_t>>& tgt) {
  NoGradGuard ng;
  Seq2SeqBatch b;
  for (size_t i = 0; i < src.size(); ++i) b.src.push_back(&src[i]), b.tgt.push_back(&tgt[i]);
  return log_softmax(m.forward(b)).value().contiguous();
}

TEST(Seq2SeqTransformer, StepwiseDecodingWithAndWithoutCacheEqualsTeacherForcing) {
  const std::vector<std::vector<int64_t>> src = {{1, 2, 3, 4, 1}, {4, 2}, {3}};
  const std::vector<std::vector<int64_t>> tgt = {{3, 4, 5, 3}, {5}, {4, 4, 3, 5}};
  for (bool cache : {true, false}) {
    auto m = make(tiny_seq2seq_transformer(), 3);
    m->set_kv_cache(cache);
    const Tensor lp = forced_log_probs(*m, src, tgt);  // [3, 5, V]
    const int64_t B = 3, T = lp.size(1), V = lp.size(2);
    NoGradGuard ng;
    std::unique_ptr<DecoderState> st = m->start({&src[0], &src[1], &src[2]});
    for (int64_t t = 0; t < T; ++t) {
      std::vector<int64_t> prev;
      for (int64_t b = 0; b < B; ++b) {
        const auto& y = tgt[static_cast<size_t>(b)];
        prev.push_back(t == 0 ? kBos : t - 1 < static_cast<int64_t>(y.size()) ? y[t - 1] : kEos);
      }
      const Tensor s = m->step(*st, prev);  // [B, V]
      for (int64_t b = 0; b < B; ++b) {
        if (t > static_cast<int64_t>(tgt[static_cast<size_t>(b)].size())) continue;  // past <eos>: padding
        for (int64_t v = 0; v < V; ++v)
          ASSERT_NEAR(s.data()[b * V + v], lp.data()[(b * T + t) * V + v], 2e-5)
              << "cache " << cache << " b " << b << " t " << t << " v " << v;
      }
    }
  }
}

TEST(Seq2SeqTransformer, PaddingInABatchDoesNotChangeLogits) {
  auto m = make(tiny_seq2seq_transformer(), 4);
  const std::vector<std::vector<int64_t>> s1 = {{2, 3}}, t1 = {{4}};
  const std::vector<std::vector<int64_t>> s3 = {{1, 1, 4, 3, 2, 1}, {2, 3}, {4, 4, 4}};
  const std::vector<std::vector<int64_t>> t3 = {{3, 3, 3, 5, 4}, {4}, {5, 5}};
  const Tensor alone = forced_log_probs(*m, s1, t1), batched = forced_log_probs(*m, s3, t3);
  const int64_t V = alone.size(2), T = batched.size(1);
  for (int64_t t = 0; t < alone.size(1); ++t)
    for (int64_t v = 0; v < V; ++v) ASSERT_NEAR(alone.data()[t * V + v], batched.data()[(1 * T + t) * V + v], 1e-5);
}

TEST(Seq2SeqTransformer, TranslationsAreTheSameWithAndWithoutKvCache) {
  Seq2SeqConfig c = tiny_seq2seq_transformer(2, 16, 4, 24);
  c.tgt = TokenVocab({"<unk>", "<bos>", "<eos>", "p", "q", "r", "s", "t", "u"});
  auto m = make(c, 5);
  const std::vector<std::vector<int64_t>> src = {{1, 2, 3, 4, 1, 2}, {4}, {3, 3, 2, 1}, {2, 4, 4}, {1, 1, 1, 1, 1, 1, 1, 1}};
  for (int64_t beam : {1, 4}) {
    DecodeOptions o;
    o.beam = beam;
    o.max_len = 30;  // past the cache's first allocation (2·S + 12 ≥ 14 for these sources): it must grow
    m->set_kv_cache(true);
    const std::vector<Translation> a = translate(*m, src, o, 2);
    m->set_kv_cache(false);
    const std::vector<Translation> b = translate(*m, src, o, 2);
    for (size_t i = 0; i < src.size(); ++i) {
      EXPECT_EQ(a[i].ids, b[i].ids) << "beam " << beam << " source " << i;
      EXPECT_NEAR(a[i].log_prob, b[i].log_prob, 1e-4) << "beam " << beam << " source " << i;
      EXPECT_EQ(a[i].ended, b[i].ended);
    }
    if (beam == 1) {  // and width-1 beam search is greedy decoding
      m->set_kv_cache(true);
      DecodeOptions one = o;
      for (size_t i = 0; i < src.size(); ++i) EXPECT_EQ(beam_search(*m, src[i], one).ids, a[i].ids) << i;
    }
  }
}

TEST(Seq2SeqTransformer, CheckpointRoundTrip) {
  fs::path d = recurrent::testing::fresh_temp_dir("s2st-ckpt");
  Seq2SeqConfig c = tiny_seq2seq_transformer();
  c.dropout = 0.1f;
  auto m = make(c, 7);
  train::CheckpointData cd;
  cd.config_json = c.to_json();
  train::save_checkpoint((d / "m.safetensors").string(), *m, nullptr, cd);
  auto l = load_seq2seq((d / "m.safetensors").string());
  EXPECT_EQ(l->config().to_json(), c.to_json());
  EXPECT_EQ(l->num_parameters(), m->num_parameters());
  const std::vector<std::vector<int64_t>> src = {{1, 2, 3}, {4}}, tgt = {{3, 4}, {5, 5, 5}};
  const Tensor a = forced_log_probs(*m, src, tgt), b = forced_log_probs(*l, src, tgt);
  ASSERT_EQ(a.numel(), b.numel());
  for (int64_t i = 0; i < a.numel(); ++i) ASSERT_EQ(a.data()[i], b.data()[i]) << i;
  fs::remove_all(d);
}

// Finite differences of a lopsided loss (per-token weights) w.r.t. every parameter (tolerances of
// tests/autograd/gradcheck.h: atol 2e-3, rtol 1e-2, h = 1e-2).
TEST(Seq2SeqTransformer, GradientsMatchFiniteDifferences) {
  Rng rng(6);
  TransformerSeq2Seq m(tiny_seq2seq_transformer(1, 4, 2, 6), rng);
  m.train();  // dropout is 0: training mode only checks that path
  const std::vector<std::vector<int64_t>> src = {{1, 2, 3}, {4, 2}};
  const std::vector<std::vector<int64_t>> tgt = {{3, 4}, {5}};
  Seq2SeqBatch b;
  for (size_t i = 0; i < 2; ++i) b.src.push_back(&src[i]), b.tgt.push_back(&tgt[i]);
  CrossEntropyOptions co;
  co.weights = {0.3f, 1.7f, 0.9f, 1.1f, 0.6f, 0.0f};  // [B·T] = 2 × 3; the last is padding
  const std::vector<int64_t> targets = {3, 4, kEos, 5, kEos, 0};
  auto loss = [&] { return cross_entropy(m.forward(b), targets, co); };
  m.zero_grad();
  loss().backward();
  int64_t checked = 0;
  for (auto& [name, p] : m.named_parameters()) {
    Tensor g = p.grad().contiguous();
    float* x = p.value().data();
    for (int64_t j = 0; j < p.value().numel(); ++j, ++checked) {
      const float x0 = x[j], xp = x0 + 1e-2f, xm = x0 - 1e-2f;
      double lp, lm;
      {
        NoGradGuard ng;
        x[j] = xp;
        lp = loss().value().item();
        x[j] = xm;
        lm = loss().value().item();
        x[j] = x0;
      }
      const double num = (lp - lm) / (static_cast<double>(xp) - xm), ana = g.data()[j];
      ASSERT_LE(std::fabs(num - ana), 2e-3 + 1e-2 * std::fabs(num))
          << name << "[" << j << "]: analytic " << ana << ", numeric " << num;
    }
  }
  EXPECT_EQ(checked, m.num_parameters());
}

// Synthetic translation: source w_{k1} .. w_{kn} (n in 3..6, k in 0..7) → target v_{kn} .. v_{k1}.
std::string reverse_pairs_tsv(const fs::path& f, int n, uint64_t seed) {
  Rng r(seed);
  std::string s;
  for (int i = 0; i < n; ++i) {
    const int len = 3 + static_cast<int>(r.below(4));
    std::vector<int> k(static_cast<size_t>(len));
    for (int& x : k) x = static_cast<int>(r.below(8));
    std::string a, b;
    for (int j = 0; j < len; ++j) {
      a += (j ? " w" : "W") + std::to_string(k[static_cast<size_t>(j)]);
      b += (j ? " v" : "v") + std::to_string(k[static_cast<size_t>(len - 1 - j)]);
    }
    s += a + ".\t" + b + " .\n";
  }
  data::write_file(f.string(), s);
  return f.string();
}

Seq2SeqTrainOptions small_transformer_opts(const std::string& data, const fs::path& out) {
  Seq2SeqTrainOptions o;
  o.data = data;
  o.out = out.string();
  o.arch = "transformer";
  o.layers = 2;
  o.d_model = 32;
  o.heads = 4;
  o.ff = 64;
  o.batch = 16;
  o.epochs = 25;
  o.lr = 3e-3;
  o.warmup = 20;
  o.quiet = true;
  o.seed = 1;
  o.patience = 0;  // learning is under test, not early stopping: all 25 epochs (--patience 5 stopped at BLEU 89)
  return o;
}

double transformer_results_bleu(const fs::path& run, const char* set) {
  return nlohmann::json::parse(data::read_file((run / "results.json").string())).at(set).at("bleu").get<double>();
}

TEST(Seq2SeqTransformer, LearnsToReverseAndUntrainedDoesNot) {
  set_num_threads(1);
  fs::path d = recurrent::testing::fresh_temp_dir("s2st-reverse");
  const std::string data = reverse_pairs_tsv(d / "rev.tsv", 400, 21);
  Seq2SeqTrainOptions o = small_transformer_opts(data, d / "run");
  ASSERT_EQ(train_seq2seq(o), Seq2SeqOutcome::finished);
  EXPECT_GE(transformer_results_bleu(d / "run", "test"), 90.0);
  auto trained = load_seq2seq((d / "run").string());
  EXPECT_EQ(trained->config().arch, "transformer");
  Rng rng(9);
  auto untrained = make_seq2seq(trained->config(), rng);
  data::ParallelSet all = data::read_parallel(data), test;
  test.source = all.source;
  for (size_t i = 9; i < all.pairs.size(); i += 10) test.pairs.push_back(all.pairs[i]);
  const Seq2SeqEval e = evaluate_seq2seq(*trained, test, DecodeOptions{});
  EXPECT_GE(e.bleu, 90.0);
  EXPECT_GE(e.exact_match, 0.7);
  EXPECT_LT(evaluate_seq2seq(*untrained, test, DecodeOptions{}).bleu, 10.0);
  DecodeOptions beam;
  beam.beam = 3;
  EXPECT_GE(evaluate_seq2seq(*trained, test, beam).bleu, 90.0);
  fs::remove_all(d);
}

TEST(Seq2SeqTransformer, InterruptedAndResumedEqualsUninterrupted) {
  set_num_threads(1);
  fs::path d = recurrent::testing::fresh_temp_dir("s2st-resume");
  const std::string data = reverse_pairs_tsv(d / "rev.tsv", 100, 22);
  Seq2SeqTrainOptions a = small_transformer_opts(data, d / "a");
  a.epochs = 3;
  a.dropout = 0.2;
  a.d_model = 16;
  a.ff = 32;
  a.warmup = 10;  // the resume point (step 7) is inside the warm-up
  ASSERT_EQ(train_seq2seq(a), Seq2SeqOutcome::finished);
  Seq2SeqTrainOptions b = a;
  b.out = (d / "b").string();
  b.max_steps = 7;  // mid-epoch 2 (5 batches per epoch)
  ASSERT_EQ(train_seq2seq(b), Seq2SeqOutcome::stopped);
  b.resume = b.out;
  b.max_steps = 0;
  b.warmup = 0;  // restored from the checkpoint
  ASSERT_EQ(train_seq2seq(b), Seq2SeqOutcome::finished);
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

}  // namespace
