// Reading audio (audio/wav.h): the formats that load, the conversions each makes (with a note the
// caller can show), and one test per bad file, each a one-line Error naming the file and what was
// expected. Every file is written by the test.
#include <sndfile.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "audio_test_util.h"
#include "recurrent/audio/wav.h"

using namespace recurrent::audio;
using namespace recurrent::audio::testing;

namespace {

bool any_note_has(const Audio& a, const std::string& part) {
  return std::any_of(a.notes.begin(), a.notes.end(), [&](const std::string& n) { return n.find(part) != std::string::npos; });
}

// Frequency of a sine from its upward zero crossings.
double zero_crossing_hz(const std::vector<float>& x, int rate) {
  int64_t first = -1, last = -1, n = 0;
  for (size_t i = 1; i < x.size(); ++i)
    if (x[i - 1] < 0 && x[i] >= 0) {
      if (first < 0) first = static_cast<int64_t>(i);
      last = static_cast<int64_t>(i);
      ++n;
    }
  return n > 1 ? double(n - 1) * rate / double(last - first) : 0.0;
}

}  // namespace

TEST(WavRead, Pcm16MonoAtTheModelRateLoadsWithoutNotes) {
  ScratchDir dir("wav");
  const auto x = sine(440, 8000, 0.25);
  write_wav(dir.file("a.wav"), x, 8000);
  const Audio a = read_audio(dir.file("a.wav"), {.target_rate = 8000});
  EXPECT_TRUE(a.notes.empty());
  EXPECT_EQ(a.sample_rate, 8000);
  EXPECT_EQ(a.file_channels, 1);
  ASSERT_EQ(a.samples.size(), x.size());
  for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(a.samples[i], x[i], 1.0 / 32768) << i;
}

TEST(WavRead, NotAWav) {
  ScratchDir dir("wav");
  write_bytes(dir.file("notes.wav"), "this is a text file, not audio\n");
  const std::string msg = error_of([&] { read_audio(dir.file("notes.wav")); });
  expect_has(msg, dir.file("notes.wav"));
  expect_has(msg, "not a WAV file");
  expect_has(msg, "'RIFF'");
}

TEST(WavRead, TruncatedHeader) {
  ScratchDir dir("wav");
  write_wav(dir.file("full.wav"), sine(440, 8000, 0.1), 8000);
  std::filesystem::copy_file(dir.file("full.wav"), dir.file("cut.wav"));
  std::filesystem::resize_file(dir.file("cut.wav"), 20);  // inside the 'fmt ' chunk
  const std::string msg = error_of([&] { read_audio(dir.file("cut.wav")); });
  expect_has(msg, dir.file("cut.wav"));
  expect_has(msg, "truncated or damaged WAV header");
}

TEST(WavRead, ZeroSamples) {
  ScratchDir dir("wav");
  write_wav(dir.file("silent.wav"), {}, 8000);
  const std::string msg = error_of([&] { read_audio(dir.file("silent.wav")); });
  expect_has(msg, dir.file("silent.wav"));
  expect_has(msg, "0 samples");
}

TEST(WavRead, EmptyMissingAndDirectory) {
  ScratchDir dir("wav");
  write_bytes(dir.file("empty.wav"), "");
  expect_has(error_of([&] { read_audio(dir.file("empty.wav")); }), "empty file (0 bytes)");
  expect_has(error_of([&] { read_audio(dir.file("missing.wav")); }), dir.file("missing.wav") + ": no such file");
  expect_has(error_of([&] { read_audio(dir.path().string()); }), "is a directory");
}

TEST(WavRead, ThreeChannelsRefusedWithReason) {
  ScratchDir dir("wav");
  std::vector<float> x(3 * 800, 0.1f);
  write_wav(dir.file("three.wav"), x, 8000, 3);
  const std::string msg = error_of([&] { read_audio(dir.file("three.wav")); });
  expect_has(msg, dir.file("three.wav"));
  expect_has(msg, "3 channels; expected mono or stereo");
}

