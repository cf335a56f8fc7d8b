// POST /v1/transcribe gives what `recurrent transcribe` prints for the same model and WAV (greedy and
// beam); bad audio is a 400 with the reader's one line; a streaming audio session fed the same samples
// in 10 chunks of raw s16le gives growing partials and a final text equal to the whole-file one; a
// bidirectional model is refused for sessions with the reason. The model: a tiny CTC GRU trained here
// on tones (as tests/cli/test_asr_cli.cpp does); the audio: a committed FSDD take (tests/fixtures).
#include <cmath>
#include <fstream>
#include <sstream>

#include "recurrent/audio/wav.h"
#include "serve_fixture.h"

using namespace recurrent::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct SpeechFixture {
  fs::path dir = fs::temp_directory_path() / ("recurrent-serve-asr-" + std::to_string(::getpid()));
  std::string data = (dir / "fsdd").string();
  SpeechFixture() {
    fs::create_directories(data);
    const char* spk[3] = {"anna", "bert", "carl"};
    for (int s = 0; s < 3; ++s)
      for (int d = 0; d < 3; ++d)
        for (int t = 0; t < 2; ++t) {
          std::vector<float> x(2000);  // digit d: a tone at 300 + 250 d Hz, speakers a little apart
          const double f = 300.0 + 250.0 * d + 20.0 * s + 3.0 * t;
          for (size_t i = 0; i < x.size(); ++i) x[i] = 0.4f * static_cast<float>(std::sin(2 * M_PI * f * double(i) / 8000.0));
          recurrent::audio::write_wav(data + "/" + std::to_string(d) + "_" + spk[s] + "_" + std::to_string(t) + ".wav",
                                      x, 8000);
        }
  }
  ~SpeechFixture() { fs::remove_all(dir); }
  std::string train(const std::string& name, const std::string& extra) const {
    const std::string out = (dir / name).string();
    const CmdResult r = run("--threads 1 train asr --data " + data + " --speakers-train anna --speakers-valid bert "
                            "--speakers-test carl --cell gru --hidden 8 --layers 1 --epochs 1 --n-train 6 --n-valid 2 "
                            "--n-test 2 --quiet --out " + out + " " + extra);
    EXPECT_EQ(r.status, 0) << r.out;
    return out;
  }
};

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

std::string file_bytes_speech_routes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Reply post_raw(httplib::Client& c, const std::string& path, const std::string& body, const char* type) {
  Reply r;
  auto res = c.Post(path.c_str(), body, type);
  if (!res) return r;
  r.status = res->status, r.raw = res->body;
  r.body = json::parse(res->body, nullptr, false);
  return r;
}

}  // namespace

