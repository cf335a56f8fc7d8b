// Encoder-decoder translation end to end (tasks/seq2seq.h):
//  * tokens, vocabularies and the configuration round trip;
//  * decoding = training: for every attention kind, (bi)directional encoders, LSTM / GRU / mixed
//    stacks, the step-by-step decoder (start/step, as greedy and beam search use it) gives the same
//    log-probabilities as the teacher-forced forward pass over the whole target;
//  * padding a pair into a batch with longer ones does not change its logits;
//  * beam search of width 1 is greedy decoding; beam reordering keeps each hypothesis' state;
//  * finite differences of the whole model's loss w.r.t. every parameter (no new op is added: this
//    checks the composition, including the bridge from encoder to decoder state);
//  * a synthetic translation (reverse the words and map w_i → v_i) is learned with attention to
//    BLEU ≥ 90 while the same model untrained stays below 10 (the control shows the test can fail);
//  * an interrupted and resumed run ends with the same weights as an uninterrupted one.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <utility>
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

Seq2SeqConfig tiny_config_seq2seq(AttentionKind att, bool bidir, std::vector<LayerSpec> layers) {
  Seq2SeqConfig c;
  c.src = TokenVocab({"<unk>", "a", "b", "c", "d"});
  c.tgt = TokenVocab({"<unk>", "<bos>", "<eos>", "x", "y", "z"});
  c.embed = 3;
  c.layers = std::move(layers);
  c.bidirectional = bidir;
  c.attention = att;
  return c;
}

const AttentionKind kKinds[] = {AttentionKind::none, AttentionKind::bahdanau, AttentionKind::luong_dot,
                                AttentionKind::luong_general};

TEST(Seq2SeqTokens, LowerCasedWordsAndPunctuation) {
  EXPECT_EQ(seq2seq_tokens("Y dijo Dios: Sea la luz.", "t"),
            (std::vector<std::string>{"y", "dijo", "dios", ":", "sea", "la", "luz", "."}));
  EXPECT_EQ(seq2seq_tokens("Y HAB\u00cdA un var\u00f3n; \u00bfqu\u00e9?", "t"),
            (std::vector<std::string>{"y", "hab\u00eda", "un", "var\u00f3n", ";", "\u00bfqu\u00e9", "?"}));
  EXPECT_EQ(seq2seq_tokens("Don't stop", "t"), (std::vector<std::string>{"don't", "stop"}));
  EXPECT_THROW(seq2seq_tokens("bad \xff", "t"), Error);
}

TEST(Seq2SeqVocab, SpecialsFirstThenByCountCapped) {
  const TokenVocab v = TokenVocab::build({{"b", "a", "b"}, {"c", "b", "a", "d"}}, {"<unk>", "<bos>", "<eos>"}, 5);
  EXPECT_EQ(v.tokens(), (std::vector<std::string>{"<unk>", "<bos>", "<eos>", "b", "a"}));
  EXPECT_EQ(v.id("c"), kUnk);
  EXPECT_EQ(v.id("a"), 4);
  EXPECT_THROW(TokenVocab({"<unk>", "a", "a"}), Error);
  EXPECT_THROW(parse_attention("concat"), Error);
}

TEST(Seq2SeqConfig, JsonRoundTripAndValidation) {
  Seq2SeqConfig c = tiny_config_seq2seq(AttentionKind::luong_general, true, {{CellType::gru, 4, 0}, {CellType::lstm, 6, 0}});
  c.dropout = 0.25f;
  const Seq2SeqConfig d = Seq2SeqConfig::from_json(c.to_json(), "cfg");
  EXPECT_EQ(d.to_json(), c.to_json());
  EXPECT_EQ(d.attention, AttentionKind::luong_general);
  c.layers = {{CellType::lstm, 5, 0}};  // odd size cannot be split over two directions
  EXPECT_THROW(c.validate(), Error);
  EXPECT_THROW(Seq2SeqConfig::from_json("{\"task\": \"classify\"}", "cfg"), Error);
}

// Teacher-forced log-probabilities [B, T, V] of a batch.
Tensor forced(Seq2SeqModel& m, const std::vector<std::vector<int64_t>>& src, const std::vector<std::vector<int64_t>>& tgt) {
  Seq2SeqBatch b;
  for (size_t i = 0; i < src.size(); ++i) b.src.push_back(&src[i]), b.tgt.push_back(&tgt[i]);
  return log_softmax(m.forward(b)).value().contiguous();
}