TEST(WavRead, StereoIsDownmixedToTheMean) {
  ScratchDir dir("wav");
  const auto l = sine(300, 8000, 0.1, 0.6), r = sine(700, 8000, 0.1, 0.2);
  std::vector<float> lr;
  for (size_t i = 0; i < l.size(); ++i) lr.push_back(l[i]), lr.push_back(r[i]);
  write_wav(dir.file("st.wav"), lr, 8000, 2);
  const Audio a = read_audio(dir.file("st.wav"));
  EXPECT_EQ(a.file_channels, 2);
  ASSERT_EQ(a.samples.size(), l.size());
  for (size_t i = 0; i < l.size(); ++i) ASSERT_NEAR(a.samples[i], 0.5f * (l[i] + r[i]), 1.0 / 32768) << i;
  EXPECT_TRUE(any_note_has(a, "stereo downmixed"));
}

TEST(WavRead, TwentyFourBitAndFloatAreConverted) {
  ScratchDir dir("wav");
  const auto x = sine(440, 8000, 0.1, 0.7);
  write_wav(dir.file("p24.wav"), x, 8000, 1, WavEncoding::pcm24);
  write_wav(dir.file("f32.wav"), x, 8000, 1, WavEncoding::float32);
  const Audio a24 = read_audio(dir.file("p24.wav")), af = read_audio(dir.file("f32.wav"));
  ASSERT_EQ(a24.samples.size(), x.size());
  for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(a24.samples[i], x[i], 2.0 / (1 << 23)) << i;
  EXPECT_EQ(af.samples, x);  // float is stored as is
  EXPECT_TRUE(any_note_has(a24, "24 bit PCM converted to float"));
  EXPECT_TRUE(any_note_has(af, "32 bit float converted to float"));
  EXPECT_NE(a24.file_format.find("WAV"), std::string::npos) << a24.file_format;
}

TEST(WavRead, FarSampleRateIsResampledWithANote) {
  ScratchDir dir("wav");
  write_wav(dir.file("hi.wav"), sine(440, 48000, 0.5), 48000);
  const Audio a = read_audio(dir.file("hi.wav"), {.target_rate = 8000});
  EXPECT_EQ(a.file_rate, 48000);
  EXPECT_EQ(a.sample_rate, 8000);
  EXPECT_NEAR(double(a.samples.size()), 4000.0, 2.0);
  EXPECT_NEAR(zero_crossing_hz(a.samples, 8000), 440.0, 1.0);
  EXPECT_TRUE(any_note_has(a, dir.file("hi.wav") + ": resampled from 48000 Hz to 8000 Hz (far from the model's rate"));
  // A nearby rate is resampled too, without the warning; target 0 keeps the file's rate.
  write_wav(dir.file("near.wav"), sine(440, 11025, 0.5), 11025);
  const Audio n = read_audio(dir.file("near.wav"), {.target_rate = 8000});
  EXPECT_TRUE(any_note_has(n, "resampled from 11025 Hz to 8000 Hz"));
  EXPECT_FALSE(any_note_has(n, "far"));
  EXPECT_EQ(read_audio(dir.file("near.wav"), {.target_rate = 0}).sample_rate, 11025);
}

TEST(WavRead, TruncatedDataIsReadAsFarAsItGoes) {
  ScratchDir dir("wav");
  const auto x = sine(440, 8000, 0.1);  // 800 samples, 1600 bytes of data after a 44-byte header
  write_wav(dir.file("full.wav"), x, 8000);
  std::filesystem::copy_file(dir.file("full.wav"), dir.file("cut.wav"));
  std::filesystem::resize_file(dir.file("cut.wav"), 44 + 200);
  const Audio a = read_audio(dir.file("cut.wav"));
  ASSERT_EQ(a.samples.size(), 100u);
  for (size_t i = 0; i < 100; ++i) ASSERT_NEAR(a.samples[i], x[i], 1.0 / 32768) << i;
}

