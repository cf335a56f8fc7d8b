// recurrent/audio/fsdd.h — the Free Spoken Digit Dataset: listing, the official split, speaker splits.
//
// FSDD (github.com/Jakobovski/free-spoken-digit-dataset, CC BY-SA 4.0; scripts/data/fetch.sh fsdd)
// is a folder of `{digit}_{speaker}_{take}.wav` files (8 kHz mono). list_fsdd reads a folder (or its
// recordings/ subfolder) and parses every .wav name; a .wav whose name does not parse, or a folder
// with no .wav at all, is an Error naming the path and the expected pattern.
// Splits:
//   official: takes 0..4 of every speaker and digit are test (the data set's README), the rest
//             train; optionally the next `valid_takes` takes (5, 6, ...) become valid.
//   speakers: every utterance goes to the part its speaker is named in; speakers must be disjoint
//             between parts, and every speaker present must be named (the honest, unseen-speaker test).
#pragma once

#include <string>
#include <vector>

namespace recurrent::audio {

struct Utterance {
  std::string path;
  int digit = 0;         // 0..9, the label
  std::string speaker;
  int take = 0;          // >= 0
};

struct FsddSplit {
  std::vector<Utterance> train, valid, test;
};

// Sorted by (speaker, digit, take). `dir` or `dir/recordings`.
std::vector<Utterance> list_fsdd(const std::string& dir);
// Parses one file name (no folder part needed); throws Error(path, ...) if it is not
// `{digit}_{speaker}_{take}.wav`.
Utterance parse_fsdd_name(const std::string& path);

std::vector<std::string> speakers_of(const std::vector<Utterance>& utts);  // sorted, unique

FsddSplit official_split(const std::vector<Utterance>& utts, int valid_takes = 0);
// Throws Error("speakers", ...) if a speaker is in two parts, a named speaker has no utterance, or an
// utterance's speaker is in no part.
FsddSplit speaker_split(const std::vector<Utterance>& utts, const std::vector<std::string>& train,
                        const std::vector<std::string>& valid, const std::vector<std::string>& test);

}  // namespace recurrent::audio
