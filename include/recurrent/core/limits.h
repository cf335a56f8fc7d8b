// recurrent/core/limits.h — the stated bounds on outside input read whole into memory (issue 28).
//
// The readers of text, CSV, TSV/JSON, CoNLL, chorale JSON, IDX (and what a gzipped IDX inflates to),
// MIDI and audio hold a whole file in memory, and the corpus readers then hold several copies of it
// (bytes, code points, token ids: ~13 bytes per character for a char LM). A file past max_input_bytes()
// (default kMaxInputBytes) is refused before anything is read, with one line naming the file, its size and the limit, instead
// of an out-of-memory failure part way. Checkpoints (safetensors) are not bounded here: their size is
// the model's, checked against the header.
#pragma once

#include <cstdint>
#include <string>

namespace recurrent {

inline constexpr uint64_t kMaxInputBytes = uint64_t{2} << 30;  // 2 GiB: the default
uint64_t max_input_bytes();
void set_max_input_bytes(uint64_t bytes);  // the process's limit (a program on a larger machine may raise it; >= 1)

// Throws Error(path, …) when the file at `path` is larger than max_input_bytes() (a missing file passes:
// the reader's own open reports it).
void check_input_file_size(const std::string& path);
// Throws Error(path, …) when `bytes` of `what` (e.g. "inflated data", "decoded audio") exceed max_input_bytes().
void check_input_bytes(const std::string& path, uint64_t bytes, const char* what);

}  // namespace recurrent
