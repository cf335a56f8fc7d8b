// FeatureOptions checks and frame counting (contract in recurrent/audio/features.h).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "recurrent/audio/features.h"
#include "recurrent/core/error.h"

namespace recurrent::audio {
namespace {

void check_choice(const std::string& name, const std::string& value, std::initializer_list<const char*> allowed) {
  std::string list;
  for (const char* a : allowed) {
    if (value == a) return;
    list += list.empty() ? a : std::string(", ") + a;
  }
  throw Error("feature options", name + ": expected one of " + list + ", got '" + value + "'");
}

}  // namespace

void validate(const FeatureOptions& o) {
  const std::string w = "feature options";
  check_choice("kind", o.kind, {"mfcc", "fbank"});
  check_choice("window", o.window, {"hann", "hamming", "rectangular"});
  check_choice("pad_mode", o.pad_mode, {"reflect", "constant"});
  check_choice("mel_scale", o.mel_scale, {"htk", "slaney"});
  check_choice("norm", o.norm, {"none", "slaney"});
  check_choice("log", o.log, {"log", "db"});
  check_choice("dct_norm", o.dct_norm, {"ortho", "none"});
  check_choice("normalize", o.normalize, {"none", "utterance", "global", "speaker"});
  RC_CHECK(o.sample_rate > 0, w, "sample_rate: expected a positive number of Hz, got ", o.sample_rate);
  RC_CHECK(o.preemphasis >= 0 && o.preemphasis < 1, w, "preemphasis: expected 0 <= a < 1, got ", o.preemphasis);
  RC_CHECK(o.win_length >= 1, w, "win_length: expected >= 1 sample, got ", o.win_length);
  RC_CHECK(o.n_fft >= o.win_length && o.n_fft >= 2, w, "n_fft: expected >= win_length (", o.win_length,
           ") and >= 2, got ", o.n_fft);
  RC_CHECK(o.hop_length >= 1, w, "hop_length: expected >= 1 sample, got ", o.hop_length);
  RC_CHECK(o.power > 0, w, "power: expected > 0, got ", o.power);
  RC_CHECK(o.n_mels >= 1, w, "n_mels: expected >= 1, got ", o.n_mels);
  RC_CHECK(o.f_min >= 0 && o.f_min < o.max_freq(), w, "f_min: expected 0 <= f_min < f_max (", o.max_freq(),
           " Hz), got ", o.f_min);
  RC_CHECK(o.max_freq() <= o.sample_rate / 2.0, w, "f_max: expected <= sample_rate / 2 (", o.sample_rate / 2.0,
           " Hz), got ", o.f_max);
  RC_CHECK(o.log_offset > 0, w, "log_offset: expected > 0, got ", o.log_offset);
  RC_CHECK(o.kind != "mfcc" || (o.n_mfcc >= 1 && o.n_mfcc <= o.n_mels), w, "n_mfcc: expected 1..n_mels (",
           o.n_mels, "), got ", o.n_mfcc);
  RC_CHECK(o.deltas >= 0 && o.deltas <= 2, w, "deltas: expected 0, 1 or 2, got ", o.deltas);
  RC_CHECK(o.delta_win_length >= 3 && o.delta_win_length % 2 == 1, w,
           "delta_win_length: expected an odd number >= 3, got ", o.delta_win_length);
  RC_CHECK(o.norm_eps > 0, w, "norm_eps: expected > 0, got ", o.norm_eps);
}

int64_t num_frames(int64_t n, const FeatureOptions& o) {
  const int64_t padded = o.center ? n + 2 * (o.n_fft / 2) : n;
  if (n <= 0 || padded < o.n_fft) return 0;
  return 1 + (padded - o.n_fft) / o.hop_length;
}

}  // namespace recurrent::audio

namespace recurrent::audio {
namespace {

// One table of the fields, so to_map and from_map cannot drift apart.
template <typename F>
void each_field(FeatureOptions& o, F&& f) {
  f("kind", o.kind); f("sample_rate", o.sample_rate); f("preemphasis", o.preemphasis); f("n_fft", o.n_fft);
  f("win_length", o.win_length); f("hop_length", o.hop_length); f("window", o.window); f("center", o.center);
  f("pad_mode", o.pad_mode); f("power", o.power); f("n_mels", o.n_mels); f("f_min", o.f_min); f("f_max", o.f_max);
  f("mel_scale", o.mel_scale); f("norm", o.norm); f("log", o.log); f("log_offset", o.log_offset);
  f("top_db", o.top_db); f("n_mfcc", o.n_mfcc); f("dct_norm", o.dct_norm); f("deltas", o.deltas);
  f("delta_win_length", o.delta_win_length); f("normalize", o.normalize); f("norm_eps", o.norm_eps);
}

std::string to_text(const std::string& v) { return v; }
std::string to_text(bool v) { return v ? "true" : "false"; }
std::string to_text(int v) { return std::to_string(v); }
std::string to_text(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

bool parse(const std::string& s, std::string& v) { v = s; return true; }
bool parse(const std::string& s, bool& v) {
  if (s != "true" && s != "false") return false;
  v = s == "true";
  return true;
}
bool parse(const std::string& s, int& v) {
  char* end = nullptr;
  const long x = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end || x < INT32_MIN || x > INT32_MAX) return false;
  v = static_cast<int>(x);
  return true;
}
bool parse(const std::string& s, double& v) {
  char* end = nullptr;
  v = std::strtod(s.c_str(), &end);
  return !s.empty() && !*end;
}

}  // namespace

std::map<std::string, std::string> to_map(const FeatureOptions& opts) {
  FeatureOptions o = opts;
  std::map<std::string, std::string> kv;
  each_field(o, [&](const char* name, auto& field) { kv[name] = to_text(field); });
  return kv;
}

FeatureOptions feature_options_from_map(const std::map<std::string, std::string>& kv, const std::string& where,
                                        bool ignore_unknown) {
  FeatureOptions o;
  size_t known = 0;
  each_field(o, [&](const char* name, auto& field) {
    const auto it = kv.find(name);
    if (it == kv.end()) return;
    ++known;
    RC_CHECK(parse(it->second, field), where, "feature option ", name, ": cannot parse '", it->second, "'");
  });
  if (!ignore_unknown && known != kv.size()) {
    const auto names = to_map(FeatureOptions{});
    for (const auto& [k, v] : kv)
      RC_CHECK(names.count(k), where, "unknown feature option '", k, "'");
  }
  try {
    validate(o);
  } catch (const Error& e) {
    throw Error(where, e.message());
  }
  return o;
}

}  // namespace recurrent::audio
