// The speech task's data: FSDD takes or connected digits built from them, as feature items; the
// record of how they were made, so eval rebuilds the same test part (contract in tasks/asr.h).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "recurrent/audio/connected_digits.h"
#include "recurrent/audio/fsdd.h"
#include "recurrent/audio/resample.h"
#include "recurrent/core/error.h"
#include "recurrent/tasks/asr.h"
#include "recurrent/io/json_int.h"

namespace recurrent::tasks {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// The split of the FSDD utterances the options describe (see AsrDataOptions).
audio::FsddSplit make_split(const AsrDataOptions& o, const std::vector<audio::Utterance>& utts, std::string& what) {
  if (o.speakers_train.empty() && o.speakers_valid.empty() && o.speakers_test.empty()) {
    RC_CHECK(o.isolated, "--speakers-test", "connected digits keep speakers disjoint: name the test speaker(s), "
             "e.g. --speakers-test yweweler (the other speakers train)");
    what = "official split (takes 0-4 test, " + std::to_string(o.valid_takes) + " valid takes)";
    return audio::official_split(utts, static_cast<int>(o.valid_takes));
  }
  RC_CHECK(!o.speakers_test.empty(), "--speakers-test", "expected the test speaker(s) when speakers are named");
  std::vector<std::string> train = o.speakers_train;
  if (train.empty())  // every speaker not named elsewhere
    for (const std::string& s : audio::speakers_of(utts))
      if (std::count(o.speakers_valid.begin(), o.speakers_valid.end(), s) == 0 &&
          std::count(o.speakers_test.begin(), o.speakers_test.end(), s) == 0)
        train.push_back(s);
  audio::FsddSplit sp = audio::speaker_split(utts, train, o.speakers_valid, o.speakers_test);
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
    return s;
  };
  what = "speakers train " + join(train) + ", test " + join(o.speakers_test);
  if (o.speakers_valid.empty()) {  // the last valid_takes takes of each training speaker and digit
    RC_CHECK(o.valid_takes >= 1, "--valid-takes", "expected >= 1 when no --speakers-valid are named");
    std::vector<audio::Utterance> keep;
    for (const auto& u : sp.train) (u.take >= 50 - o.valid_takes ? sp.valid : keep).push_back(u);
    sp.train = keep;
    what += ", valid takes " + std::to_string(50 - o.valid_takes) + "-49 of the training speakers";
  } else {
    what += ", valid " + join(o.speakers_valid);
  }
  return sp;
}

// A training copy of `like` (its labels) with other features; its speaker is `like`'s tagged with the
// perturbation ("george~speed0.9"): to per-speaker normalisation a perturbed voice is another voice.
AsrItem copy_with(const AsrItem& like, Tensor feats, const std::string& tag) {
  AsrItem it;
  it.feats = std::move(feats);
  it.digits = like.digits;
  it.speaker = like.speaker + "~" + tag;
  return it;
}

std::string factor_tag(const char* what, double f) {
  char b[48];
  std::snprintf(b, sizeof b, "%s%g", what, f);
  return b;
}

// The training copies of one item: speed perturbation (the audio played s times faster: resampled from
// rate·s to rate), then vocal tract length perturbation (the mel filters warped by α).
void add_copies(std::vector<AsrItem>& items, const std::vector<float>& samples, const AsrItem& it,
                const audio::FeatureOptions& f, const std::vector<double>& speeds, const std::vector<double>& alphas) {
  for (double s : speeds) {
    const int from = static_cast<int>(std::lround(f.sample_rate * s));
    items.push_back(copy_with(it, audio::compute_features(audio::resample(samples, from, f.sample_rate,
                                                                          "speed perturbation"),
                                                          f, "speed perturbation"),
                              factor_tag("speed", s)));
  }
  for (double a : alphas)
    items.push_back(copy_with(it, audio::compute_features(samples, f, "vocal tract length perturbation", nullptr, a),
                              factor_tag("vtlp", a)));
}

// One part as items: takes (isolated) or `count` connected utterances drawn with Rng stream `stream`;
// with `speeds` / `alphas`, perturbed copies follow each item.
std::vector<AsrItem> make_items(const std::vector<audio::Utterance>& part, bool isolated, int64_t count, uint64_t seed,
                                uint64_t stream, const audio::FeatureOptions& f, bool keep_samples,
                                const std::vector<double>& speeds = {}, const std::vector<double>& alphas = {}) {
  std::vector<AsrItem> items;
  if (part.empty() || (!isolated && count == 0)) return items;
  const std::vector<audio::Take> takes = audio::load_takes(part, {.target_rate = f.sample_rate});
  if (isolated) {
    for (const audio::Take& t : takes) {
      AsrItem it;
      it.feats = audio::compute_features(t.samples, f, t.utt.path);
      it.digits = {t.utt.digit};
      it.speaker = t.utt.speaker;
      add_copies(items, t.samples, it, f, speeds, alphas);
      if (keep_samples) it.samples = t.samples, it.ends = {static_cast<int64_t>(t.samples.size())};
      items.push_back(std::move(it));
    }
    return items;
  }
  for (audio::ConnectedUtterance& u :
       audio::build_connected(takes, static_cast<int>(count), f.sample_rate, audio::ConnectedOptions{}, seed, stream)) {
    AsrItem it;
    it.feats = audio::compute_features(u.samples, f, "connected digits");
    it.digits = u.digits;
    it.speaker = u.speaker;
    add_copies(items, u.samples, it, f, speeds, alphas);
    if (keep_samples) it.samples = std::move(u.samples), it.ends = u.ends;
    items.push_back(std::move(it));
  }
  return items;
}

}  // namespace

