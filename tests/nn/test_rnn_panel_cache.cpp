// The packed-weight cache (RNN::panel_cache_stats, src/nn/rnn_panel_cache.h): the fused forward loop's
// weight panels are packed once and reused while the weights are unchanged, and any write to a weight
// (an optimizer step after a real backward, Tensor::data(), at(), copy_, fill_, loading a checkpoint,
// replacing the parameter) makes the next call pack again. Outputs are compared BITWISE: with the cache
// against a fresh model (its own, empty cache) given the same weights, and against caching switched off.
// Different targets, fold settings and shapes never reuse each other's panels.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

#include "nn/rnn_direction.h"
#include "nn/rnn_test_util.h"
#include "recurrent/autograd/ops.h"
#include "recurrent/data/utf8.h"
#include "recurrent/data/vocab.h"
#include "recurrent/kernels/target.h"
#include "recurrent/optim/adam.h"
#include "recurrent/optim/sgd.h"
#include "recurrent/tasks/lm.h"
#include "recurrent/train/checkpoint.h"

using namespace recurrent;
using namespace recurrent::testing;

namespace {

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return false;
  const std::vector<float> x = a.to_vector(), y = b.to_vector();
  return std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0;
}

// Output and final states of one forward call, flattened.
Tensor run_rnn_panel_cache(RNN& rnn, const Tensor& x, bool grad = false, const RNNState& init = {}) {
  std::unique_ptr<NoGradGuard> ng = grad ? nullptr : std::make_unique<NoGradGuard>();
  RNNOutput out = rnn.forward(Var(x), {}, init);
  std::vector<Var> parts{reshape(out.output, {-1})};
  for (auto& h : out.final_state.h) parts.push_back(reshape(h, {-1}));
  for (auto& c : out.final_state.c)
    if (c.defined()) parts.push_back(reshape(c, {-1}));
  return concat(parts, 0).value().contiguous();
}

// A fresh model (own, empty cache) holding copies of `src`'s weights.
Tensor fresh_run(const RNN& src, const Tensor& x, bool grad = false) {
  Rng rng(999);
  RNN other(src.options(), rng);
  for (auto& [name, v] : src.named_parameters()) other.parameter(name).value().copy_(v.value());
  Tensor out = run_rnn_panel_cache(other, x, grad);
  EXPECT_EQ(other.panel_cache_stats().hits, 0);
  return out;
}

// The stacks under test: panel tails (H not a multiple of any panel width), every cell family, a
// projection, two layers and a reverse direction.
std::vector<std::pair<std::string, RNNOptions>> stacks() {
  std::vector<std::pair<std::string, RNNOptions>> s;
  s.push_back({"lstm 2x40", RNNOptions::uniform(CellType::lstm, 5, 40, 2)});
  s.push_back({"gru bi", RNNOptions::uniform(CellType::gru, 5, 37, 1, true)});
  s.push_back({"gru_cho", RNNOptions::uniform(CellType::gru_cho, 5, 20, 1)});
  s.push_back({"lstm proj", RNNOptions::uniform(CellType::lstm, 5, 40, 1, false, 13)});
  s.push_back({"rnn_tanh", RNNOptions::uniform(CellType::rnn_tanh, 5, 70, 1)});
  return s;
}

int64_t units(const RNNOptions& o) { return static_cast<int64_t>(o.layers.size()) * o.directions(); }

struct DefaultEngineGuard {  // restores the process default engine
  EngineConfig saved = default_engine();
  ~DefaultEngineGuard() { set_default_engine(saved); }
};

}  // namespace

