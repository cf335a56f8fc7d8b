// FSDD listing and splits (contract in recurrent/audio/fsdd.h).
#include "recurrent/audio/fsdd.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>

#include "recurrent/core/error.h"

namespace recurrent::audio {
namespace {

namespace fs = std::filesystem;

bool all_digits(const std::string& s) {
  return !s.empty() && s.size() <= 6 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) {
    if (!s.empty()) s += ", ";
    s += x;
  }
  return s;
}

}  // namespace

Utterance parse_fsdd_name(const std::string& path) {
  const std::string stem = fs::path(path).stem().string();
  const auto a = stem.find('_'), b = stem.rfind('_');
  const std::string expected = "expected a name {digit}_{speaker}_{take}.wav such as 3_jackson_12.wav";
  RC_CHECK(fs::path(path).extension() == ".wav" && a != std::string::npos && b != a && b > a + 1, path, expected);
  Utterance u;
  u.path = path;
  const std::string d = stem.substr(0, a), t = stem.substr(b + 1);
  u.speaker = stem.substr(a + 1, b - a - 1);
  RC_CHECK(d.size() == 1 && all_digits(d), path, "digit '", d, "' is not 0-9; ", expected);
  RC_CHECK(all_digits(t), path, "take '", t, "' is not a number; ", expected);
  u.digit = d[0] - '0';
  u.take = std::stoi(t);
  return u;
}

std::vector<Utterance> list_fsdd(const std::string& dir) {
  std::error_code ec;
  RC_CHECK(fs::is_directory(dir, ec), dir, fs::exists(dir, ec) ? "not a folder; expected the FSDD folder"
                                                                : "no such folder; expected the FSDD folder (scripts/data/fetch.sh fsdd)");
  const fs::path root = fs::is_directory(fs::path(dir) / "recordings", ec) ? fs::path(dir) / "recordings" : fs::path(dir);
  std::vector<Utterance> out;
  for (const auto& e : fs::directory_iterator(root, ec))
    if (e.is_regular_file() && e.path().extension() == ".wav") out.push_back(parse_fsdd_name(e.path().string()));
  RC_CHECK(!ec, root.string(), "cannot list: ", ec.message());
  RC_CHECK(!out.empty(), root.string(), "no .wav files; expected FSDD recordings {digit}_{speaker}_{take}.wav");
  std::sort(out.begin(), out.end(), [](const Utterance& x, const Utterance& y) {
    return std::tie(x.speaker, x.digit, x.take, x.path) < std::tie(y.speaker, y.digit, y.take, y.path);
  });
  return out;
}

std::vector<std::string> speakers_of(const std::vector<Utterance>& utts) {
  std::set<std::string> s;
  for (const auto& u : utts) s.insert(u.speaker);
  return {s.begin(), s.end()};
}

FsddSplit official_split(const std::vector<Utterance>& utts, int valid_takes) {
  RC_CHECK(valid_takes >= 0 && valid_takes <= 45, "official split", "valid_takes: expected 0..45, got ", valid_takes);
  FsddSplit s;
  for (const auto& u : utts) (u.take < 5 ? s.test : u.take < 5 + valid_takes ? s.valid : s.train).push_back(u);
  return s;
}

FsddSplit speaker_split(const std::vector<Utterance>& utts, const std::vector<std::string>& train,
                        const std::vector<std::string>& valid, const std::vector<std::string>& test) {
  std::map<std::string, int> part;  // speaker -> 0 train, 1 valid, 2 test
  const std::vector<std::string>* lists[3] = {&train, &valid, &test};
  const char* names[3] = {"train", "valid", "test"};
  for (int p = 0; p < 3; ++p)
    for (const auto& spk : *lists[p]) {
      const auto [it, fresh] = part.emplace(spk, p);
      RC_CHECK(fresh, "speakers", "'", spk, "' is in both ", names[it->second], " and ", names[p],
               "; expected disjoint speakers");
    }
  const auto present = speakers_of(utts);
  for (const auto& [spk, p] : part)
    RC_CHECK(std::binary_search(present.begin(), present.end(), spk), "speakers", "'", spk, "' (", names[p],
             ") has no recordings; present: ", join(present));
  FsddSplit s;
  std::vector<Utterance>* parts[3] = {&s.train, &s.valid, &s.test};
  for (const auto& u : utts) {
    const auto it = part.find(u.speaker);
    RC_CHECK(it != part.end(), "speakers", "'", u.speaker, "' is in no part (train, valid or test); name every speaker");
    parts[it->second]->push_back(u);
  }
  return s;
}

}  // namespace recurrent::audio
