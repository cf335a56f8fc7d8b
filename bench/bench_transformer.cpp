// Transformer vs recurrent language models on 2 cores: training throughput against sequence length,
// and generation latency per token — KV-cached, recomputed over the full context, and an LSTM step.
//
// Models (character-level sizes, about equal parameter counts; V = 96):
//   transformer  4 layers, d_model 256, 4 heads, ff 1024, learned positions, tied head   ≈ 3.2 M
//   lstm / gru   embedding 256, 2 layers of 448, linear head                            ≈ 3.0 M / 2.3 M
// Cases (T = sequence length, t = position of the generated token):
//   BM_TrainStep/<arch>/T     forward + backward of the mean cross-entropy on B·T = 4096 tokens
//                             (B = 4096 / T, at least 1); counter tokens/s. No optimizer step.
//   BM_GenerateCached/t       one token at position t with a KV cache of t earlier tokens
//   BM_GenerateRecompute/t    one token by re-running the causal forward over all t + 1 tokens
//   BM_GenerateRnn/<arch>     one token of an RNN (state carried): independent of t
// Generation cases run at batch 1; their time per iteration is the latency per token.
// Before timing, the cached path is checked against the full forward (same logits to 1e-4 of
// their scale), so the speed-up compares two ways of computing the same numbers.
// Run: build/bench/bench_transformer --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/rng.h"
#include "recurrent/nn/rnn.h"
#include "recurrent/nn/transformer.h"

