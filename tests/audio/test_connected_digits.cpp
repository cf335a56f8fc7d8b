// Connected digits (audio/connected_digits.h): labels and spans match the takes, the same seed gives
// the same audio, speakers stay disjoint between parts, and the labels file round-trips with one
// Error per mismatch between labels.tsv and the folder.
#include <filesystem>
#include <fstream>
#include <set>

#include "audio_test_util.h"
#include "recurrent/audio/connected_digits.h"

using namespace recurrent::audio;
using namespace recurrent::audio::testing;

namespace {

const std::string kFsdd = std::string(RECURRENT_TEST_DATA) + "/audio/fsdd";

std::vector<Take> committed_takes() { return load_takes(list_fsdd(kFsdd)); }

}  // namespace

TEST(ConnectedDigits, LabelsSpansAndLevels) {
  const auto pool = committed_takes();
  ConnectedOptions o;
  const auto utts = build_connected(pool, 20, 8000, o, 42);
  ASSERT_EQ(utts.size(), 20u);
  std::set<size_t> lengths;
  for (const auto& u : utts) {
    ASSERT_GE(u.digits.size(), 1u);
    ASSERT_LE(u.digits.size(), 7u);
    lengths.insert(u.digits.size());
    ASSERT_EQ(u.starts.size(), u.digits.size());
    ASSERT_EQ(u.sources.size(), u.digits.size());
    int64_t prev_end = 0;
    for (size_t k = 0; k < u.digits.size(); ++k) {
      const Utterance src = parse_fsdd_name(u.sources[k]);
      EXPECT_EQ(src.digit, u.digits[k]);          // label = the take's digit
      EXPECT_EQ(src.speaker, u.speaker);          // one speaker per utterance
      const Take* t = nullptr;
      for (const auto& p : pool) if (p.utt.path == u.sources[k]) t = &p;
      ASSERT_NE(t, nullptr);
      EXPECT_EQ(u.ends[k] - u.starts[k], static_cast<int64_t>(t->samples.size()));
      const int64_t gap = u.starts[k] - prev_end;  // edge before the first, gap between the others
      EXPECT_GE(gap, k == 0 ? 400 : 400 - 1) << k;  // >= 0.05 s at 8 kHz
      EXPECT_LE(gap, k == 0 ? 2000 : 2400 + 1) << k;
      prev_end = u.ends[k];
    }
    EXPECT_GE(static_cast<int64_t>(u.samples.size()) - prev_end, 400);
    float peak = 0;
    for (float v : u.samples) peak = std::max(peak, std::fabs(v));
    EXPECT_LE(peak, 0.991f);
    EXPECT_GT(peak, 0.01f);
  }
  EXPECT_GE(lengths.size(), 4u) << "lengths 1..7 should vary";
}

TEST(ConnectedDigits, SameSeedSameAudioOtherSeedOtherAudio) {
  const auto pool = committed_takes();
  const auto a = build_connected(pool, 5, 8000, {}, 7), b = build_connected(pool, 8, 8000, {}, 7);
  const auto c = build_connected(pool, 5, 8000, {}, 8);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].samples, b[i].samples) << i;  // utterance i does not depend on the count
    EXPECT_EQ(a[i].digits, b[i].digits) << i;
  }
  EXPECT_NE(a[0].samples, c[0].samples);
}

TEST(ConnectedDigits, SetsKeepSpeakersDisjoint) {
  const auto utts = list_fsdd(kFsdd);
  const FsddSplit s = speaker_split(utts, {"george", "jackson", "lucas"}, {"nicolas"}, {"yweweler"});
  const ConnectedSets sets = build_connected_sets(s, 6, 3, 3, {}, 1);
  ASSERT_EQ(sets.train.size(), 6u);
  for (const auto& u : sets.train) {
    EXPECT_NE(u.speaker, "nicolas");
    EXPECT_NE(u.speaker, "yweweler");
  }
  for (const auto& u : sets.valid) EXPECT_EQ(u.speaker, "nicolas");
  for (const auto& u : sets.test) EXPECT_EQ(u.speaker, "yweweler");
  const FsddSplit shared = official_split(utts);  // jackson's takes 0 and 45 land in test and train
  expect_has(error_of([&] { build_connected_sets(shared, 2, 0, 2, {}, 1); }),
             "speaker 'jackson' is in both train and test; connected-digit sets keep speakers disjoint");
}

TEST(ConnectedDigits, LabelsFileRoundTrip) {
  ScratchDir dir("connected");
  const auto utts = build_connected(committed_takes(), 4, 8000, {}, 3);
  write_connected(dir.path().string(), utts, 8000);
  const auto files = read_connected(dir.path().string());
  ASSERT_EQ(files.size(), 4u);
  for (size_t i = 0; i < files.size(); ++i) {
    EXPECT_EQ(files[i].digits, utts[i].digits);
    EXPECT_EQ(files[i].starts, utts[i].starts);
    EXPECT_EQ(files[i].ends, utts[i].ends);
    EXPECT_EQ(files[i].speaker, utts[i].speaker);
    const Audio a = read_audio(files[i].path);
    ASSERT_EQ(a.samples.size(), utts[i].samples.size());
  }
}

TEST(ConnectedDigits, LabelsFileMismatches) {
  ScratchDir dir("connected");
  const std::string d = dir.path().string(), labels = dir.file("labels.tsv");
  write_connected(d, build_connected(committed_takes(), 2, 8000, {.max_digits = 2}, 3), 8000);
  std::string good;
  {
    std::ifstream in(labels);
    good.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string first = good.substr(0, good.find('\n') + 1);
  // A .wav without a line.
  write_bytes(labels, first);
  expect_has(error_of([&] { read_connected(d); }), dir.file("00001.wav") + ": has no line in " + labels);
  // A line for a file that is not there.
  write_bytes(labels, good + "00009.wav\t1\tamy\t0:10\n");
  expect_has(error_of([&] { read_connected(d); }), labels + ":3: 00009.wav is listed but not in the folder");
  // Spans that do not match the digits, a label that is not a digit, too few columns.
  write_bytes(labels, "00000.wav\t1 2\tamy\t0:10\n");
  expect_has(error_of([&] { read_connected(d); }), labels + ":1: 2 digits but 1 spans");
  write_bytes(labels, "00000.wav\tseven\tamy\t0:10\n");
  expect_has(error_of([&] { read_connected(d); }), "label 'seven' is not a digit 0-9");
  write_bytes(labels, "00000.wav\t7\n");
  expect_has(error_of([&] { read_connected(d); }), labels + ":1: 2 tab-separated columns");
  std::filesystem::remove(labels);
  expect_has(error_of([&] { read_connected(d); }), labels + ": missing");
}
