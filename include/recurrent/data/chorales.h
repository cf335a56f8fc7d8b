// recurrent/data/chorales.h — polyphonic music as piano rolls: the JSB chorales (and any set in their
// JSON layout) for `recurrent train music`.
//
// Format (github.com/czhuang/JSB-Chorales-dataset, the Boulanger-Lewandowski et al. 2012 split):
//   {"train": [chorale, ...], "valid": [...], "test": [...]}
//   chorale   = [step, ...]            one entry per time step (a quarter note or a 16th, by file)
//   step      = [pitch, ...]           the MIDI pitches sounding at that step; [] is a rest
// Pitches are integers in the piano's range 21 (A0) … 108 (C8); other keys of the object are ignored.
//
// Piano roll of a chorale with T steps: roll [T, 88] float, roll[t, p − 21] = 1 when pitch p sounds
// at step t, else 0 (a pitch listed twice in one step is one note).
//
// Errors (recurrent::Error, one line, naming the file and the place, e.g. "train[3] step 5"): not
// JSON, or not an object of chorale lists ("not a chorale set"), a missing split key (naming it and
// the keys expected), a split with no chorales, an empty chorale (no time steps), a step or pitch of
// the wrong JSON type, a pitch outside 21–108.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "recurrent/core/tensor.h"

namespace recurrent::data {

constexpr int kLowestPitch = 21;   // A0, the piano's lowest key
constexpr int kHighestPitch = 108; // C8, its highest
constexpr int kPitches = kHighestPitch - kLowestPitch + 1;  // 88

enum class ChoraleSplit { train = 0, valid = 1, test = 2 };
const char* split_name(ChoraleSplit s);                                // "train" | "valid" | "test"
ChoraleSplit parse_split(const std::string& s, const std::string& where);  // throws Error(where, ...)

struct ChoraleSet {
  std::string source;                 // file name, for messages
  std::vector<Tensor> parts[3];       // per ChoraleSplit: each chorale's roll [T, 88]
  const std::vector<Tensor>& part(ChoraleSplit s) const { return parts[static_cast<int>(s)]; }
  int64_t steps(ChoraleSplit s) const;  // Σ T over the split's chorales
};

ChoraleSet parse_chorales(const std::string& json_text, const std::string& source);
ChoraleSet read_chorales(const std::string& path);  // throws Error(path, ...) if unreadable

// One chorale's steps (lists of MIDI pitches) → roll [T, 88]; `where` names it in errors.
Tensor piano_roll(const std::vector<std::vector<int64_t>>& steps, const std::string& where);
// roll [T, 88] (any value > 0.5 counts as sounding) → the MIDI pitches of each step, ascending.
std::vector<std::vector<int64_t>> roll_pitches(const Tensor& roll);

}  // namespace recurrent::data
