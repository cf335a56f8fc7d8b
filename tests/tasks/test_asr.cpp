// The speech task (tasks/asr.h): frame stacking, configuration round trip, batches, streaming equal to
// whole-utterance decoding, streaming refused for bidirectional models and classifiers, and a few
// optimisation steps lowering the CTC and classification losses.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <map>

#include "recurrent/audio/wav.h"
#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/optim/adam.h"
#include "recurrent/tasks/asr.h"

using namespace recurrent;
using namespace recurrent::tasks;

namespace {

// A small model over the default front end with made-up global statistics (mean 0, sd 3).
AsrConfig small_config(AsrKind kind, bool bidirectional, int64_t stack, CellType cell = CellType::lstm) {
  AsrConfig c;
  c.kind = kind;
  audio::FeatureOptions f;
  f.normalize = "global";
  c.features = audio::to_map(f);
  c.norm_mean.assign(f.dims(), 0.0f);
  c.norm_std.assign(f.dims(), 3.0f);
  c.layers = {{cell, 12, 0}, {cell, 10, 0}};
  c.bidirectional = bidirectional;
  c.stack = stack;
  return c;
}

std::vector<float> take(const std::string& name) {
  return audio::read_audio(std::string(RECURRENT_TEST_DATA) + "/audio/fsdd/" + name).samples;
}

}  // namespace

TEST(Asr, StackFramesByHand) {
  Tensor f({5, 2});
  for (int64_t i = 0; i < 10; ++i) f.data()[i] = static_cast<float>(i + 1);
  const Tensor s = stack_frames(f, 2);  // [[1 2 3 4] [5 6 7 8] [9 10 0 0]]
  ASSERT_EQ(s.size(0), 3);
  ASSERT_EQ(s.size(1), 4);
  const float want[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 0};
  for (int i = 0; i < 12; ++i) EXPECT_EQ(s.data()[i], want[i]) << i;
  EXPECT_EQ(stack_frames(f, 1).size(0), 5);
}

TEST(Asr, ConfigRoundTrip) {
  const AsrConfig c = small_config(AsrKind::ctc, true, 3, CellType::gru);
  const AsrConfig d = AsrConfig::from_json(c.to_json(), "test");
  EXPECT_EQ(d.to_json(), c.to_json());
  EXPECT_EQ(d.input_size(), 3 * 39);
  EXPECT_THROW(AsrConfig::from_json("{\"task\": \"music\"}", "m.safetensors"), Error);
  AsrConfig bad = c;
  bad.norm_mean.pop_back();
  EXPECT_THROW(bad.validate(), Error);
}

