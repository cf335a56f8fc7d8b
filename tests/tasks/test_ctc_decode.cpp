// CTC decoding (src/tasks/ctc_decode.cpp) and the n-gram prior (src/tasks/ngram_prior.cpp):
//  * prefix beam search on small cases against brute force: every frame path (C^T of them) is
//    enumerated, its probability added to the label sequence it collapses to — with a beam wide enough
//    to keep every prefix the search must return exactly those sequence probabilities, best first;
//  * greedy = best path; beam width 1 = greedy when each frame has a dominant class; a wide beam's
//    best sequence is at least as probable as greedy's (probabilities from the CTC loss op);
//  * a prior and the insertion bonus change the ranking as their formula says;
//  * forced alignment = the most probable path among those collapsing to the tokens (brute force);
//    token spans; errors.
// Tolerances: the enumeration sums ≤ 4^4 products of 4 factors in double and the search works in
// double from float32 inputs, so both agree to ~1e-12; 1e-9 is asserted.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "autograd/gradcheck.h"
#include "autograd/op_test_util.h"
#include "recurrent/autograd/ctc.h"
#include "recurrent/data/utf8.h"
#include "recurrent/tasks/ctc_decode.h"
#include "recurrent/tasks/ctc_lm_prior.h"
#include "recurrent/tasks/ngram_prior.h"

using namespace recurrent;
using namespace recurrent::tasks;
using recurrent::testing::random_tensor;
using recurrent::testing::throws_error;

