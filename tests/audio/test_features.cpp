// Feature pipeline pieces beyond the torchaudio parity test: option checks and their metadata form,
// frame counts, deltas, the normalisations, SpecAugment masks and resampling.
#include <cmath>

#include "audio_test_util.h"
#include "recurrent/audio/features.h"
#include "recurrent/audio/normalize.h"
#include "recurrent/audio/resample.h"
#include "recurrent/audio/spec_augment.h"

using namespace recurrent;
using namespace recurrent::audio;
using namespace recurrent::audio::testing;

TEST(AudioFeatures, DefaultsSuitEightKilohertzSpeech) {
  const FeatureOptions o;
  EXPECT_EQ(o.sample_rate, 8000);
  EXPECT_EQ(o.win_length, 200);  // 25 ms
  EXPECT_EQ(o.hop_length, 80);   // 10 ms
  EXPECT_EQ(o.n_mels, 40);
  EXPECT_EQ(o.dims(), 39);       // 13 MFCC + deltas + delta-deltas
  const Tensor f = compute_features(sine(440, 8000, 1.0), o);
  EXPECT_EQ(shape_str(f.shape()), "[101, 39]");  // 1 + 8000 / 80 frames (centred)
  // Per-utterance normalisation: every column mean 0, variance 1 (columns that vary).
  for (int64_t j = 0; j < 39; ++j) {
    double s = 0, s2 = 0;
    for (int64_t t = 0; t < 101; ++t) s += f.at({t, j}), s2 += double(f.at({t, j})) * f.at({t, j});
    EXPECT_NEAR(s / 101, 0.0, 1e-5) << j;
    EXPECT_LE(s2 / 101, 1.0 + 1e-4) << j;
  }
}

TEST(AudioFeatures, FrameCounts) {
  FeatureOptions o;
  EXPECT_EQ(num_frames(8000, o), 101);
  EXPECT_EQ(num_frames(0, o), 0);
  o.center = false;
  EXPECT_EQ(num_frames(8000, o), 1 + (8000 - 256) / 80);
  EXPECT_EQ(num_frames(255, o), 0);
  expect_has(error_of([&] { compute_features(std::vector<float>(100, 0.1f), o, "short.wav"); }),
             "short.wav: 100 samples is shorter than one frame (n_fft 256)");
  expect_has(error_of([&] { compute_features({}, o, "none.wav"); }), "none.wav: 0 samples");
}

TEST(AudioFeatures, OptionChecksNameTheOption) {
  FeatureOptions o;
  o.n_fft = 128;
  expect_has(error_of([&] { validate(o); }), "feature options: n_fft: expected >= win_length (200)");
  o = {};
  o.window = "blackman";
  expect_has(error_of([&] { validate(o); }), "window: expected one of hann, hamming, rectangular, got 'blackman'");
  o = {};
  o.f_max = 5000;
  expect_has(error_of([&] { validate(o); }), "f_max: expected <= sample_rate / 2 (4000 Hz)");
  o = {};
  o.delta_win_length = 4;
  expect_has(error_of([&] { validate(o); }), "delta_win_length: expected an odd number >= 3, got 4");
}

TEST(AudioFeatures, OptionsRoundTripThroughMetadata) {
  FeatureOptions o;
  o.kind = "fbank";
  o.f_min = 33.3;
  o.center = false;
  o.n_mels = 24;
  const auto kv = to_map(o);
  EXPECT_EQ(kv.at("center"), "false");
  const FeatureOptions back = feature_options_from_map(kv, "model.safetensors");
  EXPECT_EQ(to_map(back), kv);
  auto bad = kv;
  bad["n_mels"] = "many";
  expect_has(error_of([&] { feature_options_from_map(bad, "m"); }), "m: feature option n_mels: cannot parse 'many'");
  bad = kv;
  bad["hop"] = "80";
  expect_has(error_of([&] { feature_options_from_map(bad, "m"); }), "m: unknown feature option 'hop'");
  EXPECT_NO_THROW(feature_options_from_map(bad, "m", /*ignore_unknown=*/true));
  bad = kv;
  bad["n_fft"] = "16";
  expect_has(error_of([&] { feature_options_from_map(bad, "m"); }), "m: n_fft: expected >= win_length");
}

TEST(AudioFeatures, DeltasOfARampAreItsSlopeInside) {
  // c[t] = 3t: inside, sum k * 3(t+k) / (n(n+1)(2n+1)/3) = 3; at the ends replicate padding lowers it.
  const int64_t T = 12;
  Tensor c({T, 2});
  for (int64_t t = 0; t < T; ++t) c.at({t, 0}) = 3.0f * t, c.at({t, 1}) = 1.0f;
  const Tensor d = compute_deltas(c, 5);
  for (int64_t t = 2; t < T - 2; ++t) {
    EXPECT_NEAR(d.at({t, 0}), 3.0f, 1e-5) << t;
    EXPECT_NEAR(d.at({t, 1}), 0.0f, 1e-6) << t;  // a constant has no delta
  }
  // t = 0: (-2*0 - 1*0 + 1*3 + 2*6) / 10 = 1.5
  EXPECT_NEAR(d.at({0, 0}), 1.5f, 1e-5);
  expect_has(error_of([&] { compute_deltas(c, 4); }), "compute_deltas: win_length: expected an odd number >= 3");
}

