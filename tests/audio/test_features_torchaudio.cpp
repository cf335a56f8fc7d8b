// The feature pipeline against torchaudio 0.13 (scripts/fixtures/make_audio_fixtures.py): every stage
// of every committed case, with the options the fixture carries in its metadata.
//
// Tolerance (docs/audio.md): the oracle is float64 rounded once to float32 and the pipeline runs in
// double, so the differences are float32 rounding: each stage within 1e-6 of its largest magnitude
// (max |a - b| / max(1, max |ref|); measured worst 1.5e-7); the FSDD waveforms read by libsndfile equal the Python reader's
// int16 / 32768 exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "recurrent/audio/features.h"
#include "recurrent/audio/wav.h"
#include "recurrent/io/safetensors.h"

namespace ra = recurrent::audio;
using recurrent::Tensor;

namespace {

constexpr double kTol = 1e-6;

std::vector<std::string> fixture_files() {
  std::vector<std::string> files;
  for (auto& e : std::filesystem::directory_iterator(std::string(RECURRENT_TEST_DATA) + "/audio"))
    if (e.path().extension() == ".safetensors") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

// max |a - b| / max(1, max |ref|); reports the worst element.
double scaled_error(const Tensor& got, const Tensor& ref, const std::string& what) {
  EXPECT_EQ(recurrent::shape_str(got.shape()), recurrent::shape_str(ref.shape())) << what;
  if (!got.same_shape(ref)) return INFINITY;
  const auto a = got.to_vector(), b = ref.to_vector();
  double scale = 1.0, worst = 0.0;
  size_t at = 0;
  for (float v : b) scale = std::max(scale, double(std::fabs(v)));
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(double(a[i]) - double(b[i]));
    if (!(d <= worst)) worst = d, at = i;
  }
  const double err = worst / scale;
  EXPECT_LE(err, kTol) << what << ": worst at flat index " << at << " (row " << at / size_t(ref.size(1))
                       << ", col " << at % size_t(ref.size(1)) << "): got " << a[at] << ", torchaudio " << b[at]
                       << ", scale " << scale;
  return err;
}

std::map<std::string, std::string> options_of(const recurrent::io::SafeTensors& st) {
  std::map<std::string, std::string> kv = st.metadata();
  for (const char* k : {"format_version", "case", "source", "torch_version", "torchaudio_version"}) kv.erase(k);
  return kv;
}

}  // namespace

TEST(AudioTorchaudio, EveryStageOfEveryFixture) {
  const auto files = fixture_files();
  ASSERT_GE(files.size(), 5u) << "fixtures missing in " << RECURRENT_TEST_DATA << "/audio";
  for (const auto& path : files) {
    SCOPED_TRACE(path);
    const auto st = recurrent::io::read_safetensors(path);
    const ra::FeatureOptions o = ra::feature_options_from_map(options_of(st), path);
    const std::vector<float> x = st.get_f32("waveform").to_vector();
    std::vector<double> errs;
    errs.push_back(scaled_error(ra::power_spectrogram(x, o), st.get_f32("power"), "power"));
    const Tensor mel = ra::mel_spectrogram(x, o);
    errs.push_back(scaled_error(mel, st.get_f32("mel"), "mel"));
    const Tensor logmel = ra::log_compress(mel, o);
    errs.push_back(scaled_error(logmel, st.get_f32("logmel"), "logmel"));
    // Deltas of the oracle's own base, so a delta error is not an inherited one.
    const Tensor base = st.get_f32(o.kind == "mfcc" ? "mfcc" : "logmel");
    if (o.deltas >= 1)
      errs.push_back(scaled_error(ra::compute_deltas(base, o.delta_win_length), st.get_f32("delta"), "delta"));
    if (o.deltas >= 2)
      errs.push_back(scaled_error(ra::compute_deltas(st.get_f32("delta"), o.delta_win_length), st.get_f32("delta2"),
                                  "delta2"));
    if (o.kind == "mfcc") {
      ra::FeatureOptions raw = o;
      raw.normalize = "none";
      const Tensor unnormalised = ra::compute_features(x, raw, path);
      errs.push_back(scaled_error(unnormalised.slice(1, 0, o.n_mfcc).contiguous(), st.get_f32("mfcc"), "mfcc"));
    }
    const Tensor feats = ra::compute_features(x, o, path);
    errs.push_back(scaled_error(feats, st.get_f32("features"), "features"));
    std::printf("%s: worst scaled error %.3g\n", path.c_str(), *std::max_element(errs.begin(), errs.end()));
  }
}

// The committed FSDD takes through libsndfile equal the fixture's waveform (the Python wave module's int16 / 32768).
TEST(AudioTorchaudio, FsddWaveformsReadExactly) {
  int seen = 0;
  for (const auto& path : fixture_files()) {
    const auto st = recurrent::io::read_safetensors(path);
    const std::string src = st.metadata_or("source", "");
    if (src.rfind("FSDD recordings/", 0) != 0) continue;
    const std::string wav = std::string(RECURRENT_TEST_DATA) + "/audio/fsdd/" + src.substr(16, src.find(' ', 16) - 16);
    const ra::Audio a = ra::read_audio(wav, {.target_rate = 8000});
    EXPECT_TRUE(a.notes.empty()) << a.notes.front();
    EXPECT_EQ(a.samples, st.get_f32("waveform").to_vector()) << wav;
    ++seen;
  }
  EXPECT_GE(seen, 2);
}