TEST(Tensor, VersionBumpsOnWritesOnly) {
  Tensor t({2, 3});
  const Tensor& ct = t;
  Tensor other({2, 3});
  EXPECT_NE(t.storage_id(), other.storage_id());
  EXPECT_NE(t.storage_id(), 0u);
  EXPECT_EQ(Tensor().storage_id(), 0u);
  uint64_t v = t.version();
  (void)ct.data();
  (void)ct.at({1, 2});
  (void)t.to_vector();
  (void)t.clone();
  (void)t.contiguous();
  EXPECT_EQ(t.version(), v) << "reading must not bump";
  t.data();
  EXPECT_GT(t.version(), v);
  v = t.version();
  t.at({0, 1}) = 2.0f;
  EXPECT_GT(t.version(), v);
  v = t.version();
  t.fill_(1.0f);
  EXPECT_GT(t.version(), v);
  v = t.version();
  t.zero_();
  EXPECT_GT(t.version(), v);
  v = t.version();
  t.copy_(other);
  EXPECT_GT(t.version(), v);
  v = t.version();
  Tensor view = t.slice(0, 1, 2);  // a view shares the storage: its writes count for every view
  EXPECT_EQ(view.storage_id(), t.storage_id());
  view.fill_(3.0f);
  EXPECT_GT(t.version(), v);
  EXPECT_NE(t.clone().storage_id(), t.storage_id());
}

// (a) Unchanged weights: the second call hits (every layer and direction), and every call gives bitwise
// the output of a model without the cache; in training mode (tape kept) and inference (light), folded
// and not, on every target this CPU runs.
TEST(RnnPanelCache, SecondCallReusesThePanelsBitwise) {
  DefaultEngineGuard guard;
  for (int64_t target : simd::cpu_targets()) {
    for (auto& [label, opts0] : stacks()) {
      for (int fold : {-1, 1}) {
        for (int64_t B : {1, 9}) {
          for (bool grad : {false, true}) {
            SCOPED_TRACE(label + " target " + simd::target_name(target) + " fold " + std::to_string(fold) + " B " +
                         std::to_string(B) + (grad ? " tape" : " light"));
            RNNOptions opts = opts0;
            opts.engine.target = target;
            opts.engine.fold = fold;
            Rng rng(3);
            RNN rnn(opts, rng);
            RNN plain(opts, rng);
            plain.set_panel_caching(false);
            for (auto& [name, v] : rnn.named_parameters()) plain.parameter(name).value().copy_(v.value());
            const Tensor x = random_tensor({4, B, 5}, rng);
            const Tensor y0 = run_rnn_panel_cache(plain, x, grad);
            const Tensor y1 = run_rnn_panel_cache(rnn, x, grad);
            EXPECT_EQ(rnn.panel_cache_stats().misses, units(opts));
            EXPECT_EQ(rnn.panel_cache_stats().hits, 0);
            const Tensor y2 = run_rnn_panel_cache(rnn, x, grad);
            EXPECT_EQ(rnn.panel_cache_stats().misses, units(opts));
            EXPECT_EQ(rnn.panel_cache_stats().hits, units(opts));
            EXPECT_TRUE(bitwise_equal(y1, y0));
            EXPECT_TRUE(bitwise_equal(y2, y0));
            EXPECT_EQ(plain.panel_cache_stats().hits + plain.panel_cache_stats().misses, 0);
          }
        }
      }
    }
  }
}