TEST(Seq2Seq, StepwiseDecodingEqualsTeacherForcing) {
  const std::vector<std::vector<int64_t>> src = {{1, 2, 3, 4, 1}, {2, 3}, {4}};
  const std::vector<std::vector<int64_t>> tgt = {{3, 4}, {5, 3, 4, 5}, {4, 4, 3}};
  const std::vector<std::vector<LayerSpec>> stacks = {{{CellType::lstm, 4, 0}},
                                                      {{CellType::gru, 4, 0}, {CellType::lstm, 6, 0}},
                                                      {{CellType::rnn_tanh, 6, 0}}};
  for (AttentionKind att : kKinds)
    for (bool bidir : {false, true})
      for (const auto& layers : stacks) {
        Rng rng(3);
        RnnSeq2Seq m(tiny_config_seq2seq(att, bidir, layers), rng);
        m.eval();
        NoGradGuard ng;
        const Tensor lp = forced(m, src, tgt);  // [3, 5, 6]
        const int64_t T = lp.size(1), V = lp.size(2);
        std::vector<const std::vector<int64_t>*> ps = {&src[0], &src[1], &src[2]};
        std::unique_ptr<DecoderState> st = m.start(ps);
        for (int64_t t = 0; t < T; ++t) {
          std::vector<int64_t> prev;
          for (const auto& y : tgt) prev.push_back(t == 0 ? kBos : t - 1 < static_cast<int64_t>(y.size()) ? y[t - 1] : kEos);
          const Tensor s = m.step(*st, prev);  // [3, V]
          if (att != AttentionKind::none) {
            ASSERT_EQ(st->last_attention.size(1), 5);
          }
          for (int64_t b = 0; b < 3; ++b) {
            if (t > static_cast<int64_t>(tgt[b].size())) continue;  // past this target's <eos>
            for (int64_t v = 0; v < V; ++v)
              ASSERT_NEAR(s.data()[b * V + v], lp.data()[(b * T + t) * V + v], 2e-5)
                  << attention_name(att) << " bidir " << bidir << " layers " << layers.size() << " b " << b << " t " << t;
          }
        }
        if (att != AttentionKind::none) {  // α over padded source steps is exactly 0; rows sum to 1
          const float* a = st->last_attention.data();
          EXPECT_EQ(a[1 * 5 + 2], 0.0f);
          EXPECT_EQ(a[2 * 5 + 1], 0.0f);
          EXPECT_NEAR(a[0] + a[1] + a[2] + a[3] + a[4], 1.0f, 1e-5);
        }
      }
}

TEST(Seq2Seq, PaddingInABatchDoesNotChangeLogits) {
  for (AttentionKind att : kKinds) {
    Rng rng(4);
    RnnSeq2Seq m(tiny_config_seq2seq(att, true, {{CellType::lstm, 4, 0}, {CellType::gru, 4, 0}}), rng);
    m.eval();
    NoGradGuard ng;
    const Tensor alone = forced(m, {{2, 3}}, {{3}});                              // [1, 2, V]
    const Tensor both = forced(m, {{1, 2, 3, 4, 1, 2}, {2, 3}}, {{3, 4, 5, 3}, {3}});  // [2, 5, V]
    const int64_t V = 6;
    for (int64_t t = 0; t < 2; ++t)
      for (int64_t v = 0; v < V; ++v)
        EXPECT_NEAR(alone.data()[t * V + v], both.data()[(5 + t) * V + v], 1e-5) << attention_name(att);
  }
}

TEST(Seq2Seq, BeamOfWidthOneIsGreedyAndWiderBeamsAreConsistent) {
  for (AttentionKind att : {AttentionKind::none, AttentionKind::bahdanau}) {
    Rng rng(5);
    RnnSeq2Seq m(tiny_config_seq2seq(att, false, {{CellType::lstm, 8, 0}}), rng);
    const std::vector<std::vector<int64_t>> src = {{1, 2, 3}, {4, 4}, {2}, {3, 1, 2, 4, 4, 1}};
    m.eval();
    DecodeOptions greedy, beam1, beam4;
    greedy.keep_attention = beam1.keep_attention = true;
    beam4.beam = 4;
    const std::vector<Translation> g = translate(m, src, greedy, 2);  // batches of 2, sorted by length
    const std::vector<Translation> b4 = translate(m, src, beam4);
    for (size_t i = 0; i < src.size(); ++i) {
      const Translation b1 = beam_search(m, src[i], beam1);
      EXPECT_EQ(b1.ids, g[i].ids) << i;
      EXPECT_NEAR(b1.log_prob, g[i].log_prob, 1e-4) << i;
      EXPECT_EQ(b1.ended, g[i].ended) << i;
      ASSERT_EQ(b1.attention.size(), g[i].attention.size());
      for (size_t t = 0; t < b1.attention.size(); ++t)
        for (size_t j = 0; j < b1.attention[t].size(); ++j) EXPECT_NEAR(b1.attention[t][j], g[i].attention[t][j], 1e-6);
      EXPECT_LE(static_cast<int64_t>(g[i].ids.size()), 2 * static_cast<int64_t>(src[i].size()) + 10);
      for (int64_t id : b4[i].ids) EXPECT_GT(id, kEos);  // never <unk>, <bos>, <eos>
      // The reported log-probability of each translation is what the model assigns to it.
      const Tensor lp = forced(m, {src[i]}, {b4[i].ids});
      double s = 0.0;
      for (size_t t = 0; t < b4[i].ids.size() + (b4[i].ended ? 1 : 0); ++t)  // <eos> counts only if emitted
        s += lp.data()[t * 6 + (t < b4[i].ids.size() ? b4[i].ids[t] : kEos)];
      EXPECT_NEAR(s, b4[i].log_prob, 1e-4);
      if (att != AttentionKind::none) {
        EXPECT_EQ(g[i].attention.front().size(), src[i].size());
      }
    }
  }
}

