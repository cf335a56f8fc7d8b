// recurrent/audio/connected_digits.h — connected-digit utterances built from isolated FSDD takes
// (like TIDIGITS): the sequence task for a CTC model.
//
// One utterance: a speaker is drawn, then n ~ U{min_digits..max_digits} takes of that speaker (any
// digits, drawn uniformly from the speaker's takes in the pool), each with a small gain jitter,
// joined with silences ~ U[min_gap, max_gap] s and led/trailed by U[min_edge, max_edge] s; the whole
// gets one gain ~ U[-gain_db, +gain_db] dB and white Gaussian noise at an SNR ~ U[min_snr_db,
// max_snr_db] dB relative to the speech's RMS, over its whole length (silences too), then is scaled
// down if its peak would pass 0.99. Labels: the digit sequence; spans: each digit's samples.
// Deterministic: utterance i of a part draws only from Rng(seed).fork(part).fork(i), so the same
// seed gives the same utterances whatever the counts or thread count. The sets keep speakers
// disjoint: build_connected_sets refuses a split whose parts share a speaker.
//
// On disk (write_connected / read_connected): NNNNN.wav (16-bit PCM) and labels.tsv, one line per
// file: `NNNNN.wav<TAB>3 1 4<TAB>speaker<TAB>start:end,start:end,start:end` (spans in samples).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "recurrent/audio/fsdd.h"
#include "recurrent/audio/wav.h"

namespace recurrent::audio {

struct ConnectedOptions {
  int min_digits = 1, max_digits = 7;
  double min_gap = 0.05, max_gap = 0.30;    // s of silence between takes
  double min_edge = 0.05, max_edge = 0.25;  // s of silence before the first and after the last
  double gain_db = 6.0;                     // utterance gain in [-gain_db, +gain_db] dB
  double take_gain_db = 2.0;                // each take's extra gain in [-take_gain_db, +take_gain_db] dB
  double min_snr_db = 25.0, max_snr_db = 45.0;
};

struct Take {
  Utterance utt;
  std::vector<float> samples;  // mono at the set's rate
};

struct ConnectedUtterance {
  std::vector<float> samples;
  std::vector<int> digits;               // the label sequence
  std::vector<int64_t> starts, ends;     // digit k's samples [starts[k], ends[k])
  std::string speaker;
  std::vector<std::string> sources;      // the takes' paths, in order
  std::string label() const;             // "3 1 4"
};

struct ConnectedSets {
  int sample_rate = 8000;
  std::vector<ConnectedUtterance> train, valid, test;
};

// Reads every utterance's audio at opts.target_rate (notes are dropped: FSDD is 8 kHz).
std::vector<Take> load_takes(const std::vector<Utterance>& utts, const ReadOptions& opts = {});

// `count` utterances from the takes of `pool`; stream picks the Rng fork (one per part).
std::vector<ConnectedUtterance> build_connected(const std::vector<Take>& pool, int count, int sample_rate,
                                                const ConnectedOptions& opts, uint64_t seed, uint64_t stream = 0);

// Loads the split's audio and builds each part (streams 0, 1, 2); parts must not share a speaker.
ConnectedSets build_connected_sets(const FsddSplit& split, int n_train, int n_valid, int n_test,
                                   const ConnectedOptions& opts, uint64_t seed, int sample_rate = 8000);

// Writes dir/NNNNN.wav and dir/labels.tsv (dir is created). Reading checks the labels file against
// the folder: a line that does not parse, a listed file that is missing, a .wav that is not listed,
// spans that do not match the digits: one Error each, naming the file and line.
void write_connected(const std::string& dir, const std::vector<ConnectedUtterance>& utts, int sample_rate);
struct LabelledFile {
  std::string path;
  std::vector<int> digits;
  std::string speaker;
  std::vector<int64_t> starts, ends;
};
std::vector<LabelledFile> read_connected(const std::string& dir);

}  // namespace recurrent::audio