// Token-at-a-time generation (T = 1, carried state, as `recurrent sample`): every token after the
// first hits, and the sequence equals one call over all the tokens.
TEST(RnnPanelCache, TokenAtATimeHitsEveryStep) {
  Rng rng(4);
  RNN rnn(RNNOptions::uniform(CellType::lstm, 6, 48, 2), rng);
  const int64_t T = 12;
  const Tensor x = random_tensor({T, 1, 6}, rng);
  NoGradGuard ng;
  RNNOutput whole = rnn.forward(Var(x));
  RNNState st;
  std::vector<float> steps;
  const PanelCacheStats before = rnn.panel_cache_stats();
  for (int64_t t = 0; t < T; ++t) {
    RNNOutput o = rnn.forward(Var(x.slice(0, t, t + 1).contiguous()), {}, st);
    st = o.final_state;
    for (float v : o.output.value().to_vector()) steps.push_back(v);
  }
  const PanelCacheStats after = rnn.panel_cache_stats();
  EXPECT_EQ(after.misses, before.misses);  // the whole-sequence call packed them (B = 1: same key)
  EXPECT_EQ(after.hits - before.hits, 2 * T);
  std::vector<float> w = whole.output.value().to_vector();
  ASSERT_EQ(w.size(), steps.size());
  for (size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(steps[i], w[i], 1e-6f) << i;
}

// (b) A weight update invalidates: forward with a tape, a real backward, an optimizer step (Adam, then
// SGD); the next forward misses on every unit and equals (bitwise) a fresh model's with the new weights;
// the call after that hits again.
TEST(RnnPanelCache, OptimizerStepInvalidates) {
  for (auto& [label, opts] : stacks()) {
    for (bool adam : {true, false}) {
      SCOPED_TRACE(label + (adam ? " adam" : " sgd"));
      Rng rng(5);
      RNN rnn(opts, rng);
      std::unique_ptr<Optimizer> opt;
      if (adam) {
        AdamOptions ao;
        ao.lr = 1e-2;
        opt = std::make_unique<Adam>(rnn.named_parameters(), ao);
      } else {
        SgdOptions so;
        so.lr = 0.1;
        opt = std::make_unique<Sgd>(rnn.named_parameters(), so);
      }
      const Tensor x = random_tensor({5, 9, 5}, rng);
      const Tensor seed = random_tensor({5, 9, opts.layer_output_size(opts.layers.size() - 1)}, rng);
      for (int step = 0; step < 2; ++step) {
        const Tensor before = run_rnn_panel_cache(rnn, x);
        opt->zero_grad();
        RNNOutput out = rnn.forward(Var(x));
        sum(mul(out.output, Var(seed))).backward();
        const PanelCacheStats s0 = rnn.panel_cache_stats();
        opt->step();
        const Tensor after = run_rnn_panel_cache(rnn, x);
        const PanelCacheStats s1 = rnn.panel_cache_stats();
        EXPECT_EQ(s1.misses - s0.misses, units(opts)) << "the step must invalidate every unit's panels";
        EXPECT_EQ(s1.hits, s0.hits);
        EXPECT_FALSE(bitwise_equal(after, before));
        EXPECT_TRUE(bitwise_equal(after, fresh_run(rnn, x)));
        EXPECT_TRUE(bitwise_equal(run_rnn_panel_cache(rnn, x), after));
        EXPECT_EQ(rnn.panel_cache_stats().hits - s1.hits, units(opts));
      }
    }
  }
}

// (c) Writes through the Tensor API and a checkpoint load invalidate too. The folded input (B ≥ 8 and
// fold forced) packs W_ih into the panels: writing W_ih must invalidate; the projection's W_hr likewise.
TEST(RnnPanelCache, EveryKindOfWriteInvalidates) {
  for (auto& [label, opts0] : stacks()) {
    RNNOptions opts = opts0;
    opts.engine.fold = 1;
    SCOPED_TRACE(label);
    Rng rng(6);
    RNN rnn(opts, rng);
    const bool folds = opts.layers[0].cell != CellType::gru_cho && opts.layers[0].proj == 0;
    const Tensor x = random_tensor({3, 9, 5}, rng);
    const std::vector<std::pair<std::string, std::function<void()>>> writes = {
        {"data()", [&] { rnn.param("weight_hh", 0, 0).value().data()[3] += 0.25f; }},
        {"at()", [&] { rnn.param("weight_hh", 0, 0).value().at({1, 2}) = 0.5f; }},
        {"copy_ weight_ih", [&] {
           Tensor& w = rnn.param("weight_ih", 0, 0).value();
           w.copy_(random_tensor(w.shape(), rng, -0.3f, 0.3f));
         }},
        {"fill_ of a view", [&] { rnn.param("weight_hh", 0, 0).value().slice(0, 0, 2).fill_(0.1f); }},
        {"weight_hr", [&] {
           Var w = rnn.param("weight_hr", 0, 0);
           if (w.defined()) w.value().data()[0] = 0.75f;
           else rnn.param("weight_hh", 0, 0).value().data()[0] = 0.75f;
         }},
        {"replace_parameter", [&] {
           const std::string name = RNN::param_name("weight_hh", 0, 0);
           Tensor w = rnn.parameter(name).value().clone();
           w.data()[1] = -0.5f;
           rnn.replace_parameter(name, Var(w, true));
         }},
        {"checkpoint load", [&] {
           Rng r2(77);
           RNN donor(opts, r2);
           std::string tmpl = (std::filesystem::temp_directory_path() / "rnn_panel_cache_XXXXXX").string();
           const int fd = mkstemp(tmpl.data());
           ASSERT_GE(fd, 0);
           close(fd);
           const char* path = tmpl.c_str();
           train::save_checkpoint(path, donor, nullptr, {"{}", "", {}, "", ""});
           train::load_model_weights(train::read_checkpoint(path), rnn);
           std::remove(path);
         }},
    };
    for (auto& [what, write] : writes) {
      SCOPED_TRACE(what);
      const Tensor before = run_rnn_panel_cache(rnn, x);
      EXPECT_TRUE(bitwise_equal(run_rnn_panel_cache(rnn, x), before));  // a hit
      const PanelCacheStats s0 = rnn.panel_cache_stats();
      write();
      const Tensor after = run_rnn_panel_cache(rnn, x);
      const PanelCacheStats s1 = rnn.panel_cache_stats();
      if (what == "copy_ weight_ih" && !folds) {  // W_ih is not in these panels: they stay valid
        EXPECT_EQ(s1.misses, s0.misses);
      } else {
        EXPECT_GE(s1.misses - s0.misses, 1);
      }
      EXPECT_FALSE(bitwise_equal(after, before));
      EXPECT_TRUE(bitwise_equal(after, fresh_run(rnn, x)));
    }
  }
}

// (d) Targets, fold settings and shapes do not share panels: a model following the process default
// engine, switched between targets and fold settings, misses at each change and matches a fresh model;
// the folded and the unfolded panels are kept apart (one entry each), so alternating batch sizes
// across the fold rule's threshold packs each once.
TEST(RnnPanelCache, TargetsFoldAndShapesDoNotShare) {
  DefaultEngineGuard guard;
  Rng rng(7);
  RNN rnn(RNNOptions::uniform(CellType::lstm, 5, 40, 2), rng);  // engine: the process default
  const Tensor x9 = random_tensor({3, 9, 5}, rng), x1 = random_tensor({3, 1, 5}, rng);
  std::vector<std::pair<int64_t, int>> configs;
  for (int64_t t : simd::cpu_targets())
    for (int fold : {1, -1}) configs.push_back({t, fold});
  // Back to the first: its panels were replaced meanwhile (by another target's with the same fold).
  if (simd::cpu_targets().size() > 1) configs.push_back(configs.front());
  for (auto [target, fold] : configs) {
    SCOPED_TRACE(simd::target_name(target) + " fold " + std::to_string(fold));
    EngineConfig e = guard.saved;
    e.target = target;
    e.fold = fold;
    set_default_engine(e);
    const PanelCacheStats s0 = rnn.panel_cache_stats();
    const Tensor y = run_rnn_panel_cache(rnn, x9);
    const PanelCacheStats s1 = rnn.panel_cache_stats();
    EXPECT_EQ(s1.misses - s0.misses, 2);
    EXPECT_EQ(s1.hits, s0.hits);
    EXPECT_TRUE(bitwise_equal(y, fresh_run(rnn, x9)));
    EXPECT_TRUE(bitwise_equal(run_rnn_panel_cache(rnn, x9), y));  // then a hit
    EXPECT_EQ(rnn.panel_cache_stats().hits - s1.hits, 2);
  }
  // Under the rule the batch size decides the fold (B >= 8): B = 9 folds, B = 1 does not. Each keeps
  // its own entry: B = 1 after B = 9 packs its panels once, and then both hit, alternating.
  EngineConfig e = guard.saved;
  e.fold = 0;
  set_default_engine(e);
  rnn.set_panel_caching(false);
  rnn.set_panel_caching(true);  // empty caches
  const Tensor y9 = run_rnn_panel_cache(rnn, x9);
  const PanelCacheStats s0 = rnn.panel_cache_stats();
  const Tensor y1 = run_rnn_panel_cache(rnn, x1);
  EXPECT_EQ(rnn.panel_cache_stats().misses - s0.misses, 2);
  EXPECT_TRUE(bitwise_equal(y1, fresh_run(rnn, x1)));
  const PanelCacheStats s1 = rnn.panel_cache_stats();
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(bitwise_equal(run_rnn_panel_cache(rnn, x9), y9));
    EXPECT_TRUE(bitwise_equal(run_rnn_panel_cache(rnn, x1), y1));
  }
  EXPECT_EQ(rnn.panel_cache_stats().misses, s1.misses);
  EXPECT_EQ(rnn.panel_cache_stats().hits - s1.hits, 12);
}

