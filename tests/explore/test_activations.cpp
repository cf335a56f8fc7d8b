// explore/activations.h and patterns.h: the per-layer rows are the model's own (probabilities equal
// score_text's, the last rows equal the stacked forward's final state, gates rebuild h; a projected
// LSTM's h has its R units), and the
// patterns and the ranking find a unit that is the pattern.
#include <gtest/gtest.h>

#include <cmath>

#include "explore/activations.h"
#include "explore/patterns.h"
#include "recurrent/autograd/var.h"
#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"
#include "recurrent/data/utf8.h"

namespace recurrent::explore {
namespace {

const std::string kText = "“Call me (Ishmael),” he said.\nSome years ago — never mind how long.\n";

std::unique_ptr<tasks::LanguageModel> tiny(std::vector<LayerSpec> layers, data::TokenLevel level = data::TokenLevel::chars) {
  tasks::LmConfig c;
  const std::u32string chars = data::utf8_decode(kText, "t");
  if (level == data::TokenLevel::chars) c.vocab = data::Vocab::build_chars(chars);
  else c.vocab = data::Vocab::build_words(chars, {});
  c.embed = 6;
  c.layers = std::move(layers);
  Rng rng(7);
  auto m = std::make_unique<tasks::LanguageModel>(c, rng);
  m->eval();
  return m;
}

TEST(ExploreActivations, RowsAreTheModelsOwnStatesAndProbabilities) {
  auto m = tiny({LayerSpec{CellType::lstm, 12, 0}, LayerSpec{CellType::gru, 10, 0}, LayerSpec{CellType::rnn_tanh, 5, 0}});
  const Activations a = compute_activations(*m, kText, 1000);
  const size_t N = data::utf8_decode(kText, "t").size();
  ASSERT_EQ(a.chars.size(), N);
  EXPECT_EQ(a.chars[0], "“");
  ASSERT_EQ(a.layers.size(), 3u);
  EXPECT_EQ(a.layers[0].kinds.size(), 5u);  // h c i f o
  EXPECT_EQ(a.layers[1].kinds.size(), 3u);  // h r z
  EXPECT_EQ(a.layers[2].kinds.size(), 1u);  // h
  EXPECT_LT(a.gate_check, 1e-5);
  // P(char k | before) is score_text's.
  const tasks::TextScore s = tasks::score_text(*m, kText);
  ASSERT_EQ(s.tokens.size(), N);
  for (size_t k = 0; k < N; ++k) EXPECT_NEAR(a.prob[k], s.tokens[k].prob, 1e-5 + 1e-4 * s.tokens[k].prob) << k;
  // The last row of each layer is the stacked model's final state.
  NoGradGuard ng;
  RNNState st;
  const std::vector<int64_t> ids = tasks::sample_prime_ids(m->vocab(), kText);
  m->forward(ids, static_cast<int64_t>(ids.size()), 1, st);
  for (size_t l = 0; l < 3; ++l) {
    const int64_t H = a.layers[l].size;
    const float* h = a.layers[l].kinds.at("h").row(static_cast<int64_t>(N) - 1);
    for (int64_t u = 0; u < H; ++u) EXPECT_NEAR(h[u], st.h[l].value().data()[u], 1e-5) << l << " " << u;
  }
  const float* c = a.layers[0].kinds.at("c").row(static_cast<int64_t>(N) - 1);
  for (int64_t u = 0; u < 12; ++u) EXPECT_NEAR(c[u], st.c[0].value().data()[u], 1e-5) << u;
}

// lstm_bn: the layer-by-layer reading normalises with the model's population statistics (its buffers), as the
// stacked model's own evaluation does (before, the per-layer copies trained on B = 1 and refused the model).
TEST(ExploreActivations, BatchNormLstmReadsWithThePopulationStatistics) {
  auto m = tiny({LayerSpec{CellType::lstm_bn, 8, 0}, LayerSpec{CellType::lstm_bn, 6, 0}});
  {  // statistics that differ from the fresh ones: a few training calls of 3 sequences on the recurrent stack
    m->train();
    Rng rng(3);
    NoGradGuard ng;
    RNN& rnn = m->rnn();
    for (int k = 0; k < 3; ++k) {
      Tensor x({5, 3, 6});
      rng.fill_uniform(x, -2.0f, 2.0f);
      rnn.forward(Var(x));
    }
    m->eval();
  }
  const Activations a = compute_activations(*m, kText, 1000);
  const size_t N = data::utf8_decode(kText, "t").size();
  const tasks::TextScore s = tasks::score_text(*m, kText);
  for (size_t k = 0; k < N; ++k) EXPECT_NEAR(a.prob[k], s.tokens[k].prob, 1e-5 + 1e-4 * s.tokens[k].prob) << k;
  NoGradGuard ng;
  RNNState st;
  const std::vector<int64_t> ids = tasks::sample_prime_ids(m->vocab(), kText);
  m->forward(ids, static_cast<int64_t>(ids.size()), 1, st);
  for (size_t l = 0; l < 2; ++l) {
    const int64_t H = a.layers[l].size;
    const float* h = a.layers[l].kinds.at("h").row(static_cast<int64_t>(N) - 1);
    for (int64_t u = 0; u < H; ++u) EXPECT_NEAR(h[u], st.h[l].value().data()[u], 1e-5) << l << " " << u;
  }
}

TEST(ExploreActivations, ChunksAndThreadsReadTheSameRows) {
  // The reading chunk by chunk (states carried), on 1 thread or a pipeline of 2 (layers 0-1 and 2), equals
  // the reading in one chunk: the same rows, probabilities and check.
  auto m = tiny({LayerSpec{CellType::lstm, 12, 0}, LayerSpec{CellType::gru, 10, 0}, LayerSpec{CellType::rnn_tanh, 5, 0}});
  const Activations whole = [&] {
    const int prev = num_threads();
    set_num_threads(1);
    Activations a = compute_activations(*m, kText, 1000, 100000);
    set_num_threads(prev);
    return a;
  }();
  const int prev = num_threads();
  for (int threads : {1, 2})
    for (int64_t chunk : {1, 5, 7}) {
      set_num_threads(threads);
      const Activations a = compute_activations(*m, kText, 1000, chunk);
      set_num_threads(prev);
      ASSERT_EQ(a.prob.size(), whole.prob.size());
      for (size_t k = 0; k < a.prob.size(); ++k) EXPECT_NEAR(a.prob[k], whole.prob[k], 1e-6) << threads << " " << chunk << " " << k;
      EXPECT_LT(a.gate_check, 1e-5);
      for (size_t l = 0; l < 3; ++l)
        for (const auto& [kind, rows] : whole.layers[l].kinds) {
          const Rows& got = a.layers[l].kinds.at(kind);
          for (size_t t = 0; t < a.chars.size(); ++t)
            for (int64_t u = 0; u < rows.ld; ++u)  // the kind's width
              ASSERT_NEAR(got.row(static_cast<int64_t>(t))[u], rows.row(static_cast<int64_t>(t))[u], 1e-6)
                  << threads << " threads, chunk " << chunk << ", layer " << l << " " << kind << " t " << t << " u " << u;
        }
    }
}

TEST(ExploreActivations, StatesOnlyKeepsHAndCOfTheFullReading) {
  // gates = false (the explorer's first reading): every kind named, only h and c kept, the same rows,
  // probabilities and check as the reading with the gates.
  auto m = tiny({LayerSpec{CellType::lstm, 12, 0}, LayerSpec{CellType::gru, 10, 0}, LayerSpec{CellType::rnn_tanh, 5, 0}});
  const Activations full = compute_activations(*m, kText, 1000, 7);
  const Activations a = compute_activations(*m, kText, 1000, 7, nullptr, false);
  EXPECT_TRUE(full.gates);
  EXPECT_FALSE(a.gates);
  const std::vector<std::vector<std::string>> names = {{"h", "c", "i", "f", "o"}, {"h", "r", "z"}, {"h"}};
  const std::vector<size_t> kept = {2, 1, 1};  // h c | h | h
  for (size_t l = 0; l < 3; ++l) {
    EXPECT_EQ(a.layers[l].names, names[l]) << l;
    EXPECT_EQ(full.layers[l].names, names[l]) << l;
    ASSERT_EQ(a.layers[l].kinds.size(), kept[l]) << l;
    EXPECT_EQ(full.layers[l].kinds.size(), names[l].size()) << l;
    for (const auto& [kind, rows] : a.layers[l].kinds) {
      const Rows& want = full.layers[l].kinds.at(kind);
      ASSERT_EQ(rows.ld, want.ld);
      for (size_t t = 0; t < a.chars.size(); ++t)
        for (int64_t u = 0; u < rows.ld; ++u)
          ASSERT_EQ(rows.row(static_cast<int64_t>(t))[u], want.row(static_cast<int64_t>(t))[u]) << l << " " << kind << " " << t;
    }
  }
  EXPECT_EQ(a.prob, full.prob);
  EXPECT_EQ(a.gate_check, full.gate_check);
  EXPECT_LT(a.gate_check, 1e-5);
}

TEST(ExploreActivations, ProjectedLstmGivesItsProjectedStates) {
  auto m = tiny({LayerSpec{CellType::lstm, 8, 3}, LayerSpec{CellType::gru, 6, 0}});
  const Activations a = compute_activations(*m, kText, 1000);
  const size_t N = a.chars.size();
  ASSERT_EQ(a.layers.size(), 2u);
  EXPECT_EQ(a.layers[0].size, 3);
  EXPECT_EQ(a.layers[0].kinds.size(), 1u);  // h (R = 3 units) only
  NoGradGuard ng;
  RNNState st;
  const std::vector<int64_t> ids = tasks::sample_prime_ids(m->vocab(), kText);
  m->forward(ids, static_cast<int64_t>(ids.size()), 1, st);
  for (int64_t u = 0; u < 3; ++u)
    EXPECT_NEAR(a.layers[0].kinds.at("h").row(static_cast<int64_t>(N) - 1)[u], st.h[0].value().data()[u], 1e-5);
  EXPECT_LT(a.gate_check, 1e-5);  // the GRU layer's
}

TEST(ExploreActivations, RefusesEmptyLongTextAndWordModels) {
  auto m = tiny({LayerSpec{CellType::lstm, 4, 0}});
  EXPECT_THROW(compute_activations(*m, "", 100), Error);
  EXPECT_THROW(compute_activations(*m, kText, 5), Error);
  EXPECT_THROW(compute_activations(*m, "\xff", 100), Error);
  auto w = tiny({LayerSpec{CellType::lstm, 4, 0}}, data::TokenLevel::words);
  EXPECT_THROW(compute_activations(*w, "Call me", 100), Error);
}

std::vector<std::string> chars_of(const std::string& s) {
  std::vector<std::string> out;
  for (char32_t c : data::utf8_decode(s, "t")) out.push_back(data::utf8_encode(std::u32string(1, c)));
  return out;
}

TEST(ExplorePatterns, QuotesLinePositionAndBrackets) {
  const auto q = builtin_pattern("quotes", chars_of("a“bc”d\"e\"f"));
  EXPECT_EQ(q, (std::vector<float>{0, 1, 1, 1, 0, 0, 1, 1, 0, 0}));
  EXPECT_EQ(builtin_pattern("line", chars_of("ab\ncd")), (std::vector<float>{1, 2, 0, 1, 2}));
  EXPECT_EQ(builtin_pattern("brackets", chars_of("a(b[c])d)")), (std::vector<float>{0, 1, 1, 1, 1, 1, 0, 0, 0}));
  EXPECT_EQ(spans_pattern({{1, 3}}, 5), (std::vector<float>{0, 1, 1, 0, 0}));
  EXPECT_THROW(spans_pattern({{3, 3}}, 5), Error);
  EXPECT_THROW(spans_pattern({{0, 6}}, 5), Error);
  EXPECT_THROW(builtin_pattern("commas", chars_of("a")), Error);
}

TEST(ExplorePatterns, RankingFindsTheUnitThatIsThePattern) {
  Activations a;
  a.chars = chars_of("a“bc”d e“f”g");
  const std::vector<float> p = builtin_pattern("quotes", a.chars);
  const size_t n = p.size(), H = 4;
  LayerActivations l;
  l.size = H;
  std::vector<float> h(n * H, 0.0f);
  for (size_t t = 0; t < n; ++t) {
    h[t * H + 0] = std::sin(static_cast<float>(t));   // noise
    h[t * H + 1] = 0.5f;                              // constant: r = 0
    h[t * H + 2] = -2.0f * p[t] + 1.0f;               // the pattern, negated: r = −1
    h[t * H + 3] = p[t] + 0.3f * std::cos(3.0f * t);  // the pattern with noise
  }
  l.kinds["h"] = Rows::of(h, H);
  a.layers.push_back(l);
  const auto r = rank_units(a, p, {}, 3);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].index, 2);
  EXPECT_NEAR(r[0].r, -1.0, 1e-9);
  EXPECT_EQ(r[1].index, 3);
  EXPECT_GT(r[1].r, 0.8);
  std::vector<float> col(n);
  for (size_t t = 0; t < n; ++t) col[t] = h[t * H + 3];
  EXPECT_NEAR(r[1].r, pearson(col.data(), 1, p), 1e-9);
  EXPECT_TRUE(rank_units(a, p, {"c"}, 3).empty());
}

}  // namespace
}  // namespace recurrent::explore