TEST(WavRead, EightBitWavAndFlacLoad) {
  ScratchDir dir("wav");
  const auto x = sine(440, 8000, 0.1, 0.5);
  write_wav(dir.file("u8.wav"), x, 8000, 1, WavEncoding::pcm8);
  const Audio a8 = read_audio(dir.file("u8.wav"));
  ASSERT_EQ(a8.samples.size(), x.size());
  for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(a8.samples[i], x[i], 1.0 / 128) << i;
  EXPECT_TRUE(any_note_has(a8, "Unsigned 8 bit PCM converted to float"));
  // FLAC, 16 kHz: another container libsndfile reads, resampled to the model's 8 kHz.
  SF_INFO info{};
  info.samplerate = 16000;
  info.channels = 1;
  info.format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
  const auto y = sine(440, 16000, 0.5);
  SNDFILE* f = sf_open(dir.file("a.flac").c_str(), SFM_WRITE, &info);
  ASSERT_NE(f, nullptr) << sf_strerror(nullptr);
  ASSERT_EQ(sf_writef_float(f, y.data(), static_cast<sf_count_t>(y.size())), static_cast<sf_count_t>(y.size()));
  sf_close(f);
  const Audio fl = read_audio(dir.file("a.flac"), {.target_rate = 8000});
  EXPECT_NE(fl.file_format.find("FLAC"), std::string::npos) << fl.file_format;
  EXPECT_NEAR(double(fl.samples.size()), 4000.0, 2.0);
  EXPECT_NEAR(zero_crossing_hz(fl.samples, 8000), 440.0, 1.0);
  EXPECT_TRUE(any_note_has(fl, "resampled from 16000 Hz to 8000 Hz"));
}

// Found by tests/fuzz/fuzz_wav: 4 stereo frames at 204,608 Hz resampled to 8 kHz gave no samples and no
// error (read_audio promises audio or an Error). The fuzzer's input is tests/fixtures/audio/fuzz/.
TEST(WavRead, TooShortToResampleIsRefused) {
  ScratchDir dir("wav");
  write_wav(dir.file("blip.wav"), std::vector<float>(8, 0.25f), 204608, 2);
  const std::string msg = error_of([&] { read_audio(dir.file("blip.wav")); });
  expect_has(msg, dir.file("blip.wav"));
  expect_has(msg, "less than one sample at 8000 Hz");
  const std::string found = std::string(RECURRENT_TEST_DATA) + "/audio/fuzz/wav-resampled-to-nothing-c14d3464.wav";
  expect_has(error_of([&] { read_audio(found); }), "less than one sample at 8000 Hz");
}

