// Streaming features (audio/feature_stream.h): pushed in chunks of any size, the rows equal the
// whole-signal pipeline's bit for bit, each row comes out as soon as its lookahead is in, and options
// that need the whole utterance are refused.
#include "audio_test_util.h"
#include "recurrent/audio/feature_stream.h"
#include "recurrent/audio/wav.h"
#include "recurrent/core/rng.h"

using namespace recurrent;
using namespace recurrent::audio;
using namespace recurrent::audio::testing;

namespace {

// Pushes x in chunks from `sizes` (cycled), then finishes; returns all rows, flattened.
std::vector<float> streamed(const std::vector<float>& x, const FeatureOptions& o, const std::vector<size_t>& sizes,
                            const GlobalNorm* g = nullptr) {
  FeatureStream s(o, g);
  std::vector<float> rows;
  size_t at = 0, k = 0;
  while (at < x.size()) {
    const size_t n = std::min(sizes[k++ % sizes.size()], x.size() - at);
    const Tensor r = s.push(x.data() + at, n);
    EXPECT_EQ(r.size(1), o.dims());
    const auto v = r.to_vector();
    rows.insert(rows.end(), v.begin(), v.end());
    at += n;
  }
  const auto v = s.finish().to_vector();
  rows.insert(rows.end(), v.begin(), v.end());
  return rows;
}

std::vector<size_t> random_sizes(uint64_t seed) {
  Rng r(seed);
  std::vector<size_t> s;
  for (int i = 0; i < 50; ++i) s.push_back(1 + r.below(700));
  return s;
}

}  // namespace

TEST(FeatureStream, ChunksOfAnySizeGiveTheWholeSignalFeatures) {
  const auto take = read_audio(std::string(RECURRENT_TEST_DATA) + "/audio/fsdd/3_george_7.wav").samples;
  std::vector<FeatureOptions> variants(6);
  for (auto& o : variants) o.normalize = "none";
  variants[1].center = false;
  variants[2].kind = "fbank", variants[2].deltas = 1, variants[2].window = "hamming";
  variants[3].pad_mode = "constant", variants[3].delta_win_length = 7;
  variants[4].log = "db", variants[4].top_db = 0, variants[4].preemphasis = 0;
  variants[5].deltas = 0;
  int i = 0;
  for (const auto& o : variants) {
    SCOPED_TRACE("variant " + std::to_string(i++));
    const std::vector<float> whole = compute_features(take, o).to_vector();
    for (const auto& sizes : {std::vector<size_t>{1}, {7}, {80}, {333}, {100000}, random_sizes(1), random_sizes(2)})
      EXPECT_EQ(streamed(take, o, sizes), whole) << "first chunk size " << sizes[0];
  }
}

TEST(FeatureStream, GlobalNormalisationAsTheWholeSignal) {
  const auto x = sine(440, 8000, 0.7);
  FeatureOptions o;
  o.normalize = "none";
  GlobalNorm g;
  g.add(compute_features(x, o));
  g.finish();
  o.normalize = "global";
  EXPECT_EQ(streamed(x, o, random_sizes(3), &g), compute_features(x, o, "x", &g).to_vector());
}

TEST(FeatureStream, RowsComeOutAsSoonAsTheirLookaheadIsIn) {
  FeatureOptions o;
  o.normalize = "none";
  FeatureStream s(o);
  EXPECT_EQ(s.lookahead_samples(), 128 + 4 * 80);  // 56 ms at 8 kHz: half a window and 4 frames of deltas
  const auto x = sine(300, 8000, 1.0);
  for (size_t n = 0; n < x.size(); n += 37) {
    s.push(x.data() + n, std::min<size_t>(37, x.size() - n));
    const int64_t N = s.samples_in();
    const int64_t expect = N < s.lookahead_samples() ? 0 : (N - s.lookahead_samples()) / 80 + 1;
    ASSERT_EQ(s.rows_out(), expect) << N;  // row t (centred at t*hop) once t*hop + lookahead <= N
  }
  EXPECT_EQ(s.rows_out() + s.finish().size(0), num_frames(8000, o));
}

TEST(FeatureStream, OptionsThatNeedTheWholeUtteranceAreRefused) {
  FeatureOptions o;  // normalize = utterance by default
  expect_has(error_of([&] { FeatureStream s(o); }), "feature stream: normalize=utterance needs the whole utterance");
  o.normalize = "none";
  o.log = "db";
  expect_has(error_of([&] { FeatureStream s(o); }), "log=db with top_db > 0");
  o.log = "log";
  o.normalize = "global";
  expect_has(error_of([&] { FeatureStream s(o); }), "normalize=global needs finished statistics of 39 columns");
  o.normalize = "none";
  FeatureStream s(o);
  s.push(std::vector<float>(50, 0.1f));
  expect_has(error_of([&] { s.finish(); }), "50 samples is too short for reflect padding of 128");
  expect_has(error_of([&] { s.push(std::vector<float>(5, 0.f)); }), "push after finish()");
}