namespace {

// [T, C] log-probabilities: log_softmax of random logits (scale: larger → peakier frames).
Tensor random_log_probs(int64_t T, int64_t C, uint64_t seed, float scale = 2.0f) {
  Rng rng(seed);
  Tensor x = random_tensor({T, C}, rng, -scale, scale);
  return log_softmax(Var(x)).value();
}

// p(ℓ | x) for every ℓ, by enumerating all C^T frame paths.
std::map<std::vector<int64_t>, double> enumerate(const FrameView& lp, int64_t blank) {
  std::map<std::vector<int64_t>, double> out;
  std::vector<int64_t> path(static_cast<size_t>(lp.frames), 0);
  while (true) {
    double logp = 0.0;
    for (int64_t t = 0; t < lp.frames; ++t) logp += lp.at(t, path[t]);
    out[ctc_collapse(path, blank)] += std::exp(logp);
    int64_t t = 0;  // odometer
    while (t < lp.frames && ++path[t] == lp.classes) path[t++] = 0;
    if (t == lp.frames) break;
  }
  return out;
}

// log p(tokens | x) by the CTC loss op (its own oracle: tests/autograd/test_ops_ctc.cpp).
double ctc_log_prob(const Tensor& lp, const std::vector<int64_t>& tokens, int64_t blank) {
  CtcOptions o;
  o.blank = blank;
  o.reduction = Reduction::sum;
  Tensor x = lp.view({lp.size(0), 1, lp.size(1)});
  return -static_cast<double>(
      ctc_loss(Var(x), tokens, {lp.size(0)}, {static_cast<int64_t>(tokens.size())}, o).value().data()[0]);
}

TEST(CtcCollapse, MergesRepeatsThenDropsBlanks) {
  const std::vector<int64_t> path = {1, 1, 0, 1, 2, 2, 0, 0, 2};
  EXPECT_EQ(ctc_collapse(path, 0), (std::vector<int64_t>{1, 1, 2, 2}));
  EXPECT_EQ(ctc_collapse(path, 2), (std::vector<int64_t>{1, 0, 1, 0}));
  EXPECT_TRUE(ctc_collapse(std::vector<int64_t>{}, 0).empty());
}

TEST(CtcDecode, GreedyTakesTheArgmaxOfEachFrame) {
  // frames: a a - b b -  (C = {blank, a, b})
  const std::vector<float> p = {0.1f, 0.8f, 0.1f, 0.2f, 0.7f, 0.1f, 0.6f, 0.3f, 0.1f,
                                0.1f, 0.2f, 0.7f, 0.2f, 0.1f, 0.7f, 0.5f, 0.4f, 0.1f};
  std::vector<float> l(p.size());
  for (size_t i = 0; i < p.size(); ++i) l[i] = std::log(p[i]);
  Tensor lp = Tensor::from(l, {6, 3});
  Hypothesis h = greedy_decode(frames_of(lp), 0);
  EXPECT_EQ(h.tokens, (std::vector<int64_t>{1, 2}));
  EXPECT_NEAR(h.log_prob, std::log(0.8 * 0.7 * 0.6 * 0.7 * 0.7 * 0.5), 1e-6);
}

// Three frames, three classes (blank, a, b): the worked example of docs/ctc.md. Greedy reads
// "- - -" (the empty output, p = 0.1), but p("a") = 0.407 and p("ab") = 0.196, by hand below.
TEST(CtcDecode, PrefixBeamSearchOnAThreeFrameExampleMatchesEnumeration) {
  const std::vector<double> p = {0.5, 0.4, 0.1, 0.5, 0.4, 0.1, 0.4, 0.3, 0.3};  // rows: blank, a, b
  std::vector<float> l;
  for (double q : p) l.push_back(static_cast<float>(std::log(q)));
  Tensor lp = Tensor::from(l, {3, 3});
  const FrameView v = frames_of(lp);
  auto P = [&](int t, int c) { return std::exp(static_cast<double>(v.at(t, c))); };
  const double pa = P(0, 1) * P(1, 1) * P(2, 1) + P(0, 1) * P(1, 1) * P(2, 0) + P(0, 1) * P(1, 0) * P(2, 0) +
                    P(0, 0) * P(1, 1) * P(2, 1) + P(0, 0) * P(1, 1) * P(2, 0) + P(0, 0) * P(1, 0) * P(2, 1);
  const double pempty = P(0, 0) * P(1, 0) * P(2, 0);
  // "ab": aab a-b -ab abb ab-
  const double pab = P(0, 1) * P(1, 1) * P(2, 2) + P(0, 1) * P(1, 0) * P(2, 2) + P(0, 0) * P(1, 1) * P(2, 2) +
                     P(0, 1) * P(1, 2) * P(2, 2) + P(0, 1) * P(1, 2) * P(2, 0);
  EXPECT_NEAR(pa, 0.407, 1e-6);
  EXPECT_NEAR(pab, 0.196, 1e-6);
  // greedy: frames are (blank, blank, blank) — the empty output, though "a" is more probable
  EXPECT_TRUE(greedy_decode(v, 0).tokens.empty());
  EXPECT_GT(pa, pempty);
  BeamOptions o;
  o.beam = 16;
  o.nbest = 2;
  auto hyps = prefix_beam_search(v, o);
  ASSERT_EQ(hyps.size(), 2u);
  EXPECT_EQ(hyps[0].tokens, (std::vector<int64_t>{1}));
  EXPECT_NEAR(std::exp(hyps[0].log_prob), pa, 1e-9);
  EXPECT_EQ(hyps[1].tokens, (std::vector<int64_t>{1, 2}));
  EXPECT_NEAR(std::exp(hyps[1].log_prob), pab, 1e-9);
}

TEST(CtcDecode, AWideBeamReturnsTheExactSequenceProbabilities) {
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    const int64_t T = 3 + static_cast<int64_t>(seed % 2), C = 4, blank = static_cast<int64_t>(seed % 3);
    Tensor lp = random_log_probs(T, C, seed);
    const FrameView v = frames_of(lp);
    const auto exact = enumerate(v, blank);
    std::vector<std::pair<double, std::vector<int64_t>>> ranked;
    for (const auto& [y, q] : exact) ranked.emplace_back(q, y);
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    BeamOptions o;
    o.blank = blank;
    o.beam = 200;  // more than the number of distinct prefixes (≤ Σ 3^k, k ≤ 4 = 121): nothing is dropped
    o.nbest = 5;
    const auto hyps = prefix_beam_search(v, o);
    ASSERT_EQ(hyps.size(), 5u);
    for (size_t i = 0; i < hyps.size(); ++i) {
      EXPECT_NEAR(std::exp(hyps[i].log_prob), ranked[i].first, 1e-9) << "seed " << seed << " rank " << i;
      EXPECT_NEAR(std::exp(hyps[i].log_prob), exact.at(hyps[i].tokens), 1e-9) << "seed " << seed;
    }
    EXPECT_EQ(hyps[0].tokens, ranked[0].second) << "seed " << seed;
  }
}