TEST(AudioFeatures, PreemphasisIsAFirstDifference) {
  const auto y = preemphasis({1.0f, 2.0f, 4.0f}, 0.5);
  EXPECT_EQ(y, (std::vector<float>{1.0f, 1.5f, 3.0f}));
}

TEST(AudioFeatures, GlobalNormalisationUsesTheTrainingStatistics) {
  FeatureOptions o;
  o.normalize = "none";
  const Tensor a = compute_features(sine(300, 8000, 0.5), o), b = compute_features(sine(900, 8000, 0.3, 0.1), o);
  GlobalNorm g;
  g.add(a);
  g.add(b);
  g.finish();
  EXPECT_EQ(g.frames(), a.size(0) + b.size(0));
  EXPECT_EQ(g.dims(), 39);
  // Through compute_features with normalize = global: all frames together have mean 0, variance ~1.
  o.normalize = "global";
  const Tensor na = compute_features(sine(300, 8000, 0.5), o, "a", &g), nb = compute_features(sine(900, 8000, 0.3, 0.1), o, "b", &g);
  for (int64_t j = 0; j < 39; ++j) {
    double s = 0, s2 = 0;
    for (const Tensor* t : {&na, &nb})
      for (int64_t i = 0; i < t->size(0); ++i) s += t->at({i, j}), s2 += double(t->at({i, j})) * t->at({i, j});
    const double n = double(g.frames());
    EXPECT_NEAR(s / n, 0.0, 1e-4) << j;
    EXPECT_LE(s2 / n, 1.0 + 1e-3) << j;
  }
  expect_has(error_of([&] { compute_features(sine(300, 8000, 0.5), o, "c.wav"); }),
             "c.wav: normalize=global needs finished statistics of 39 columns (none given)");
  expect_has(error_of([] { GlobalNorm(Tensor::from({0, 0}, {2}), Tensor::from({1, 0}, {2})); }),
             "stddev must be positive and finite, got 0");
  GlobalNorm empty;
  expect_has(error_of([&] { empty.finish(); }), "no frames were added");
}

TEST(AudioFeatures, SpecAugmentMasksAreSeededBoundedAndShared) {
  const int64_t T = 100, C = 13, blocks = 3;
  Tensor base({T, C * blocks});
  for (int64_t i = 0; i < base.numel(); ++i) base.data()[i] = 1.0f + float(i % 7);
  SpecAugmentOptions o;
  o.freq_masks = 1;
  o.time_masks = 1;
  Tensor x = base.clone(), y = base.clone();
  Rng r1(5), r2(5);
  spec_augment(x, o, r1, static_cast<int>(blocks));
  spec_augment(y, o, r2, static_cast<int>(blocks));
  EXPECT_EQ(x.to_vector(), y.to_vector());  // same seed, same masks
  // Masked columns: those zero in every frame; identical in each block and at most F wide.
  std::vector<int64_t> cols;
  for (int64_t j = 0; j < C * blocks; ++j) {
    bool all = true;
    for (int64_t t = 0; t < T; ++t) all = all && x.at({t, j}) == 0.0f;
    if (all) cols.push_back(j);
  }
  ASSERT_EQ(cols.size() % blocks, 0u);
  EXPECT_LE(cols.size() / blocks, size_t(o.freq_mask_param));
  for (size_t k = 0; k < cols.size() / blocks; ++k)
    for (int64_t b = 1; b < blocks; ++b) EXPECT_EQ(cols[k + b * cols.size() / blocks], cols[k] + b * C);
  // Masked frames: at most min(T param, p * T) = 20.
  int64_t rows = 0;
  for (int64_t t = 0; t < T; ++t) {
    bool all = true;
    for (int64_t j = 0; j < C * blocks; ++j) all = all && x.at({t, j}) == 0.0f;
    rows += all;
  }
  EXPECT_LE(rows, 20);
  // Over many seeds some masks are drawn, and other seeds give other masks.
  int changed = 0, differ = 0;
  for (uint64_t s = 0; s < 20; ++s) {
    Tensor z = base.clone();
    Rng r(100 + s);
    spec_augment(z, o, r, static_cast<int>(blocks));
    changed += z.to_vector() != base.to_vector();
    differ += z.to_vector() != x.to_vector();
  }
  EXPECT_GE(changed, 15);
  EXPECT_GE(differ, 15);
  expect_has(error_of([&] { Rng r(1); spec_augment(x, o, r, 4); }), "feature width 39 is not divisible into 4 blocks");
}

TEST(AudioFeatures, ResampleLengthsAndErrors) {
  const auto x = sine(440, 8000, 0.5);
  EXPECT_NEAR(double(resample(x, 8000, 16000).size()), 8000.0, 2.0);
  EXPECT_EQ(resample(x, 8000, 8000), x);
  expect_has(error_of([&] { resample(x, 0, 8000, "f.wav"); }), "f.wav: sample rates must be positive");
  expect_has(error_of([&] { resample(x, 8000000, 8000, "f.wav"); }), "outside libsamplerate's 1/256..256");
}
