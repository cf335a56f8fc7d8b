// `recurrent features` (cli/cmd_features.cpp): CSV of the audio front end, notes for conversions, and
// bad audio as one error line naming the file with a non-zero exit. Files are written by the test.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "recurrent/audio/wav.h"
#include "run_cli.h"

using recurrent::testing::run;
namespace fs = std::filesystem;

namespace {

struct Scratch {
  fs::path dir = fs::temp_directory_path() / ("recurrent-features-" + std::to_string(::getpid()));
  Scratch() { fs::create_directories(dir); }
  ~Scratch() { fs::remove_all(dir); }
  std::string file(const std::string& n) const { return (dir / n).string(); }
};

size_t count_lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

void expect_one_features_error(const recurrent::testing::CmdResult& r, const std::string& part) {
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_EQ(r.out.rfind("recurrent: error: ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find(part), std::string::npos) << "'" << part << "' not in: " << r.out;
  EXPECT_EQ(count_lines(r.out), 1u) << r.out;
}

}  // namespace

TEST(FeaturesCmd, CsvOfACommittedTake) {
  Scratch s;
  const std::string wav = std::string(RECURRENT_TEST_DATA) + "/audio/fsdd/3_george_7.wav";
  const auto ok = run("features " + wav + " --out " + s.file("f.csv"));
  ASSERT_EQ(ok.status, 0) << ok.out;
  EXPECT_NE(ok.out.find("-> 51 frames x 39 features (mfcc)"), std::string::npos) << ok.out;
  std::ifstream in(s.file("f.csv"));
  std::stringstream csv;
  csv << in.rdbuf();
  EXPECT_EQ(count_lines(csv.str()), 52u);  // header + 51 frames (0.508 s, 10 ms hop, centred)
  EXPECT_EQ(csv.str().rfind("frame,time,c0,c1,", 0), 0u);
  std::string header = csv.str().substr(0, csv.str().find('\n'));
  EXPECT_EQ(std::count(header.begin(), header.end(), ','), 2 + 39 - 1);
}

TEST(FeaturesCmd, ConversionsAreNoted) {
  Scratch s;
  std::vector<float> st(2 * 22050 / 2, 0.1f);
  for (size_t i = 0; i < st.size(); ++i) st[i] = 0.3f * float(std::sin(0.05 * double(i)));
  recurrent::audio::write_wav(s.file("st.wav"), st, 22050, 2, recurrent::audio::WavEncoding::pcm24);
  const auto r = run("features " + s.file("st.wav") + " --kind fbank --deltas 0 --out " + s.file("f.csv"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("recurrent: note: " + s.file("st.wav") + ": Signed 24 bit PCM converted"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("stereo downmixed to mono"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("resampled from 22050 Hz to 8000 Hz (far from the model's rate"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("x 40 features (fbank)"), std::string::npos) << r.out;
}

TEST(FeaturesCmd, BadAudioIsOneLineNamingTheFile) {
  Scratch s;
  std::ofstream(s.file("text.wav")) << "not audio at all";
  expect_one_features_error(run("features " + s.file("text.wav")), s.file("text.wav") + ": not a WAV file");
  recurrent::audio::write_wav(s.file("three.wav"), std::vector<float>(300, 0.1f), 8000, 3);
  expect_one_features_error(run("features " + s.file("three.wav")), s.file("three.wav") + ": 3 channels");
  recurrent::audio::write_wav(s.file("empty.wav"), {}, 8000);
  expect_one_features_error(run("features " + s.file("empty.wav")), s.file("empty.wav") + ": 0 samples");
  recurrent::audio::write_wav(s.file("tiny.wav"), std::vector<float>(50, 0.1f), 8000);
  expect_one_features_error(run("features " + s.file("tiny.wav")), "tiny.wav: 50 samples is too short");
  expect_one_features_error(run("features " + s.file("text.wav") + " --n-fft 64"), "--n-fft: expected >= win_length (200)");
}