TEST(SpeechRoutes, TranscribeAndStreamAsTheCli) {
  SpeechFixture f;
  const std::string ctc = f.train("ctc", "--stack 2");
  const std::string wav = std::string(RECURRENT_TEST_DATA) + "/audio/fsdd/7_lucas_12.wav";
  const CmdResult cli = run("transcribe --threads 1 --model " + ctc + " " + wav);
  ASSERT_EQ(cli.status, 0) << cli.out;
  const CmdResult cli_beam = run("transcribe --threads 1 --model " + ctc + " --beam 3 " + wav);
  ASSERT_EQ(cli_beam.status, 0) << cli_beam.out;

  recurrent::serve::ServeOptions o = tiny_options();
  o.models = {{"digits", ctc}};
  RunningServer s(o);
  auto c = s.client();
  const std::string audio = file_bytes_speech_routes(wav);
  Reply r = post_raw(*c, "/v1/transcribe", audio, "audio/wav");
  ASSERT_EQ(r.status, 200) << r.raw;
  const std::string whole = r.body["text"];
  EXPECT_EQ(whole, first_line(cli.out));
  EXPECT_FALSE(whole.empty()) << "the tiny model says nothing: the comparisons below would prove little";
  r = post_raw(*c, "/v1/transcribe?model=digits&beam=3", audio, "audio/wav");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["text"], first_line(cli_beam.out));

  // Bad audio: the reader's one line, naming the body.
  r = post_raw(*c, "/v1/transcribe", "hello, not audio", "audio/wav");
  EXPECT_EQ(r.status, 400) << r.raw;
  EXPECT_NE(r.raw.find("body: not a WAV file"), std::string::npos) << r.raw;
  EXPECT_EQ(r.raw.find('\n'), r.raw.size() - 1) << r.raw;
  r = post_raw(*c, "/v1/transcribe", audio.substr(0, 30), "audio/wav");
  EXPECT_EQ(r.status, 400) << r.raw;
  EXPECT_NE(r.raw.find("truncated or damaged WAV header"), std::string::npos) << r.raw;
  EXPECT_EQ(post_raw(*c, "/v1/transcribe?beam=0", audio, "audio/wav").status, 400);
  EXPECT_EQ(post_raw(*c, "/v1/transcribe?model=nope", audio, "audio/wav").status, 404);

  // The same samples as raw s16le, in 10 chunks of a session.
  const std::vector<float> x = recurrent::audio::read_audio(wav).samples;
  std::string pcm;
  for (float v : x) {
    const auto q = static_cast<uint16_t>(static_cast<int16_t>(std::lround(v * 32768.0f)));  // exact: a 16-bit file
    pcm += static_cast<char>(q & 0xff), pcm += static_cast<char>(q >> 8);
  }
  r = post_raw(*c, "/v1/transcribe/sessions?model=digits", "", "application/octet-stream");
  ASSERT_EQ(r.status, 201) << r.raw;
  EXPECT_EQ(r.body["sample_rate"], 8000);
  const std::string sid = r.body["session"];
  const size_t chunk = (pcm.size() / 10 + 1) & ~size_t(1);  // whole samples
  std::string partial;
  for (int k = 0; k < 10; ++k) {
    const std::string piece = pcm.substr(std::min(pcm.size(), k * chunk), chunk);
    r = post_raw(*c, "/v1/transcribe/sessions/" + sid + (k < 9 ? "/audio" : "/finish"), piece, "application/octet-stream");
    ASSERT_EQ(r.status, 200) << k << ": " << r.raw;
    const std::string text = r.body["text"];
    EXPECT_EQ(text.compare(0, partial.size(), partial), 0) << "partials only grow: " << partial << " then " << text;
    partial = text;
    EXPECT_EQ(r.body["final"], k == 9);
  }
  EXPECT_EQ(partial, whole);
  EXPECT_DOUBLE_EQ(r.body["seconds"].get<double>(), double(x.size()) / 8000);
  EXPECT_EQ(post_raw(*c, "/v1/transcribe/sessions/" + sid + "/audio", "", "application/octet-stream").status, 404);

  // An odd byte count is refused; the session stays usable.
  r = post_raw(*c, "/v1/transcribe/sessions", "", "application/octet-stream");
  ASSERT_EQ(r.status, 201) << r.raw;
  const std::string sid2 = r.body["session"];
  r = post_raw(*c, "/v1/transcribe/sessions/" + sid2 + "/audio", "abc", "application/octet-stream");
  EXPECT_EQ(r.status, 400) << r.raw;
  EXPECT_NE(r.raw.find("an odd number"), std::string::npos) << r.raw;
  EXPECT_EQ(post_raw(*c, "/v1/transcribe/sessions/" + sid2 + "/finish", pcm, "application/octet-stream").body["text"],
            whole);
  EXPECT_EQ(c->Delete(("/v1/transcribe/sessions/" + sid2).c_str())->status, 404);  // finish closed it
}

TEST(SpeechRoutes, BidirectionalModelRefusedForSessions) {
  SpeechFixture f;
  const std::string bi = f.train("bi", "--bidirectional");
  recurrent::serve::ServeOptions o = tiny_options();
  o.models = {{"bi", bi}};
  RunningServer s(o);
  auto c = s.client();
  Reply r = post_raw(*c, "/v1/transcribe/sessions", "", "application/octet-stream");
  EXPECT_EQ(r.status, 400) << r.raw;
  EXPECT_EQ(r.body["error"].get<std::string>().rfind("model \"bi\": this model is bidirectional", 0), 0u) << r.raw;
  auto m = c->Get("/v1/models");
  ASSERT_TRUE(m);
  EXPECT_EQ(json::parse(m->body)["models"][0]["streaming"], false) << m->body;
  // Whole files still work.
  r = post_raw(*c, "/v1/transcribe", file_bytes_speech_routes(std::string(RECURRENT_TEST_DATA) + "/audio/fsdd/0_jackson_0.wav"),
               "audio/wav");
  EXPECT_EQ(r.status, 200) << r.raw;
}
