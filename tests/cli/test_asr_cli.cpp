// `recurrent train asr`, `eval` on a speech model and `transcribe` (file, --timestamps, --stream) on a
// tiny FSDD-like folder the test writes (tones named {digit}_{speaker}_{take}.wav): the commands run
// end to end, streaming prints the same final answer as the file, a bidirectional model is refused
// for streaming with the reason, and bad input is one error line with a non-zero exit.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "recurrent/audio/wav.h"
#include "run_cli.h"

using recurrent::testing::run;
namespace fs = std::filesystem;

namespace {

// Tones: digit d at 300 + 250 d Hz, speakers a little apart in pitch; 0.25 s each.
std::vector<float> tone(int digit, int speaker, int take) {
  std::vector<float> x(2000);
  const double f = 300.0 + 250.0 * digit + 20.0 * speaker + 3.0 * take;
  for (size_t i = 0; i < x.size(); ++i) x[i] = 0.4f * static_cast<float>(std::sin(2 * M_PI * f * double(i) / 8000.0));
  return x;
}

struct Fixture {
  fs::path dir = fs::temp_directory_path() / ("recurrent-asr-" + std::to_string(::getpid()));
  std::string data = (dir / "fsdd").string();
  Fixture() {
    fs::create_directories(data);
    const char* spk[3] = {"anna", "bert", "carl"};
    for (int s = 0; s < 3; ++s)
      for (int d = 0; d < 3; ++d)
        for (int t = 0; t < 2; ++t)
          recurrent::audio::write_wav(data + "/" + std::to_string(d) + "_" + spk[s] + "_" + std::to_string(t) + ".wav",
                                      tone(d, s, t), 8000);
  }
  ~Fixture() { fs::remove_all(dir); }
  std::string file(const std::string& n) const { return (dir / n).string(); }
  std::string train(const std::string& out, const std::string& extra) const {
    return "--threads 1 train asr --data " + data + " --speakers-train anna --speakers-valid bert --speakers-test carl "
           "--cell gru --hidden 8 --layers 1 --epochs 1 --quiet --out " + file(out) + " " + extra;
  }
};

void expect_one_error_line(const recurrent::testing::CmdResult& r, const std::string& part) {
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_EQ(r.out.rfind("recurrent: error: ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find(part), std::string::npos) << "'" << part << "' not in: " << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
}

// The number after `key` and its colon, the first `key` at or after `from` (NaN if none).
double number_after(const std::string& s, const std::string& key, size_t from = 0) {
  const size_t at = from == std::string::npos ? from : s.find(key, from);
  if (at == std::string::npos) return NAN;
  return std::stod(s.substr(s.find(':', at) + 1));
}

std::string last_line(const std::string& s) {
  std::string t = s.substr(0, s.size() - (!s.empty() && s.back() == '\n'));
  return t.substr(t.rfind('\n') == std::string::npos ? 0 : t.rfind('\n') + 1);
}

}  // namespace

TEST(AsrCli, IsolatedClassifierTrainsEvaluatesAndTranscribes) {
  Fixture f;
  const auto tr = run(f.train("iso", "--isolated"));
  ASSERT_EQ(tr.status, 0) << tr.out;
  EXPECT_NE(tr.out.find("test: accuracy"), std::string::npos) << tr.out;
  const auto ev = run("eval --model " + f.file("iso") + " --data " + f.data + " --json");
  ASSERT_EQ(ev.status, 0) << ev.out;
  EXPECT_NE(ev.out.find("\"utterances\":6"), std::string::npos) << ev.out;  // carl's 3 digits x 2 takes
  EXPECT_NE(ev.out.find("\"accuracy\""), std::string::npos) << ev.out;
  const auto tx = run("transcribe --model " + f.file("iso") + " " + f.data + "/1_carl_0.wav");
  ASSERT_EQ(tx.status, 0) << tx.out;
  EXPECT_EQ(std::count(tx.out.begin(), tx.out.end(), '\t'), 1) << tx.out;  // digit, probability
  expect_one_error_line(run("transcribe --model " + f.file("iso") + " --stream < /dev/null"), "classifier");
}

// --normalize speaker: eval rebuilds the test part normalised by the test speaker's statistics, so its
// accuracy is the one training reported; transcribe says where its statistics come from; no stream.
TEST(AsrCli, PerSpeakerNormalisationEvaluatesAsTrainedAndDoesNotStream) {
  Fixture f;
  const auto tr = run(f.train("spk", "--isolated --normalize speaker"));
  ASSERT_EQ(tr.status, 0) << tr.out;
  std::ifstream res(f.file("spk") + "/results.json");
  const std::string results((std::istreambuf_iterator<char>(res)), std::istreambuf_iterator<char>());
  const auto ev = run("eval --model " + f.file("spk") + " --data " + f.data + " --json");
  ASSERT_EQ(ev.status, 0) << ev.out;
  // The test loss (the sensitive figure: any other normalisation moves it) and accuracy, as trained.
  for (const char* key : {"\"loss\"", "\"accuracy\""}) {
    const double trained = number_after(results, key, results.find("\"test\""));
    EXPECT_NEAR(number_after(ev.out, key), trained, 1e-6 * (1 + std::abs(trained))) << key << ev.out << results;
  }
  const auto tx = run("transcribe --model " + f.file("spk") + " " + f.data + "/1_carl_0.wav");
  ASSERT_EQ(tx.status, 0) << tx.out;
  EXPECT_NE(tx.out.find("the file's own"), std::string::npos) << tx.out;
  // A unidirectional CTC model (one that could otherwise stream) normalised per speaker: refused, with why.
  ASSERT_EQ(run(f.train("spkctc", "--normalize speaker --n-train 4 --n-valid 2 --n-test 2 --stack 2")).status, 0);
  expect_one_error_line(run("transcribe --model " + f.file("spkctc") + " --stream < /dev/null"), "speaker's mean");
}

TEST(AsrCli, CtcStreamingMatchesTheFileAndBidirectionalIsRefused) {
  Fixture f;
  const auto tr = run(f.train("ctc", "--n-train 6 --n-valid 2 --n-test 2 --stack 2"));
  ASSERT_EQ(tr.status, 0) << tr.out;
  EXPECT_NE(tr.out.find("test: WER"), std::string::npos) << tr.out;
  const auto ev = run("eval --model " + f.file("ctc") + " --data " + f.data + " --json");
  ASSERT_EQ(ev.status, 0) << ev.out;
  EXPECT_NE(ev.out.find("\"wer\""), std::string::npos) << ev.out;
  EXPECT_NE(ev.out.find("\"real_time_factor\""), std::string::npos) << ev.out;
  // The same samples as a WAV and as raw s16le on stdin.
  std::vector<float> x = tone(2, 2, 0), y = tone(0, 2, 1);
  x.insert(x.end(), y.begin(), y.end());
  recurrent::audio::write_wav(f.file("u.wav"), x, 8000);
  {
    std::ofstream raw(f.file("u.raw"), std::ios::binary);
    for (float v : x) {
      const int16_t s = static_cast<int16_t>(std::lround(std::clamp(v, -1.0f, 1.0f) * 32767.0f));
      raw.write(reinterpret_cast<const char*>(&s), 2);
    }
  }
  const auto file = run("transcribe --model " + f.file("ctc") + " " + f.file("u.wav"));
  ASSERT_EQ(file.status, 0) << file.out;
  const auto stream = run("transcribe --model " + f.file("ctc") + " --stream --chunk-ms 30 < " + f.file("u.raw"));
  ASSERT_EQ(stream.status, 0) << stream.out;
  EXPECT_EQ(last_line(stream.out), last_line(file.out)) << stream.out;
  const auto ts = run("transcribe --model " + f.file("ctc") + " " + f.file("u.wav") + " --timestamps");
  ASSERT_EQ(ts.status, 0) << ts.out;
  EXPECT_EQ(std::count(ts.out.begin(), ts.out.end(), '\t'), 2 * ((static_cast<long>(last_line(file.out).size()) + 1) / 2))
      << ts.out;  // two tabs per digit line
  // Bidirectional: refused for streaming, with the reason.
  ASSERT_EQ(run(f.train("bi", "--n-train 4 --n-valid 2 --n-test 2 --bidirectional")).status, 0);
  expect_one_error_line(run("transcribe --model " + f.file("bi") + " --stream < " + f.file("u.raw")),
                        "bidirectional");
}

TEST(AsrCli, BadInputIsOneLine) {
  Fixture f;
  std::ofstream(f.file("notes.wav")) << "hello, not audio";
  ASSERT_EQ(run(f.train("iso", "--isolated")).status, 0);
  expect_one_error_line(run("transcribe --model " + f.file("iso") + " " + f.file("notes.wav")), "not a WAV");
  expect_one_error_line(run("transcribe --model " + f.file("iso")), "expected an audio file");
  // Connected digits need disjoint, named test speakers.
  expect_one_error_line(run("train asr --data " + f.data + " --epochs 1 --out " + f.file("x")), "--speakers-test");
  // A folder without any WAV, and a labels file that lists a missing file.
  fs::create_directories(f.file("empty"));
  expect_one_error_line(run("train asr --isolated --data " + f.file("empty") + " --epochs 1 --out " + f.file("y")),
                        "empty");
  fs::create_directories(f.file("conn"));
  std::ofstream(f.file("conn/labels.tsv")) << "00000.wav\t1 2\tcarl\t0:100,100:200\n";
  expect_one_error_line(run("eval --model " + f.file("iso") + " --data " + f.file("conn")), "00000.wav");
}
