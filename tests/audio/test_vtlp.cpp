// Vocal tract length perturbation (audio/mel.cpp: vtlp_warp, compute_features' vtlp_alpha): the warp
// is α·f below its boundary, continuous and increasing, and keeps the Nyquist frequency; α = 1 leaves the
// features bit for bit; α > 1 moves a tone's energy to higher mel bands, α < 1 to lower ones.
#include <gtest/gtest.h>

#include <algorithm>

#include "audio/audio_test_util.h"
#include "recurrent/audio/features.h"

using namespace recurrent;
using namespace recurrent::audio;

TEST(Vtlp, TheWarpIsLinearBelowItsBoundaryContinuousIncreasingAndKeepsNyquist) {
  const double nyq = 4000.0;
  for (double alpha : {0.8, 0.9, 1.0, 1.1, 1.25}) {
    EXPECT_DOUBLE_EQ(vtlp_warp(0.0, alpha, nyq), 0.0);
    EXPECT_NEAR(vtlp_warp(nyq, alpha, nyq), nyq, 1e-9) << alpha;
    EXPECT_DOUBLE_EQ(vtlp_warp(1000.0, alpha, nyq), alpha * 1000.0) << "1 kHz is below the boundary for " << alpha;
    double prev = -1.0;
    for (double f = 0.0; f <= nyq; f += 1.0) {
      const double w = vtlp_warp(f, alpha, nyq);
      ASSERT_GT(w, prev) << "not increasing at " << f << " Hz, alpha " << alpha;
      ASSERT_LT(w - prev, 1.31) << "a jump at " << f << " Hz, alpha " << alpha;  // the steepest piece: 1.3 (α 0.8)
      prev = w;
    }
  }
}

TEST(Vtlp, AlphaOneIsThePlainFrontEnd) {
  FeatureOptions o;
  const std::vector<float> x = audio::testing::sine(700, 8000, 0.3);
  EXPECT_EQ(compute_features(x, o, "x", nullptr, 1.0).to_vector(), compute_features(x, o).to_vector());
  EXPECT_NE(compute_features(x, o, "x", nullptr, 1.1).to_vector(), compute_features(x, o).to_vector());
}

// A 1 kHz tone: the mel band holding most of its energy, by α.
TEST(Vtlp, AWarpAboveOneMovesATonesEnergyUpTheMelBands) {
  FeatureOptions o;
  o.kind = "fbank", o.deltas = 0, o.normalize = "none";
  const std::vector<float> x = audio::testing::sine(1000, 8000, 0.3);
  auto peak = [&](double alpha) {
    const Tensor f = compute_features(x, o, "tone", nullptr, alpha);  // [T, 40]
    const int64_t T = f.size(0), C = f.size(1), t = T / 2;
    const std::vector<float> v = f.to_vector();
    return std::max_element(v.begin() + t * C, v.begin() + (t + 1) * C) - (v.begin() + t * C);
  };
    // α = 1.2 reads the tone as at about 1.2 kHz: a higher band; 0.8 as at 800 Hz.
  EXPECT_GT(peak(1.2), peak(1.0));
  EXPECT_LT(peak(0.8), peak(1.0));
}
