// audio/riff_check.h — a RIFF/WAVE file's chunk layout checked before libsndfile opens it.
//
// Found by tests/fuzz/fuzz_wav: libsndfile 1.2.0 (Debian 12) loops forever in sf_open on a WAVE file whose
// LIST chunk claims more bytes than the file holds (tests/fixtures/audio/fuzz/wav-list-past-end-7837510b.wav,
// 140 bytes), and on a "LIST" marker it meets inside another chunk's bytes (wav-list-in-fmt-d1ec508a.wav,
// 270 bytes, the long campaign). So a LIST chunk must fit in the file and its sub-chunks in the LIST, and so
// must every "LIST" at any byte before the data chunk (all of the file when it has none), with its sub-chunks
// (wav-list-in-fmt-0ce5771a.wav: such a LIST that fits, whose first sub-chunk declares 4 GB); other chunks that
// run past the end (a header cut short, a truncated take's data) stay libsndfile's to explain or read, and
// files that are not RIFF/WAVE are left to it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace recurrent::audio::riff {

// read(offset, out, n): n bytes at offset into out; false when they are not all there.
using ReadAt = std::function<bool(uint64_t offset, char* out, size_t n)>;

// Error(name, "chunk 'LIST' at byte 36 declares 400 bytes but only 96 follow; …") on a chunk that does not fit.
void check_riff_chunks(const ReadAt& read, uint64_t size, const std::string& name);

}  // namespace recurrent::audio::riff
