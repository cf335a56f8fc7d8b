// Piano rolls from the JSB chorales' JSON layout (contract in recurrent/data/chorales.h).
#include "recurrent/data/chorales.h"

#include <nlohmann/json.hpp>

#include "recurrent/core/error.h"
#include "recurrent/data/text_file.h"

namespace recurrent::data {

namespace {

using nlohmann::json;

const char* const kExpected =
    "expected a chorale set: a JSON object {\"train\": [...], \"valid\": [...], \"test\": [...]} whose chorales "
    "are lists of time steps, each a list of MIDI pitches";

const char* json_type(const json& j) { return j.type_name(); }

// One split's chorales; `where` = "FILE: train".
std::vector<Tensor> read_split(const json& list, const std::string& source, const std::string& name) {
  RC_CHECK(list.is_array(), source, "'", name, "' is a JSON ", json_type(list), ", ", kExpected);
  RC_CHECK(!list.empty(), source, "'", name, "' holds no chorales");
  std::vector<Tensor> out;
  for (size_t c = 0; c < list.size(); ++c) {
    const std::string at = name + "[" + std::to_string(c) + "]";
    const json& chorale = list[c];
    RC_CHECK(chorale.is_array(), source, at, " is a JSON ", json_type(chorale), ", expected a chorale (a list of "
             "time steps, each a list of MIDI pitches)");
    RC_CHECK(!chorale.empty(), source, at, " is an empty chorale (no time steps)");
    std::vector<std::vector<int64_t>> steps(chorale.size());
    for (size_t t = 0; t < chorale.size(); ++t) {
      const json& step = chorale[t];
      RC_CHECK(step.is_array(), source, at, " step ", t, " is a JSON ", json_type(step),
               ", expected a list of MIDI pitches ([] for a rest)");
      for (const json& p : step) {
        RC_CHECK(p.is_number_integer(), source, at, " step ", t, ": a pitch is a JSON ", json_type(p),
                 " (", p.dump(), "), expected an integer MIDI pitch");
        steps[t].push_back(p.get<int64_t>());
      }
    }
    out.push_back(piano_roll(steps, source + ": " + at));
  }
  return out;
}

}  // namespace

const char* split_name(ChoraleSplit s) {
  switch (s) {
    case ChoraleSplit::train: return "train";
    case ChoraleSplit::valid: return "valid";
    case ChoraleSplit::test: return "test";
  }
  return "?";
}

ChoraleSplit parse_split(const std::string& s, const std::string& where) {
  for (ChoraleSplit p : {ChoraleSplit::train, ChoraleSplit::valid, ChoraleSplit::test})
    if (s == split_name(p)) return p;
  throw Error(where, "unknown split '" + s + "' (expected train, valid or test)");
}

int64_t ChoraleSet::steps(ChoraleSplit s) const {
  int64_t n = 0;
  for (const Tensor& r : part(s)) n += r.size(0);
  return n;
}

Tensor piano_roll(const std::vector<std::vector<int64_t>>& steps, const std::string& where) {
  RC_CHECK(!steps.empty(), where, "empty chorale (no time steps)");
  const int64_t T = static_cast<int64_t>(steps.size());
  Tensor roll({T, kPitches});  // zeros
  for (int64_t t = 0; t < T; ++t)
    for (int64_t p : steps[t]) {
      RC_CHECK(p >= kLowestPitch && p <= kHighestPitch, where, "step ", t, ": pitch ", p, " is outside the piano range ",
               kLowestPitch, "-", kHighestPitch);
      roll.data()[t * kPitches + (p - kLowestPitch)] = 1.0f;
    }
  return roll;
}

std::vector<std::vector<int64_t>> roll_pitches(const Tensor& roll) {
  RC_CHECK(roll.dim() == 2 && roll.size(1) == kPitches, "piano roll", "expected [T, ", kPitches, "], got ",
           shape_str(roll.shape()));
  const Tensor r = roll.contiguous();
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(r.size(0)));
  for (int64_t t = 0; t < r.size(0); ++t)
    for (int64_t k = 0; k < kPitches; ++k)
      if (r.data()[t * kPitches + k] > 0.5f) out[t].push_back(kLowestPitch + k);
  return out;
}

ChoraleSet parse_chorales(const std::string& json_text, const std::string& source) {
  json doc;
  try {
    doc = json::parse(json_text);
  } catch (const json::exception& e) {
    throw Error(source, std::string("not JSON (") + e.what() + "); " + kExpected);
  }
  RC_CHECK(doc.is_object(), source, "a JSON ", json_type(doc), " at the top, ", kExpected);
  ChoraleSet set;
  set.source = source;
  for (ChoraleSplit s : {ChoraleSplit::train, ChoraleSplit::valid, ChoraleSplit::test}) {
    const char* name = split_name(s);
    RC_CHECK(doc.contains(name), source, "no '", name, "' split; ", kExpected);
    set.parts[static_cast<int>(s)] = read_split(doc.at(name), source, name);
  }
  return set;
}

ChoraleSet read_chorales(const std::string& path) { return parse_chorales(read_file(path), path); }

}  // namespace recurrent::data
