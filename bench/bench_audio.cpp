// Throughput of the audio front end (include/recurrent/audio/): the default MFCC + deltas pipeline
// (8 kHz, 25 ms / 10 ms, 40 mels, 39 dims, per-utterance normalisation) and the log-mel one on 10 s of
// audio (a synthetic voice: 120 Hz pulses through resonances at 700 and 1200 Hz, plus noise), and resampling 10 s from 48 kHz to 8 kHz (libsamplerate's medium
// sinc). Single thread. Before timing, each result is checked (frame count, width, all finite).
// Reported: time per 10 s of audio; real-time factor = that time / 10 s (counter "rtf").
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "recurrent/audio/features.h"
#include "recurrent/audio/resample.h"
#include "recurrent/core/rng.h"

namespace {
using namespace recurrent;

std::vector<float> ten_seconds(int rate) {
  std::vector<float> x(static_cast<size_t>(10 * rate));
  double y1[2] = {0, 0}, y2[2] = {0, 0};  // two two-pole resonators
  const double r = 0.97, w1 = 2 * M_PI * 700 / rate, w2 = 2 * M_PI * 1200 / rate;
  Rng rng(1);
  for (size_t i = 0; i < x.size(); ++i) {
    const double e = (i % static_cast<size_t>(rate / 120) == 0) ? 1.0 : 0.0;
    const double a = e + 2 * r * std::cos(w1) * y1[0] - r * r * y1[1];
    const double b = a + 2 * r * std::cos(w2) * y2[0] - r * r * y2[1];
    y1[1] = y1[0], y1[0] = a, y2[1] = y2[0], y2[0] = b;
    x[i] = static_cast<float>(0.002 * b + 0.001 * rng.normal());
  }
  return x;
}

void check(const Tensor& f, int64_t frames, int64_t dims) {
  bool ok = f.size(0) == frames && f.size(1) == dims;
  for (float v : f.to_vector()) ok = ok && std::isfinite(v);
  if (!ok) {
    std::fprintf(stderr, "bench_audio: unexpected features %s (expected [%lld, %lld], finite)\n",
                 shape_str(f.shape()).c_str(), static_cast<long long>(frames), static_cast<long long>(dims));
    std::exit(1);
  }
}

void features(benchmark::State& state, const std::string& kind) {
  audio::FeatureOptions o;
  o.kind = kind;
  const auto x = ten_seconds(o.sample_rate);
  check(audio::compute_features(x, o), 1001, o.dims());
  for (auto _ : state) benchmark::DoNotOptimize(audio::compute_features(x, o));
  state.counters["rtf"] = benchmark::Counter(10.0, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void BM_Mfcc39_10s(benchmark::State& s) { features(s, "mfcc"); }
void BM_LogMel120_10s(benchmark::State& s) { features(s, "fbank"); }

void BM_Resample48kTo8k_10s(benchmark::State& state) {
  const auto x = ten_seconds(48000);
  const auto y = audio::resample(x, 48000, 8000);
  if (y.size() < 79990 || y.size() > 80010) {
    std::fprintf(stderr, "bench_audio: resampled to %zu samples, expected ~80000\n", y.size());
    std::exit(1);
  }
  for (auto _ : state) benchmark::DoNotOptimize(audio::resample(x, 48000, 8000));
  state.counters["rtf"] = benchmark::Counter(10.0, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

}  // namespace

BENCHMARK(BM_Mfcc39_10s)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LogMel120_10s)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Resample48kTo8k_10s)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