// Finite differences of a lopsided loss (per-token weights) w.r.t. every parameter (tolerances of
// tests/autograd/gradcheck.h: atol 2e-3, rtol 1e-2, h = 1e-2).
TEST(Seq2Seq, GradientsMatchFiniteDifferences) {
  for (AttentionKind att : kKinds) {
    Rng rng(6);
    RnnSeq2Seq m(tiny_config_seq2seq(att, true, {{CellType::lstm, 4, 0}}), rng);
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
    for (auto& [name, p] : m.named_parameters()) {
      Tensor g = p.grad().contiguous();
      // x() for every write: the non-const access bumps the weight's version, which the RNN's
      // packed-weight cache keys on (a pointer kept across forward calls would write unseen).
      auto x = [&p = p] { return p.value().data(); };
      for (int64_t j = 0; j < p.value().numel(); ++j) {
        const float x0 = std::as_const(p.value()).data()[j], xp = x0 + 1e-2f, xm = x0 - 1e-2f;
        double lp, lm;
        {
          NoGradGuard ng;
          x()[j] = xp;
          lp = loss().value().item();
          x()[j] = xm;
          lm = loss().value().item();
          x()[j] = x0;
        }
        const double num = (lp - lm) / (static_cast<double>(xp) - xm), ana = g.data()[j];
        ASSERT_LE(std::fabs(num - ana), 2e-3 + 1e-2 * std::fabs(num))
            << attention_name(att) << " " << name << "[" << j << "]: analytic " << ana << ", numeric " << num;
      }
    }
  }
}