// Serving: threads running forward on one model at once (hits, misses and publishes interleaved, a
// writer invalidating in between) all get the single-threaded results.
TEST(RnnPanelCache, ConcurrentForwardCalls) {
  Rng rng(8);
  RNN rnn(RNNOptions::uniform(CellType::gru, 5, 40, 2), rng);
  const Tensor xa = random_tensor({4, 1, 5}, rng), xb = random_tensor({4, 9, 5}, rng);
  const Tensor ya = run_rnn_panel_cache(rnn, xa), yb = run_rnn_panel_cache(rnn, xb);
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&, k] {
      for (int i = 0; i < 40; ++i) {
        const bool a = (i + k) % 2 == 0;  // two shapes (fold or not): the entry keeps changing
        if (!bitwise_equal(run_rnn_panel_cache(rnn, a ? xa : xb), a ? ya : yb)) bad.fetch_add(1);
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
  const PanelCacheStats s = rnn.panel_cache_stats();
  EXPECT_EQ(s.hits + s.misses, 2 * (2 + 4 * 40));
}

// A copy of an RNN shares its parameters and its caches; switching caching off drops the panels.
TEST(RnnPanelCache, CopiesShareAndCachingCanBeOff) {
  Rng rng(9);
  RNN rnn(RNNOptions::uniform(CellType::lstm, 5, 24, 1), rng);
  const Tensor x = random_tensor({2, 3, 5}, rng);
  const Tensor y = run_rnn_panel_cache(rnn, x);
  RNN copy = rnn;
  EXPECT_TRUE(bitwise_equal(run_rnn_panel_cache(copy, x), y));
  EXPECT_EQ(copy.panel_cache_stats().hits, 1);  // the original's panels
  copy.set_panel_caching(false);
  EXPECT_EQ(copy.panel_cache(0, 0), nullptr);
  EXPECT_TRUE(bitwise_equal(run_rnn_panel_cache(copy, x), y));
  EXPECT_EQ(copy.panel_cache_stats().hits + copy.panel_cache_stats().misses, 2);
  run_rnn_panel_cache(rnn, x);
  EXPECT_EQ(rnn.panel_cache_stats().misses, 2) << "the shared cache was dropped";
}

// What `recurrent sample` runs (tasks::sample_lm on a char LM): the prime call packs each layer's
// panels, then every generated token (a T = 1 call with carried state) reuses them.
TEST(RnnPanelCache, SamplingPacksOnce) {
  tasks::LmConfig c;
  c.vocab = data::Vocab::build_chars(data::utf8_decode("call me ishmael. some years ago\n", "t"));
  c.embed = 8;
  c.layers = {{CellType::lstm, 40, 0}, {CellType::lstm, 40, 0}};
  Rng rng(10);
  tasks::LanguageModel m(c, rng);
  tasks::SampleOptions so;
  so.prime = "call";
  so.length = 25;
  std::string out;
  tasks::sample_lm(m, so, [&](const std::string& s) { out += s; });
  const PanelCacheStats st = m.rnn().panel_cache_stats();
  EXPECT_EQ(st.misses, 2);
  EXPECT_EQ(st.hits, 2 * (so.length - 1));
}