namespace {
using namespace recurrent;

constexpr int64_t kVocab = 96, kTokens = 4096;

TransformerLMOptions lm_options(int64_t context) {
  TransformerLMOptions o;
  o.vocab = kVocab;
  o.context = context;
  o.layers = 4;
  o.d_model = 256;
  o.heads = 4;
  o.ff = 1024;
  o.dropout = 0.0f;
  return o;
}

// embedding → RNN stack → linear head (examples/char_lm.cpp's model)
struct RnnLM : Module {
  Var emb, head_w, head_b;
  std::shared_ptr<RNN> rnn;
  RnnLM(CellType cell, Rng& rng) {
    Tensor e({kVocab, 256});
    rng.fill_normal(e, 0.0f, 1.0f);
    emb = register_parameter("embedding.weight", e);
    rnn = register_module("rnn", std::make_shared<RNN>(RNNOptions::uniform(cell, 256, 448, 2), rng));
    Tensor w({kVocab, 448}), b({kVocab});
    rng.fill_uniform(w, -0.05f, 0.05f);
    head_w = register_parameter("head.weight", w);
    head_b = register_parameter("head.bias", b);
  }
  // ids [T, B] time-major -> logits [T, B, V]
  Var forward(const std::vector<int64_t>& ids, int64_t T, int64_t B, RNNState& st) {
    RNNOutput out = rnn->forward(embedding(emb, ids, {T, B}), {}, st);
    st = out.final_state;
    return linear(out.output, head_w, head_b);
  }
};

std::vector<int64_t> tokens(int64_t n, uint64_t seed) {
  Rng r(seed);
  std::vector<int64_t> t(static_cast<size_t>(n));
  for (auto& x : t) x = static_cast<int64_t>(r.below(kVocab));
  return t;
}

void BM_TrainStep(benchmark::State& state, bool transformer, CellType cell) {
  const int64_t T = state.range(0), B = std::max<int64_t>(1, kTokens / T);
  Rng rng(1);
  std::vector<int64_t> in = tokens(B * T, 2), tgt = tokens(B * T, 3);
  std::unique_ptr<TransformerLM> tf;
  std::unique_ptr<RnnLM> rn;
  if (transformer) tf = std::make_unique<TransformerLM>(lm_options(T), rng);
  else rn = std::make_unique<RnnLM>(cell, rng);
  Module& m = transformer ? static_cast<Module&>(*tf) : *rn;
  auto step = [&] {
    m.zero_grad();
    RNNState st;
    Var logits = transformer ? tf->forward(in, B, T) : rn->forward(in, T, B, st);
    Var loss = cross_entropy(logits, tgt);
    loss.backward();
    return loss.value().item();
  };
  const float l0 = step();
  if (!std::isfinite(l0) || std::fabs(l0 - std::log(static_cast<float>(kVocab))) > 1.5f) {
    state.SkipWithError("initial loss is not near log V");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(step());
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(B * T), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["params"] = static_cast<double>(m.num_parameters());
  state.counters["B"] = static_cast<double>(B);
}

// Largest |a − b| relative to max |b|.
double rel_diff(const Tensor& a, const Tensor& b) {
  Tensor x = a.contiguous(), y = b.contiguous();
  double d = 0, s = 1e-12;
  for (int64_t i = 0; i < x.numel(); ++i) {
    d = std::max(d, static_cast<double>(std::fabs(x.data()[i] - y.data()[i])));
    s = std::max(s, static_cast<double>(std::fabs(y.data()[i])));
  }
  return d / s;
}

void BM_GenerateCached(benchmark::State& state) {
  const int64_t t = state.range(0), C = t + 1;
  Rng rng(1);
  TransformerLM lm(lm_options(C), rng);
  lm.eval();
  std::vector<int64_t> seq = tokens(C, 4);
  LMCache cache;
  lm.forward_cached(std::vector<int64_t>(seq.begin(), seq.end() - 1), 1, t, cache);
  Tensor last = lm.forward_cached({seq.back()}, 1, 1, cache);
  Tensor full;
  {
    NoGradGuard ng;
    full = lm.forward(seq, 1, C).value().slice(1, t, C);
  }
  if (rel_diff(last, full) > 1e-4) {
    state.SkipWithError("cached logits differ from the full forward");
    return;
  }
  for (auto _ : state) {
    for (auto& l : cache.layers) l.len = t;  // drop the last step: the next call re-appends it
    benchmark::DoNotOptimize(lm.forward_cached({seq.back()}, 1, 1, cache).data());
  }
}

void BM_GenerateRecompute(benchmark::State& state) {
  const int64_t t = state.range(0), C = t + 1;
  Rng rng(1);
  TransformerLM lm(lm_options(C), rng);
  lm.eval();
  std::vector<int64_t> seq = tokens(C, 4);
  NoGradGuard ng;
  for (auto _ : state) benchmark::DoNotOptimize(lm.forward(seq, 1, C).value().data());
}

void BM_GenerateRnn(benchmark::State& state, CellType cell) {
  Rng rng(1);
  RnnLM m(cell, rng);
  m.eval();
  NoGradGuard ng;
  RNNState st;
  for (int64_t id : tokens(64, 5)) m.forward({id}, 1, 1, st);  // a warm state
  for (auto _ : state) benchmark::DoNotOptimize(m.forward({7}, 1, 1, st).value().data());
}

void train_lengths(benchmark::internal::Benchmark* b) {
  for (int64_t T : {64, 128, 256, 512, 1024, 2048}) b->Arg(T);
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}
void gen_positions(benchmark::internal::Benchmark* b) {
  for (int64_t t : {63, 127, 255, 511, 1023, 2047}) b->Arg(t);
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

BENCHMARK_CAPTURE(BM_TrainStep, transformer, true, CellType::lstm)->Apply(train_lengths);
BENCHMARK_CAPTURE(BM_TrainStep, lstm, false, CellType::lstm)->Apply(train_lengths);
BENCHMARK_CAPTURE(BM_TrainStep, gru, false, CellType::gru)->Apply(train_lengths);
BENCHMARK(BM_GenerateCached)->Apply(gen_positions);
BENCHMARK(BM_GenerateRecompute)->Apply(gen_positions);
BENCHMARK_CAPTURE(BM_GenerateRnn, lstm, CellType::lstm)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_GenerateRnn, gru, CellType::gru)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