// Synthetic translation: source w_{k1} .. w_{kn} (n in 3..6, k in 0..7) → target v_{kn} .. v_{k1}.
std::string reverse_tsv(const fs::path& f, int n, uint64_t seed) {
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

Seq2SeqTrainOptions small_opts_seq2seq(const std::string& data, const fs::path& out) {
  Seq2SeqTrainOptions o;
  o.data = data;
  o.out = out.string();
  o.attention = "luong-dot";
  o.hidden = "32";
  o.embed = 16;
  o.batch = 16;
  o.epochs = 12;
  o.lr = 1e-2;
  o.quiet = true;
  o.seed = 1;
  return o;
}

double results_bleu(const fs::path& run, const char* set) {
  return nlohmann::json::parse(data::read_file((run / "results.json").string())).at(set).at("bleu").get<double>();
}

TEST(Seq2Seq, AttentionLearnsToReverseAndUntrainedDoesNot) {
  set_num_threads(1);
  fs::path d = recurrent::testing::fresh_temp_dir("s2s-reverse");
  const std::string data = reverse_tsv(d / "rev.tsv", 400, 21);
  Seq2SeqTrainOptions o = small_opts_seq2seq(data, d / "run");
  o.bidirectional = true;
  ASSERT_EQ(train_seq2seq(o), Seq2SeqOutcome::finished);
  EXPECT_GE(results_bleu(d / "run", "test"), 90.0);
  for (const char* f : {"best.safetensors", "last.safetensors", "metrics.csv", "results.json", "test.hyp.txt"})
    EXPECT_TRUE(fs::exists(d / "run" / f)) << f;
  // Control: the same architecture untrained on the same test pairs (every 10th from 9).
  auto trained = load_seq2seq((d / "run").string());
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

TEST(Seq2Seq, InterruptedAndResumedEqualsUninterrupted) {
  set_num_threads(1);
  fs::path d = recurrent::testing::fresh_temp_dir("s2s-resume");
  const std::string data = reverse_tsv(d / "rev.tsv", 100, 22);
  Seq2SeqTrainOptions a = small_opts_seq2seq(data, d / "a");
  a.epochs = 3;
  a.dropout = 0.2;
  a.attention = "bahdanau";
  a.cells = "gru";
  ASSERT_EQ(train_seq2seq(a), Seq2SeqOutcome::finished);
  Seq2SeqTrainOptions b = a;
  b.out = (d / "b").string();
  b.max_steps = 7;  // mid-epoch 2 (5 batches per epoch)
  ASSERT_EQ(train_seq2seq(b), Seq2SeqOutcome::stopped);
  b.resume = b.out;
  b.max_steps = 0;
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

TEST(Seq2Seq, StopsByItselfWhenValidationStopsImprovingAndKeepsTheBestWeights) {
  // Targets unrelated to their sources (random words): nothing generalises, so after its best epoch the
  // validation figure (BLEU, ties by the lower loss) is not beaten while the 64-unit model memorises the 40
  // training pairs; --patience 3 ends the run long before --epochs 200 and the model is the best epoch's.
  set_num_threads(1);
  fs::path d = recurrent::testing::fresh_temp_dir("s2s-earlystop");
  Rng r(6);
  auto pairs = [&](int n) {
    std::string s;
    for (int i = 0; i < n; ++i) {
      std::string a, b;
      for (int j = 0; j < 4; ++j) a += (j ? " w" : "w") + std::to_string(r.below(12));
      for (int j = 0; j < 4; ++j) b += (j ? " v" : "v") + std::to_string(r.below(12));
      s += a + "\t" + b + "\n";
    }
    return s;
  };
  data::write_file((d / "train.tsv").string(), pairs(40));
  data::write_file((d / "valid.tsv").string(), pairs(20));
  Seq2SeqTrainOptions o = small_opts_seq2seq((d / "train.tsv").string(), d / "run");
  o.valid = (d / "valid.tsv").string();
  o.hidden = "64", o.batch = 8, o.epochs = 200, o.patience = 3;
  ASSERT_EQ(train_seq2seq(o), Seq2SeqOutcome::finished);
  const nlohmann::json res = nlohmann::json::parse(data::read_file((d / "run" / "results.json").string()));
  const int64_t epochs = res.at("epochs_completed").get<int64_t>(), best = res.at("best_epoch").get<int64_t>();
  EXPECT_TRUE(res.at("stopped_early").get<bool>());
  EXPECT_LT(epochs, 60);
  EXPECT_EQ(epochs, best + 3);
  // metrics.csv: the training loss fell, and the model's validation figures are its best epoch's row.
  std::vector<std::vector<double>> rows;  // step, epoch, train_loss, valid_loss, valid_bleu
  const std::vector<std::string> lines = data::read_lines((d / "run" / "metrics.csv").string());
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<double> v;
    size_t p = 0;
    for (int k = 0; k < 5; ++k) {
      const size_t q = lines[i].find(',', p);
      v.push_back(std::stod(lines[i].substr(p, q - p)));
      p = q + 1;
    }
    rows.push_back(v);
  }
  ASSERT_EQ(static_cast<int64_t>(rows.size()), epochs);
  EXPECT_LT(rows.back()[2], 0.8 * rows.front()[2]);
  const std::vector<double>& b = rows[static_cast<size_t>(best - 1)];
  EXPECT_NEAR(res.at("valid").at("loss").get<double>(), b[3], 1e-4);
  EXPECT_NEAR(res.at("valid").at("bleu").get<double>(), b[4], 1e-5 * std::max(1.0, b[4]));  // metrics.csv: 6 digits
  fs::remove_all(d);
}

TEST(Seq2SeqBaseline, CopyingTheSourceScoresItsBleuByHand) {
  // Lower-cased and tokenised as the target side: a source equal to its target but for case scores 100.
  EXPECT_NEAR(copy_source_bleu(data::parse_parallel("The Cat sat on the mat\tthe cat sat on the mat\n", "p")), 100.0, 1e-9);
  EXPECT_EQ(copy_source_bleu(data::parse_parallel("a b c d\tw x y z\n", "p")), 0.0);  // no common n-gram
  // "a b c d" for "a b c e": p1 = 3/4, p2 = 2/3, p3 = 1/2, p4 = 0/1 → 1/(2·1) (exp smoothing), BP = 1.
  const double want = 100 * std::exp((std::log(0.75) + std::log(2.0 / 3) + std::log(0.5) + std::log(0.5)) / 4);
  EXPECT_NEAR(copy_source_bleu(data::parse_parallel("a b c d\ta b c e\n", "p")), want, 1e-9);
}
