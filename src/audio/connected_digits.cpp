// Building connected-digit utterances (contract in recurrent/audio/connected_digits.h).
#include "recurrent/audio/connected_digits.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "recurrent/core/error.h"
#include "recurrent/core/rng.h"

namespace recurrent::audio {
namespace {

double db_to_gain(double db) { return std::pow(10.0, db / 20.0); }

void check_options(const ConnectedOptions& o) {
  const std::string w = "connected digits";
  RC_CHECK(o.min_digits >= 1 && o.max_digits >= o.min_digits, w, "digits per utterance: expected 1 <= min <= max, got ",
           o.min_digits, "..", o.max_digits);
  RC_CHECK(o.min_gap >= 0 && o.max_gap >= o.min_gap, w, "gap: expected 0 <= min <= max seconds");
  RC_CHECK(o.min_edge >= 0 && o.max_edge >= o.min_edge, w, "edge silence: expected 0 <= min <= max seconds");
  RC_CHECK(o.gain_db >= 0 && o.take_gain_db >= 0, w, "gains: expected >= 0 dB");
  RC_CHECK(o.max_snr_db >= o.min_snr_db, w, "snr: expected min <= max dB");
}

int64_t seconds_to_samples(double s, int rate) { return static_cast<int64_t>(std::llround(s * rate)); }

// One utterance from one speaker's takes.
ConnectedUtterance make_one(const std::vector<const Take*>& takes, int rate, const ConnectedOptions& o, Rng& rng) {
  ConnectedUtterance u;
  u.speaker = takes.front()->utt.speaker;
  const int n = o.min_digits + static_cast<int>(rng.below(static_cast<uint64_t>(o.max_digits - o.min_digits + 1)));
  std::vector<double> x(static_cast<size_t>(seconds_to_samples(rng.uniform(o.min_edge, o.max_edge), rate)), 0.0);
  for (int k = 0; k < n; ++k) {
    if (k > 0) x.resize(x.size() + static_cast<size_t>(seconds_to_samples(rng.uniform(o.min_gap, o.max_gap), rate)), 0.0);
    const Take& t = *takes[rng.below(takes.size())];
    const double g = db_to_gain(rng.uniform(-o.take_gain_db, o.take_gain_db));
    u.starts.push_back(static_cast<int64_t>(x.size()));
    for (float s : t.samples) x.push_back(g * s);
    u.ends.push_back(static_cast<int64_t>(x.size()));
    u.digits.push_back(t.utt.digit);
    u.sources.push_back(t.utt.path);
  }
  x.resize(x.size() + static_cast<size_t>(seconds_to_samples(rng.uniform(o.min_edge, o.max_edge), rate)), 0.0);
  // Speech RMS over the takes only (not the silences), after the utterance gain.
  const double gain = db_to_gain(rng.uniform(-o.gain_db, o.gain_db));
  double energy = 0;
  int64_t count = 0;
  for (size_t k = 0; k < u.starts.size(); ++k)
    for (int64_t i = u.starts[k]; i < u.ends[k]; ++i) energy += x[static_cast<size_t>(i)] * x[static_cast<size_t>(i)], ++count;
  const double rms = gain * std::sqrt(energy / std::max<int64_t>(count, 1));
  const double noise = rms * db_to_gain(-rng.uniform(o.min_snr_db, o.max_snr_db));
  double peak = 0;
  for (double& v : x) {
    v = gain * v + noise * rng.normal();
    peak = std::max(peak, std::fabs(v));
  }
  const double scale = peak > 0.99 ? 0.99 / peak : 1.0;
  u.samples.resize(x.size());
  for (size_t i = 0; i < x.size(); ++i) u.samples[i] = static_cast<float>(scale * x[i]);
  return u;
}

}  // namespace

std::string ConnectedUtterance::label() const {
  std::string s;
  for (int d : digits) {
    if (!s.empty()) s += ' ';
    s += std::to_string(d);
  }
  return s;
}

std::vector<Take> load_takes(const std::vector<Utterance>& utts, const ReadOptions& opts) {
  std::vector<Take> out;
  out.reserve(utts.size());
  for (const auto& u : utts) out.push_back({u, read_audio(u.path, opts).samples});
  return out;
}

std::vector<ConnectedUtterance> build_connected(const std::vector<Take>& pool, int count, int sample_rate,
                                                const ConnectedOptions& opts, uint64_t seed, uint64_t stream) {
  check_options(opts);
  RC_CHECK(count >= 0, "connected digits", "count: expected >= 0, got ", count);
  RC_CHECK(sample_rate > 0, "connected digits", "sample rate: expected > 0, got ", sample_rate);
  if (count == 0) return {};
  RC_CHECK(!pool.empty(), "connected digits", "no takes to build ", count, " utterances from");
  std::map<std::string, std::vector<const Take*>> by_speaker;  // ordered: same draws on every machine
  for (const auto& t : pool) {
    RC_CHECK(!t.samples.empty(), t.utt.path, "0 samples; expected a spoken digit");
    by_speaker[t.utt.speaker].push_back(&t);
  }
  std::vector<const std::vector<const Take*>*> speakers;
  for (const auto& [name, takes] : by_speaker) speakers.push_back(&takes);
  const Rng part = Rng(seed).fork(stream);
  std::vector<ConnectedUtterance> out;
  out.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    Rng rng = part.fork(static_cast<uint64_t>(i));
    out.push_back(make_one(*speakers[rng.below(speakers.size())], sample_rate, opts, rng));
  }
  return out;
}

ConnectedSets build_connected_sets(const FsddSplit& split, int n_train, int n_valid, int n_test,
                                   const ConnectedOptions& opts, uint64_t seed, int sample_rate) {
  const std::vector<Utterance>* parts[3] = {&split.train, &split.valid, &split.test};
  const char* names[3] = {"train", "valid", "test"};
  std::map<std::string, int> owner;
  for (int p = 0; p < 3; ++p)
    for (const auto& spk : speakers_of(*parts[p])) {
      const auto [it, fresh] = owner.emplace(spk, p);
      RC_CHECK(fresh, "connected digits", "speaker '", spk, "' is in both ", names[it->second], " and ", names[p],
               "; connected-digit sets keep speakers disjoint (use speaker_split)");
    }
  ConnectedSets s;
  s.sample_rate = sample_rate;
  const int counts[3] = {n_train, n_valid, n_test};
  std::vector<ConnectedUtterance>* outs[3] = {&s.train, &s.valid, &s.test};
  for (int p = 0; p < 3; ++p) {
    if (counts[p] == 0) continue;
    const auto takes = load_takes(*parts[p], {.target_rate = sample_rate});
    *outs[p] = build_connected(takes, counts[p], sample_rate, opts, seed, static_cast<uint64_t>(p));
  }
  return s;
}

}  // namespace recurrent::audio