// Found by tests/fuzz/fuzz_wav (a CI run of scripts/fuzz.sh): libsndfile 1.2.0 never returned from sf_open on
// a 140-byte WAVE file whose LIST chunk declares 400 bytes. Refused before libsndfile sees it, from a file
// and from memory; a LIST whose sub-chunk runs past the LIST likewise; a truncated data chunk still reads.
TEST(WavRead, ChunkPastTheEndIsRefusedBeforeLibsndfile) {
  const std::string found = std::string(RECURRENT_TEST_DATA) + "/audio/fuzz/wav-list-past-end-7837510b.wav";
  std::string msg = error_of([&] { read_audio(found); });
  expect_has(msg, "chunk 'LIST' at byte 36 declares 400 bytes but only 96 follow");
  std::ifstream in(found, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  expect_has(error_of([&] { read_audio_bytes(bytes, "body"); }), "body: chunk 'LIST' at byte 36");

  ScratchDir dir("wav");
  write_wav(dir.file("s.wav"), sine(440, 8000, 0.1), 8000, 1);
  std::ifstream sin(dir.file("s.wav"), std::ios::binary);
  std::string good((std::istreambuf_iterator<char>(sin)), std::istreambuf_iterator<char>());
  // A LIST of 16 bytes ("INFO", then a sub-chunk "INAM" declaring 100 bytes) after the header's 12 bytes.
  std::string list = std::string("LIST") + std::string("\x10\0\0\0", 4) + "INFO" + "INAM" + std::string("\x64\0\0\0", 4) + "abcd";
  std::string bad = good.substr(0, 12) + list + good.substr(12);
  expect_has(error_of([&] { read_audio_bytes(bad, "b"); }), "sub-chunk 'INAM' of the LIST chunk at byte 24 declares 100 bytes");
  // The same LIST made well-formed (INAM of 4 bytes) reads; so does a take cut short inside its data.
  list.replace(16, 1, std::string("\x04", 1));
  EXPECT_EQ(read_audio_bytes(good.substr(0, 12) + list + good.substr(12), "ok").samples, read_audio_bytes(good, "g").samples);
  EXPECT_FALSE(read_audio_bytes(good.substr(0, good.size() - 100), "cut").samples.empty());
}

// The long campaign's hang: a "LIST" marker inside a second 'fmt ' chunk's bytes, declaring 400 bytes of a
// 270-byte file — sf_open never returned. Refused up front; a "LIST" among the samples is only samples.
TEST(WavRead, ListMarkerInsideAnotherChunkIsRefusedBeforeLibsndfile) {
  const std::string found = std::string(RECURRENT_TEST_DATA) + "/audio/fuzz/wav-list-in-fmt-d1ec508a.wav";
  expect_has(error_of([&] { read_audio(found); }), "a 'LIST' marker at byte 44 declares 400 bytes but only 218 follow");
  // CI's 30 s run, the same shape in a longer file: that LIST fits, its first sub-chunk declares 4 GB.
  const std::string found2 = std::string(RECURRENT_TEST_DATA) + "/audio/fuzz/wav-list-in-fmt-0ce5771a.wav";
  expect_has(error_of([&] { read_audio(found2); }), "of the LIST chunk at byte 56 declares 4294967295 bytes");
  ScratchDir dir("wav");
  write_wav(dir.file("s.wav"), sine(440, 8000, 0.1), 8000, 1);
  std::ifstream sin(dir.file("s.wav"), std::ios::binary);
  std::string good((std::istreambuf_iterator<char>(sin)), std::istreambuf_iterator<char>());
  const size_t data = good.find("data");
  ASSERT_NE(data, std::string::npos);
  std::string listy = good;
  listy.replace(data + 8, 8, std::string("LIST\xff\xff\xff\x7f", 8));
  EXPECT_EQ(read_audio_bytes(listy, "listy").samples.size(), read_audio_bytes(good, "g").samples.size());
  // A fresh-clone CI's 30 s run: after a well-formed data chunk, a LIST whose first sub-chunk declares 4 GB (libsndfile
  // walks on past the samples and hung); refused before libsndfile. A well-formed LIST INFO there still reads.
  const std::string found3 = std::string(RECURRENT_TEST_DATA) + "/audio/fuzz/wav-list-after-data-2a0f08bc.wav";
  expect_has(error_of([&] { read_audio(found3); }), "of the LIST chunk at byte 1656 declares 4294967295 bytes");
  std::string info("LIST\x16\0\0\0INFOINAM\x09\0\0\0a melody\0\0", 30);
  std::string tagged = good + info;
  const uint32_t riff = static_cast<uint32_t>(tagged.size() - 8);
  for (int k = 0; k < 4; ++k) tagged[4 + k] = static_cast<char>((riff >> (8 * k)) & 0xff);
  EXPECT_EQ(read_audio_bytes(tagged, "tagged").samples, read_audio_bytes(good, "g").samples);
}

// read_audio_bytes (an upload in memory): the same samples and notes as the file, and the same
// one-line errors naming the buffer's name.
TEST(WavRead, BytesInMemoryAsTheFile) {
  ScratchDir dir("wav");
  write_wav(dir.file("s.wav"), sine(440, 16000, 0.2), 16000, 2);  // stereo at 16 kHz: downmixed and resampled
  std::ifstream in(dir.file("s.wav"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const Audio f = read_audio(dir.file("s.wav"), {.target_rate = 8000});
  const Audio b = read_audio_bytes(bytes, "body", {.target_rate = 8000});
  EXPECT_EQ(b.samples, f.samples);
  EXPECT_EQ(b.file_rate, 16000);
  EXPECT_EQ(b.file_format, f.file_format);
  ASSERT_EQ(b.notes.size(), f.notes.size());
  EXPECT_EQ(b.notes[0].rfind("body: ", 0), 0u) << b.notes[0];
  std::string msg = error_of([&] { read_audio_bytes("this is a text file, not audio\n", "body"); });
  expect_has(msg, "body: not a WAV file");
  expect_has(msg, "'RIFF'");
  msg = error_of([&] { read_audio_bytes(bytes.substr(0, 20), "body"); });
  expect_has(msg, "body: truncated or damaged WAV header (20 bytes");
  expect_has(error_of([&] { read_audio_bytes("", "body"); }), "body: empty (0 bytes)");
}