TEST(Asr, BatchIsTimeMajorAndPadded) {
  std::vector<AsrItem> items(2);
  items[0].feats = Tensor({3, 2});
  items[1].feats = Tensor({5, 2});
  for (int64_t i = 0; i < 6; ++i) items[0].feats.data()[i] = 1.0f + i;
  for (int64_t i = 0; i < 10; ++i) items[1].feats.data()[i] = -1.0f - i;
  items[0].digits = {4, 4};
  items[1].digits = {0};
  const AsrBatch b = asr_batch(items, {1, 0}, 2);
  EXPECT_EQ(b.lengths, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(b.targets, (std::vector<int64_t>{1, 5, 5}));
  EXPECT_EQ(b.target_lengths, (std::vector<int64_t>{1, 2}));
  ASSERT_EQ(b.x.shape(), (Shape{3, 2, 4}));
  EXPECT_EQ(b.x.at({1, 0, 0}), -5.0f);  // item 1, step 1 = frames 2, 3
  EXPECT_EQ(b.x.at({1, 1, 3}), 0.0f);   // item 0, step 1: frame 3 is padding
  EXPECT_EQ(b.x.at({1, 1, 0}), 5.0f);
  EXPECT_EQ(b.x.at({2, 1, 0}), 0.0f);   // past item 0's length
}

// The stream's digits after every push equal greedy decoding of the whole utterance at the end, for
// chunk sizes that split frames, stacks and the feature look-ahead anywhere.
TEST(Asr, StreamingEqualsWholeUtterance) {
  std::vector<float> x = take("3_george_7.wav"), y = take("7_lucas_12.wav");
  x.insert(x.end(), y.begin(), y.end());
  for (int64_t stack : {1, 3}) {
    Rng rng(7 + stack);
    AsrModel m(small_config(AsrKind::ctc, false, stack), rng);
    const AsrResult whole = recognize(m, m.features(x, "x"));
    for (size_t chunk : {size_t{1} << 20, size_t{37}, size_t{800}, size_t{1001}}) {
      AsrStream s(m);
      for (size_t a = 0; a < x.size(); a += chunk) s.push(x.data() + a, std::min(chunk, x.size() - a));
      EXPECT_EQ(s.finish(), whole.digits) << "stack " << stack << " chunk " << chunk;
      EXPECT_EQ(s.samples_in(), static_cast<int64_t>(x.size()));
    }
    EXPECT_FALSE(whole.digits.empty());  // an untrained model still emits something to compare
  }
}

TEST(Asr, StreamingRefusesBidirectionalAndClassifiers) {
  Rng rng(1);
  AsrModel bi(small_config(AsrKind::ctc, true, 2), rng);
  try {
    AsrStream s(bi);
    FAIL() << "a bidirectional model was accepted for streaming";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bidirectional"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("before the audio is complete"), std::string::npos) << e.what();
  }
  AsrModel cls(small_config(AsrKind::classify, false, 2), rng);
  EXPECT_THROW(AsrStream{cls}, Error);
}

TEST(Asr, TimestampsLieInsideTheUtterance) {
  Rng rng(3);
  AsrModel m(small_config(AsrKind::ctc, false, 2), rng);
  const std::vector<float> x = take("0_jackson_0.wav");
  const AsrResult r = recognize(m, m.features(x, "x"), 1, true);
  ASSERT_EQ(r.start_s.size(), r.digits.size());
  for (size_t i = 0; i < r.digits.size(); ++i) {
    EXPECT_LT(r.start_s[i], r.end_s[i]);
    EXPECT_LE(r.end_s[i], x.size() / 8000.0 + 0.03);
    if (i > 0) {
      EXPECT_GE(r.start_s[i], r.end_s[i - 1]);
    }
  }
}

// Per-speaker normalisation: over all frames of one speaker's items every column has mean 0 and
// variance 1 (not per item: an item of a speaker keeps its offset from the speaker's other item).
TEST(Asr, NormalizeBySpeakerUsesEachSpeakersStatistics) {
  std::vector<AsrItem> items(4);
  const char* who[4] = {"anna", "bert", "anna", "bert~speed0.9"};
  Rng rng(5);
  for (int i = 0; i < 4; ++i) {
    items[i].speaker = who[i];
    items[i].feats = Tensor({3 + i, 2});
    rng.fill_uniform(items[i].feats, -1.0f, 1.0f);
    for (int64_t k = 0; k < items[i].feats.numel(); ++k) items[i].feats.data()[k] = 10.0f * i + 3.0f * items[i].feats.data()[k];
  }
  normalize_by_speaker(items, 0.0);
  for (const std::string s : {"anna", "bert", "bert~speed0.9"})
    for (int64_t j = 0; j < 2; ++j) {
      double n = 0, sum = 0, sq = 0;
      for (const AsrItem& it : items)
        if (it.speaker == s)
          for (int64_t t = 0; t < it.feats.size(0); ++t) n += 1, sum += it.feats.at({t, j}), sq += double(it.feats.at({t, j})) * it.feats.at({t, j});
      EXPECT_NEAR(sum / n, 0.0, 1e-5) << s << " column " << j;
      EXPECT_NEAR(sq / n, 1.0, 1e-5) << s << " column " << j;
    }
  double mean0 = 0;  // anna's first item (offset 0) lies below her second (offset 20)
  for (int64_t t = 0; t < 3; ++t) mean0 += items[0].feats.at({t, 0}) / 3.0;
  EXPECT_LT(mean0, -0.5);
}

// A model normalised per speaker computes features only with a speaker's statistics, and refuses to
// stream (it needs all of the speaker's audio first), saying so.
TEST(Asr, PerSpeakerModelNeedsTheSpeakersStatistics) {
  AsrConfig c = small_config(AsrKind::ctc, false, 2);
  audio::FeatureOptions f = c.front_end();
  f.normalize = "speaker";
  c.features = audio::to_map(f);
  c.norm_mean.clear(), c.norm_std.clear();
  Rng rng(2);
  AsrModel m(c, rng);
  const std::vector<float> x = take("3_george_7.wav");
  try {
    m.features(x, "3_george_7.wav");
    FAIL() << "features without the speaker's statistics";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("speaker's statistics"), std::string::npos) << e.what();
  }
  audio::FeatureOptions raw = f;
  raw.normalize = "none";
  const Tensor plain = audio::compute_features(x, raw, "x");
  audio::GlobalNorm g;
  g.add(plain);
  g.add(audio::compute_features(take("9_yweweler_3.wav"), raw, "y"));
  g.finish(f.norm_eps);
  const Tensor got = m.features(x, "x", &g);
  ASSERT_TRUE(got.same_shape(plain));
  Tensor want = plain.clone();
  g.apply(want);
  for (int64_t i = 0; i < got.numel(); ++i) ASSERT_EQ(got.data()[i], want.data()[i]) << i;
  try {
    AsrStream s(m);
    FAIL() << "a per-speaker model was accepted for streaming";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("speaker's mean and variance"), std::string::npos) << e.what();
  }
  // The config round trip keeps the mode and wants no global statistics.
  EXPECT_EQ(AsrConfig::from_json(c.to_json(), "t").front_end().normalize, "speaker");
  c.norm_mean.assign(f.dims(), 0.0f), c.norm_std.assign(f.dims(), 1.0f);
  EXPECT_THROW(c.validate(), Error);
}