TEST(CtcDecode, BeamWidthOneIsGreedyWhenEachFrameHasADominantClass) {
  // With p_t(argmax) > 0.93 on every frame (one logit in [-1, 1] raised by 6: ≥ e^5 / (e^5 + 4e)), beam 1's
  // local choice (stay vs extend) is the argmax's.
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    Rng rng(seed);
    const int64_t T = 20, C = 5;
    Tensor x = random_tensor({T, C}, rng, -1.0f, 1.0f);
    for (int64_t t = 0; t < T; ++t) x.data()[t * C + static_cast<int64_t>(rng.uniform(0.0f, 4.999f))] += 6.0f;
    Tensor lp = log_softmax(Var(x)).value();
    BeamOptions o;
    o.beam = 1;
    EXPECT_EQ(prefix_beam_search(frames_of(lp), o)[0].tokens, greedy_decode(frames_of(lp), 0).tokens) << "seed " << seed;
  }
}

TEST(CtcDecode, AWideBeamIsAtLeastAsProbableAsGreedy) {
  int strictly_better = 0;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    Tensor lp = random_log_probs(12, 5, 100 + seed, 1.5f);
    const FrameView v = frames_of(lp);
    const auto greedy = greedy_decode(v, 0).tokens;
    BeamOptions o;
    o.beam = 32;
    const auto beam = prefix_beam_search(v, o)[0];
    const double pg = ctc_log_prob(lp, greedy, 0), pb = ctc_log_prob(lp, beam.tokens, 0);
    EXPECT_GE(pb, pg - 1e-5) << "seed " << seed;
    // the beam's merged mass is a lower bound: paths through pruned prefixes are lost
    EXPECT_LE(beam.log_prob, pb + 1e-5) << "seed " << seed;
    strictly_better += pb > pg + 1e-5;
  }
  EXPECT_GT(strictly_better, 0) << "flat frames should make the beam beat greedy somewhere";
}

TEST(CtcDecode, PriorAndInsertionBonusChangeTheRanking) {
  // "a" and "b" equally likely acoustically in one frame; a prior favouring b picks b.
  Tensor lp = Tensor::from({std::log(0.2f), std::log(0.4f), std::log(0.4f)}, {1, 3});
  BeamOptions o;
  o.beam = 4;
  o.nbest = 3;
  o.prior = [](std::span<const int64_t>, int64_t token) { return token == 2 ? std::log(0.9) : std::log(0.1); };
  o.alpha = 1.0;
  auto h = prefix_beam_search(frames_of(lp), o);
  EXPECT_EQ(h[0].tokens, (std::vector<int64_t>{2}));
  EXPECT_NEAR(h[0].prior, std::log(0.9), 1e-12);
  EXPECT_NEAR(h[0].score, std::log(0.4) + std::log(0.9), 1e-6);
  EXPECT_TRUE(h[1].tokens.empty());  // blank (0.2, no prior) beats "a" (0.4 · 0.1)
  // an insertion bonus β per token: "a" gets log 0.4 + log 0.1 + β; above the empty output once β > log 0.2/0.04
  o.beta = std::log(0.2 / 0.04) + 0.01;
  h = prefix_beam_search(frames_of(lp), o);
  EXPECT_EQ(h[1].tokens, (std::vector<int64_t>{1}));
  EXPECT_NEAR(h[1].score, std::log(0.4) + std::log(0.1) + o.beta, 1e-6);
}

TEST(CtcDecode, NgramPriorLearnsASequenceAndStaysNormalised) {
  // vocabulary {1, 2, 3}; training text "1 2 3" repeated: after "1 2", 3 is nearly certain
  NgramPrior lm(3, {1, 2, 3}, {{1, 2, 3}, {1, 2, 3}, {1, 2, 3, 1, 2, 3}});
  const std::vector<int64_t> h = {1, 2};
  double total = 0.0;
  for (int64_t w : {1, 2, 3}) total += std::exp(lm.log_prob(h, w));
  EXPECT_NEAR(total, 1.0, 1e-12);
  EXPECT_GT(lm.log_prob(h, 3), lm.log_prob(h, 1));
  // by hand, context (1 2) seen 4 times, always followed by 3 (1 type): P_2(3 | 1 2) = (4 + 1·P_1(3 | 2)) / 5;
  // P_1(3 | 2): 4/5 + P_0(3)/5; P_0(3) = (4 + 3·(1/3)) / (12 + 3) = 1/3
  const double p0 = (4.0 + 3.0 / 3.0) / 15.0, p1 = (4.0 + p0) / 5.0, p2 = (4.0 + p1) / 5.0;
  EXPECT_NEAR(std::exp(lm.log_prob(h, 3)), p2, 1e-12);
  // an unseen context falls through to the shorter ones; the empty prefix uses the begin mark
  double t2 = 0.0;
  for (int64_t w : {1, 2, 3}) t2 += std::exp(lm.log_prob(std::vector<int64_t>{3, 3}, w));
  EXPECT_NEAR(t2, 1.0, 1e-12);
  EXPECT_GT(lm.log_prob({}, 1), lm.log_prob({}, 2));  // sequences start with 1
  EXPECT_TRUE(throws_error([&] { lm.log_prob(h, 4); }, "NgramPrior", "not in the vocabulary"));
  EXPECT_TRUE(throws_error([&] { NgramPrior(0, {1}, {}); }, "NgramPrior", "order must be >= 1"));
  EXPECT_TRUE(throws_error([&] { NgramPrior(2, {1, 2}, {{1, 5}}); }, "NgramPrior", "token 5 at position 1"));
}

