// recurrent features — the audio front end on one file: read (any rate, 8/16/24-bit or float, mono or
// stereo), resample to --sample-rate, and print the feature matrix as CSV (docs/audio.md).
//
//   recurrent features FILE.wav [--kind mfcc|fbank] [--sample-rate 8000] [--n-mels 40] [--n-mfcc 13]
//     [--deltas 2] [--normalize utterance] [--win-length 200] [--hop-length 80] [--n-fft 256] [--out F.csv]
//
// CSV: a header `frame,time,c0,...,d_c0,...,dd_c0,...` (fbank: m0, ...), then one row per frame
// (time = frame * hop / rate, seconds). What was converted (resampled, downmixed, 24-bit) is a
// `recurrent: note:` line on stderr, followed by a one-line summary.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/options.h"
#include "recurrent/audio/features.h"
#include "recurrent/audio/wav.h"
#include "recurrent/core/error.h"

namespace recurrent::cli {
namespace {

struct FeaturesArgs {
  std::string file, out;
  audio::FeatureOptions opts;
};

std::string header(const audio::FeatureOptions& o) {
  const char* base = o.kind == "mfcc" ? "c" : "m";
  const char* prefix[3] = {"", "d_", "dd_"};
  std::string h = "frame,time";
  for (int d = 0; d <= o.deltas; ++d)
    for (int j = 0; j < o.base_dims(); ++j) h += "," + std::string(prefix[d]) + base + std::to_string(j);
  return h;
}

void write_csv(std::ostream& os, const Tensor& f, const audio::FeatureOptions& o) {
  os << header(o) << '\n';
  char buf[32];
  for (int64_t t = 0; t < f.size(0); ++t) {
    std::snprintf(buf, sizeof buf, "%.4f", double(t) * o.hop_length / o.sample_rate);
    os << t << ',' << buf;
    for (int64_t j = 0; j < f.size(1); ++j) {
      std::snprintf(buf, sizeof buf, ",%.7g", double(f.at({t, j})));
      os << buf;
    }
    os << '\n';
  }
}

// An option check of the front end ("feature options: n_fft: expected ...") as the CLI option ("--n-fft: ...").
void validate_as_options(const audio::FeatureOptions& o) {
  try {
    audio::validate(o);
  } catch (const Error& e) {
    const std::string m = e.message();
    std::string name = m.substr(0, m.find(':'));
    for (char& ch : name) ch = ch == '_' ? '-' : ch;
    throw Error("--" + name, m.substr(m.find(':') + 2));
  }
}

void run_features(const FeaturesArgs& a) {
  validate_as_options(a.opts);
  const audio::Audio wav = audio::read_audio(a.file, {.target_rate = a.opts.sample_rate});
  for (const auto& n : wav.notes) std::fprintf(stderr, "recurrent: note: %s\n", n.c_str());
  const Tensor f = audio::compute_features(wav.samples, a.opts, a.file);
  if (a.out.empty()) {
    write_csv(std::cout, f, a.opts);
  } else {
    std::ofstream os(a.out);
    RC_CHECK(os.good(), a.out, "cannot write the CSV file");
    write_csv(os, f, a.opts);
    os.close();
    RC_CHECK(os.good(), a.out, "write failed");
  }
  std::fprintf(stderr, "%s: %.3f s at %d Hz (%s) -> %lld frames x %lld features (%s)%s%s\n", a.file.c_str(),
               wav.seconds(), wav.sample_rate, wav.file_format.c_str(), static_cast<long long>(f.size(0)),
               static_cast<long long>(f.size(1)), a.opts.kind.c_str(), a.out.empty() ? "" : " in ", a.out.c_str());
}

}  // namespace

void add_features(CLI::App& app) {
  auto a = std::make_shared<FeaturesArgs>();
  audio::FeatureOptions& o = a->opts;
  CLI::App* c = app.add_subcommand("features", "speech features of an audio file (MFCC or log-mel) as CSV");
  c->add_option("file", a->file, "audio file (WAV, FLAC, ...; any rate, mono or stereo)")->required()
      ->check(checked("file"));
  c->add_option("--kind", o.kind, "mfcc or fbank (log-mel)")->capture_default_str()->check(choice({"mfcc", "fbank"}));
  c->add_option("--sample-rate", o.sample_rate, "model rate in Hz (the audio is resampled to it)")
      ->capture_default_str()->check(checked("positive"));
  c->add_option("--n-mels", o.n_mels, "mel bands")->capture_default_str()->check(checked("positive"));
  c->add_option("--n-mfcc", o.n_mfcc, "cepstral coefficients (kind mfcc)")->capture_default_str()->check(checked("positive"));
  c->add_option("--deltas", o.deltas, "0: none, 1: + deltas, 2: + deltas and delta-deltas")->capture_default_str()
      ->check(int_range(0, 2));
  c->add_option("--normalize", o.normalize, "per-utterance mean/variance normalisation, or none")
      ->capture_default_str()->check(choice({"utterance", "none"}));
  c->add_option("--win-length", o.win_length, "window in samples (25 ms at 8 kHz: 200)")->capture_default_str()
      ->check(checked("positive"));
  c->add_option("--hop-length", o.hop_length, "hop in samples (10 ms at 8 kHz: 80)")->capture_default_str()
      ->check(checked("positive"));
  c->add_option("--n-fft", o.n_fft, "FFT size (>= --win-length)")->capture_default_str()->check(checked("positive"));
  c->add_option("--out", a->out, "CSV file to write (default: stdout)")->check(checked("text"));
  c->callback([a] { run_features(*a); });
}

}  // namespace recurrent::cli