// Through the data path: perturbed training copies are speakers of their own, and the test part that
// eval rebuilds for a per-speaker model has mean 0 and variance 1 in every column over the test speaker.
TEST(Asr, PerSpeakerDataPath) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("recurrent-asr-spk-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const char* spk[3] = {"anna", "bert", "carl"};
  for (int s = 0; s < 3; ++s)
    for (int d = 0; d < 2; ++d)
      for (int t = 0; t < 2; ++t) {
        std::vector<float> x(2400);
        const double hz = 300.0 + 250.0 * d + 40.0 * s + 5.0 * t, gain = 0.1 + 0.2 * s;  // speakers apart in level
        for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(gain * std::sin(2 * M_PI * hz * double(i) / 8000.0));
        audio::write_wav((dir / (std::to_string(d) + "_" + spk[s] + "_" + std::to_string(t) + ".wav")).string(), x, 8000);
      }
  AsrDataOptions o;
  o.data = dir.string();
  o.isolated = true;
  o.speakers_train = {"anna"}, o.speakers_valid = {"bert"}, o.speakers_test = {"carl"};
  o.speed_perturb = {0.9};
  o.vtlp = {1.1};
  audio::FeatureOptions raw;
  raw.normalize = "none";
  const AsrData d = load_asr_data(o, raw);
  std::map<std::string, int> count;
  for (const AsrItem& it : d.train) ++count[it.speaker];
  EXPECT_EQ(count, (std::map<std::string, int>{{"anna", 4}, {"anna~speed0.9", 4}, {"anna~vtlp1.1", 4}}));
  AsrConfig c = small_config(AsrKind::classify, false, 2);
  audio::FeatureOptions f = c.front_end();
  f.normalize = "speaker";
  c.features = audio::to_map(f);
  c.norm_mean.clear(), c.norm_std.clear();
  c.data_json = o.to_json();
  Rng rng(4);
  const AsrModel m(c, rng);
  const std::vector<AsrItem> test = load_asr_eval_items(m, dir.string());
  ASSERT_EQ(test.size(), 4u);
  int unit = 0;            // columns with variance 1 (one with almost none stays below: norm_eps)
  double item_mean = 0;    // the largest |mean| of one item's column: not 0, as per-utterance would give
  for (int64_t j = 0; j < f.dims(); ++j) {
    double n = 0, sum = 0, sq = 0;
    for (const AsrItem& it : test) {
      EXPECT_EQ(it.speaker, "carl");
      double s1 = 0;
      for (int64_t t = 0; t < it.feats.size(0); ++t) {
        const double v = it.feats.at({t, j});
        n += 1, sum += v, sq += v * v, s1 += v;
      }
      item_mean = std::max(item_mean, std::abs(s1 / it.feats.size(0)));
    }
    EXPECT_NEAR(sum / n, 0.0, 1e-4) << j;
    EXPECT_LE(sq / n, 1.0 + 1e-4) << j;
    unit += sq / n > 0.99;
  }
  EXPECT_GE(unit, f.dims() / 2);
  EXPECT_GT(item_mean, 0.1);
  fs::remove_all(dir);
}

// Both heads learn: a few Adam steps on two utterances lower the loss clearly.
TEST(Asr, AdamStepsLowerBothLosses) {
  std::vector<AsrItem> items(2);
  const char* files[2] = {"5_nicolas_20.wav", "9_yweweler_3.wav"};
  for (AsrKind kind : {AsrKind::ctc, AsrKind::classify}) {
    Rng rng(5);
    AsrModel m(small_config(kind, true, 2), rng);
    for (int i = 0; i < 2; ++i) {
      items[i].feats = m.features(take(files[i]), files[i]);
      items[i].digits = kind == AsrKind::ctc ? std::vector<int>{i ? 9 : 5, 1} : std::vector<int>{i ? 9 : 5};
    }
    const AsrBatch b = asr_batch(items, {0, 1}, 2);
    AdamOptions ao;
    ao.lr = 1e-2;
    Adam opt(m.named_parameters(), ao);
    const double first = asr_loss(m, b).value().item();
    for (int step = 0; step < 30; ++step) {
      opt.zero_grad();
      Var loss = asr_loss(m, b);
      loss.backward();
      opt.step();
    }
    const double last = asr_loss(m, b).value().item();
    EXPECT_TRUE(std::isfinite(first));
    EXPECT_LT(last, 0.5 * first) << (kind == AsrKind::ctc ? "ctc" : "classify");
  }
}