// The project's LMs plug in: the prior is log next_token_probs of the written-out prefix, for a word-level
// LM (tokens joined by spaces; a token outside the vocabulary scored as <unk>) and a char-level one.
TEST(CtcDecode, LanguageModelPrior) {
  for (const bool words : {true, false}) {
    LmConfig c;
    c.vocab = words ? data::Vocab::build_words(data::utf8_decode("one two three one two", "t"), {})
                    : data::Vocab::build_chars(data::utf8_decode("abc ab", "t"));
    c.embed = 4;
    c.layers = {{CellType::lstm, 6, 0}};
    Rng rng(11);
    auto lm = std::make_shared<LanguageModel>(c, rng);
    const std::vector<std::string> text = words ? std::vector<std::string>{"", "one", "two", "nine"}
                                                : std::vector<std::string>{"", "a", "b", "z"};
    TokenPrior prior = lm_prior(lm, text);
    const std::vector<int64_t> prefix = {1, 2};
    const std::string context = words ? "one two" : "ab";
    const std::vector<double> p = next_token_probs(*lm, context, "t");
    EXPECT_NEAR(prior(prefix, 2), std::log(p[lm->vocab().id(text[2])]), 1e-12);
    EXPECT_NEAR(prior(prefix, 3), std::log(p[data::Vocab::kUnk]), 1e-12) << "a token the LM does not know";
    EXPECT_NEAR(prior({}, 1), std::log(next_token_probs(*lm, "", "t")[lm->vocab().id(text[1])]), 1e-12);
    EXPECT_TRUE(throws_error([&] { prior(prefix, 4); }, "lm_prior", "token 4 has no text"));
  }
}

TEST(CtcDecode, ForcedAlignmentIsTheBestPathOfTheTokens) {
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    const int64_t T = 5, C = 3;
    Tensor lp = random_log_probs(T, C, 300 + seed);
    const FrameView v = frames_of(lp);
    const std::vector<int64_t> tokens = seed % 2 ? std::vector<int64_t>{1, 2} : std::vector<int64_t>{1, 1};
    // brute force: the best of the 3^5 paths collapsing to tokens
    double best = -INFINITY;
    std::vector<int64_t> best_path_, path(T, 0);
    while (true) {
      double s = 0.0;
      for (int64_t t = 0; t < T; ++t) s += v.at(t, path[t]);
      if (ctc_collapse(path, 0) == tokens && s > best) best = s, best_path_ = path;
      int64_t t = 0;
      while (t < T && ++path[t] == C) path[t++] = 0;
      if (t == T) break;
    }
    double lpv = 0.0;
    const auto got = forced_align(v, tokens, 0, &lpv);
    EXPECT_EQ(got, best_path_) << "seed " << seed;
    EXPECT_NEAR(lpv, best, 1e-9);
  }
}

TEST(CtcDecode, ForcedAlignmentOfTheGreedyTokensIsTheGreedyPath) {
  Tensor lp = random_log_probs(30, 6, 77, 4.0f);
  const FrameView v = frames_of(lp);
  const auto path = best_path(v);
  EXPECT_EQ(forced_align(v, ctc_collapse(path, 0), 0), path);
}

