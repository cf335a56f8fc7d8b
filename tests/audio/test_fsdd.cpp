// FSDD listing and splits (audio/fsdd.h): names parsed, the official split, speaker splits kept
// disjoint, and the bad folders (no .wav, a name that does not parse) as one-line Errors.
#include <filesystem>

#include "audio_test_util.h"
#include "recurrent/audio/fsdd.h"
#include "recurrent/audio/wav.h"

using namespace recurrent::audio;
using namespace recurrent::audio::testing;

namespace {

const std::string kFsddDir = std::string(RECURRENT_TEST_DATA) + "/audio/fsdd";

// A fake FSDD folder: every (speaker, digit, take) as a tiny WAV.
void make_fsdd(const ScratchDir& dir, const std::vector<std::string>& speakers, int takes) {
  const auto x = sine(300, 8000, 0.05);
  for (const auto& s : speakers)
    for (int d = 0; d < 10; ++d)
      for (int t = 0; t < takes; ++t)
        write_wav(dir.file(std::to_string(d) + "_" + s + "_" + std::to_string(t) + ".wav"), x, 8000);
}

}  // namespace

TEST(Fsdd, ListsTheCommittedTakesWithDigitSpeakerTake) {
  const auto utts = list_fsdd(kFsddDir);
  ASSERT_EQ(utts.size(), 6u);
  EXPECT_EQ(speakers_of(utts), (std::vector<std::string>{"george", "jackson", "lucas", "nicolas", "yweweler"}));
  // Sorted by speaker, digit, take: george's 3 first, then jackson's 0 and 2.
  EXPECT_EQ(utts[0].speaker, "george");
  EXPECT_EQ(utts[0].digit, 3);
  EXPECT_EQ(utts[0].take, 7);
  EXPECT_EQ(utts[2].speaker, "jackson");
  EXPECT_EQ(utts[2].digit, 2);
  EXPECT_EQ(utts[2].take, 45);
  EXPECT_EQ(read_audio(utts[0].path).sample_rate, 8000);
}

TEST(Fsdd, OfficialSplitPutsTakesZeroToFourInTest) {
  ScratchDir dir("fsdd");
  make_fsdd(dir, {"amy", "bob"}, 8);
  const auto utts = list_fsdd(dir.path().string());
  ASSERT_EQ(utts.size(), 2u * 10 * 8);
  const FsddSplit s = official_split(utts);
  EXPECT_EQ(s.test.size(), 2u * 10 * 5);
  EXPECT_EQ(s.train.size(), 2u * 10 * 3);
  EXPECT_TRUE(s.valid.empty());
  for (const auto& u : s.test) EXPECT_LT(u.take, 5);
  for (const auto& u : s.train) EXPECT_GE(u.take, 5);
  const FsddSplit v = official_split(utts, 2);  // takes 5, 6 valid
  EXPECT_EQ(v.valid.size(), 2u * 10 * 2);
  EXPECT_EQ(v.train.size(), 2u * 10 * 1);
  for (const auto& u : v.valid) EXPECT_TRUE(u.take == 5 || u.take == 6);
}

TEST(Fsdd, ARecordingsSubfolderIsFound) {
  ScratchDir dir("fsdd");
  std::filesystem::create_directories(dir.path() / "recordings");
  write_wav((dir.path() / "recordings" / "4_amy_0.wav").string(), sine(300, 8000, 0.05), 8000);
  const auto utts = list_fsdd(dir.path().string());
  ASSERT_EQ(utts.size(), 1u);
  EXPECT_EQ(utts[0].digit, 4);
}

TEST(Fsdd, SpeakerSplitHoldsSpeakersOut) {
  ScratchDir dir("fsdd");
  make_fsdd(dir, {"amy", "bob", "cat"}, 2);
  const auto utts = list_fsdd(dir.path().string());
  const FsddSplit s = speaker_split(utts, {"amy"}, {"bob"}, {"cat"});
  EXPECT_EQ(speakers_of(s.train), std::vector<std::string>{"amy"});
  EXPECT_EQ(speakers_of(s.valid), std::vector<std::string>{"bob"});
  EXPECT_EQ(speakers_of(s.test), std::vector<std::string>{"cat"});
  EXPECT_EQ(s.train.size() + s.valid.size() + s.test.size(), utts.size());
  expect_has(error_of([&] { speaker_split(utts, {"amy", "cat"}, {"bob"}, {"cat"}); }),
             "'cat' is in both train and test; expected disjoint speakers");
  expect_has(error_of([&] { speaker_split(utts, {"amy"}, {"bob"}, {"dan"}); }), "'dan' (test) has no recordings");
  expect_has(error_of([&] { speaker_split(utts, {"amy"}, {}, {"cat"}); }), "'bob' is in no part");
}

TEST(Fsdd, FolderWithoutAnyWav) {
  ScratchDir dir("fsdd");
  write_bytes(dir.file("README.md"), "no audio here\n");
  const std::string msg = error_of([&] { list_fsdd(dir.path().string()); });
  expect_has(msg, dir.path().string());
  expect_has(msg, "no .wav files");
  expect_has(error_of([&] { list_fsdd(dir.file("nowhere")); }), "no such folder");
}

TEST(Fsdd, BadFileNames) {
  expect_has(error_of([] { parse_fsdd_name("x/12_amy_3.wav"); }), "x/12_amy_3.wav: digit '12' is not 0-9");
  expect_has(error_of([] { parse_fsdd_name("x/1_amy_three.wav"); }), "take 'three' is not a number");
  expect_has(error_of([] { parse_fsdd_name("x/hello.wav"); }), "expected a name {digit}_{speaker}_{take}.wav");
  const Utterance u = parse_fsdd_name("x/7_van_der_berg_12.wav");  // a speaker with underscores
  EXPECT_EQ(u.speaker, "van_der_berg");
  EXPECT_EQ(u.take, 12);
}