void normalize_by_speaker(std::vector<AsrItem>& items, double eps) {
  std::map<std::string, audio::GlobalNorm> by;
  for (const AsrItem& it : items) by[it.speaker].add(it.feats);
  for (auto& [speaker, g] : by) g.finish(eps);
  for (AsrItem& it : items) by.at(it.speaker).apply(it.feats);
}

std::string AsrDataOptions::to_json() const {
  return json{{"source", "fsdd"}, {"isolated", isolated}, {"speakers_train", speakers_train},
              {"speakers_valid", speakers_valid}, {"speakers_test", speakers_test}, {"valid_takes", valid_takes},
              {"n_train", n_train}, {"n_valid", n_valid}, {"n_test", n_test}, {"speed_perturb", speed_perturb}, {"vtlp", vtlp},
              {"seed", seed}}
      .dump();
}

AsrDataOptions AsrDataOptions::from_json(const std::string& text, const std::string& where) {
  try {
    const json j = json::parse(text);
    AsrDataOptions o;
    o.isolated = j.at("isolated").get<bool>();
    o.speakers_train = j.at("speakers_train").get<std::vector<std::string>>();
    o.speakers_valid = j.at("speakers_valid").get<std::vector<std::string>>();
    o.speakers_test = j.at("speakers_test").get<std::vector<std::string>>();
    o.valid_takes = io::json_int_at<int64_t>(j, "valid_takes");
    o.n_train = io::json_int_at<int64_t>(j, "n_train");
    o.n_valid = io::json_int_at<int64_t>(j, "n_valid");
    o.n_test = io::json_int_at<int64_t>(j, "n_test");
    o.seed = io::json_int_at<uint64_t>(j, "seed");
    return o;
  } catch (const json::exception& e) {
    throw Error(where, std::string("the model's data record is incomplete: ") + e.what());
  }
}

AsrData load_asr_data(const AsrDataOptions& o, const audio::FeatureOptions& f) {
  RC_CHECK(f.normalize == "none" || f.normalize == "utterance", "load_asr_data",
           "expected features without normalisation or per utterance (the caller applies a global one)");
  const std::vector<audio::Utterance> utts = audio::list_fsdd(o.data);
  AsrData d;
  const audio::FsddSplit sp = make_split(o, utts, d.split);
  RC_CHECK(!sp.train.empty() && !sp.valid.empty() && !sp.test.empty(), o.data, "a part of the split is empty (",
           d.split, ")");
  for (double s : o.speed_perturb)
    RC_CHECK(s >= 0.5 && s <= 2.0, "--speed-perturb", "expected factors in [0.5, 2], got ", s);
  for (double a : o.vtlp) RC_CHECK(a >= 0.8 && a <= 1.25, "--vtlp", "expected warp factors in [0.8, 1.25], got ", a);
  d.train = make_items(sp.train, o.isolated, o.n_train, o.seed, 0, f, false, o.speed_perturb, o.vtlp);
  d.valid = make_items(sp.valid, o.isolated, o.n_valid, o.seed, 1, f, false);
  d.test = make_items(sp.test, o.isolated, o.n_test, o.seed, 2, f, true);
  return d;
}

std::vector<AsrItem> load_asr_eval_items(const AsrModel& m, const std::string& data) {
  const audio::FeatureOptions f = m.config().front_end();
  audio::FeatureOptions raw = f;  // what is computed here; the model's statistics are applied after
  if (raw.normalize == "global" || m.per_speaker()) raw.normalize = "none";
  auto normalise = [&](std::vector<AsrItem>& items) {
    if (m.per_speaker())
      normalize_by_speaker(items, f.norm_eps);
    else if (m.norm().finished())
      for (AsrItem& it : items) m.norm().apply(it.feats);
  };
  std::vector<AsrItem> items;
  if (fs::is_regular_file(fs::path(data) / "labels.tsv")) {  // a folder of connected digits
    for (const audio::LabelledFile& l : audio::read_connected(data)) {
      const audio::Audio a = audio::read_audio(l.path, {.target_rate = f.sample_rate});
      AsrItem it;
      it.feats = audio::compute_features(a.samples, raw, l.path);
      it.digits = l.digits;
      it.speaker = l.speaker;
      if (a.sample_rate == a.file_rate) it.ends = l.ends;  // spans are in the file's samples
      it.samples = a.samples;
      items.push_back(std::move(it));
    }
    normalise(items);
    return items;
  }
  AsrDataOptions o = AsrDataOptions::from_json(m.config().data_json, "the model's data record");
  o.data = data;
  const std::vector<audio::Utterance> utts = audio::list_fsdd(data);
  std::string what;
  const audio::FsddSplit sp = make_split(o, utts, what);
  items = make_items(sp.test, o.isolated, o.n_test, o.seed, 2, raw, true);
  normalise(items);
  return items;
}

}  // namespace recurrent::tasks