TEST(CtcDecode, TokenSpansAndTimestamps) {
  const std::vector<int64_t> path = {0, 1, 1, 0, 1, 2, 2, 2, 0, 0, 3};
  const auto spans = token_spans(path, 0);
  ASSERT_EQ(spans.size(), 4u);
  EXPECT_EQ((std::vector<int64_t>{spans[0].token, spans[0].start, spans[0].end}), (std::vector<int64_t>{1, 1, 3}));
  EXPECT_EQ((std::vector<int64_t>{spans[1].token, spans[1].start, spans[1].end}), (std::vector<int64_t>{1, 4, 5}));
  EXPECT_EQ((std::vector<int64_t>{spans[2].token, spans[2].start, spans[2].end}), (std::vector<int64_t>{2, 5, 8}));
  EXPECT_EQ((std::vector<int64_t>{spans[3].token, spans[3].start, spans[3].end}), (std::vector<int64_t>{3, 10, 11}));
  // a tight alignment: T == L with a repeat needing its blank
  Tensor lp = random_log_probs(3, 3, 5);
  EXPECT_EQ(forced_align(frames_of(lp), std::vector<int64_t>{2, 2}, 0), (std::vector<int64_t>{2, 0, 2}));
}

// Streaming: frames pushed in uneven chunks give, after every push, what the one-shot decoders give on
// the frames so far — scores bit for bit (same operations in the same order).
TEST(CtcDecode, StreamingDecodersMatchTheOneShotOnes) {
  Tensor lp = random_log_probs(23, 5, 41, 2.5f);
  NgramPrior lm(2, {1, 2, 3, 4}, {{1, 2, 3}, {2, 2, 4, 1}});
  BeamOptions o;
  o.beam = 6;
  o.nbest = 3;
  o.prior = lm.as_prior();
  o.alpha = 0.7;
  o.beta = 0.4;
  CtcBeamDecoder beam(5, o);
  CtcGreedyDecoder greedy(0);
  int64_t done = 0;
  for (int64_t chunk : {1, 4, 7, 2, 9}) {
    const FrameView part{lp.data() + done * 5, chunk, 5, 5};
    beam.push(part);
    greedy.push(part);
    done += chunk;
    const FrameView sofar{lp.data(), done, 5, 5};
    const auto want = prefix_beam_search(sofar, o), got = beam.best();
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].tokens, want[i].tokens) << "after " << done << " frames, rank " << i;
      EXPECT_EQ(got[i].score, want[i].score);
    }
    const Hypothesis g = greedy_decode(sofar, 0);
    EXPECT_EQ(greedy.tokens(), g.tokens) << "after " << done << " frames";
    EXPECT_EQ(greedy.path(), best_path(sofar));
    EXPECT_NEAR(greedy.log_prob(), g.log_prob, 1e-9);
  }
  EXPECT_EQ(beam.frames(), 23);
  Tensor other = random_log_probs(2, 4, 1);
  EXPECT_TRUE(throws_error([&] { beam.push(frames_of(other)); }, "prefix_beam_search", "4 classes pushed"));
}

TEST(CtcDecode, BatchColumnsAndErrors) {
  Rng rng(3);
  Tensor lp = random_tensor({4, 2, 3}, rng);
  const FrameView col = frames_of(lp, 1, 3);
  EXPECT_EQ(col.frames, 3);
  EXPECT_EQ(col.at(2, 1), lp.data()[(2 * 2 + 1) * 3 + 1]);
  EXPECT_TRUE(throws_error([&] { frames_of(lp, 2, 3); }, "frames_of", "batch index 2"));
  EXPECT_TRUE(throws_error([&] { frames_of(lp, 0, 5); }, "frames_of", "length 5"));
  EXPECT_TRUE(throws_error([&] { frames_of(lp); }, "frames_of", "[T, C]"));
  Tensor two = random_log_probs(2, 3, 4);
  EXPECT_TRUE(throws_error([&] { forced_align(frames_of(two), std::vector<int64_t>{1, 1}, 0); }, "forced_align",
                           "do not fit in 2 frames"));
  EXPECT_TRUE(throws_error([&] { forced_align(frames_of(two), std::vector<int64_t>{0}, 0); }, "forced_align",
                           "token 0 at position 0"));
  BeamOptions o;
  o.beam = 0;
  EXPECT_TRUE(throws_error([&] { prefix_beam_search(frames_of(two), o); }, "prefix_beam_search", "beam width"));
  o.beam = 2;
  o.nbest = 3;
  EXPECT_TRUE(throws_error([&] { prefix_beam_search(frames_of(two), o); }, "prefix_beam_search", "nbest"));
  EXPECT_TRUE(throws_error([&] { greedy_decode(frames_of(two), 3); }, "greedy_decode", "blank index 3"));
}

}  // namespace
