// A RIFF/WAVE file's chunk layout checked before libsndfile opens it (audio/riff_check.h).
#include "audio/riff_check.h"

#include <cstring>

#include "recurrent/core/error.h"

namespace recurrent::audio::riff {
namespace {

uint32_t le32(const char* p) {
  return uint32_t(uint8_t(p[0])) | uint32_t(uint8_t(p[1])) << 8 | uint32_t(uint8_t(p[2])) << 16 |
         uint32_t(uint8_t(p[3])) << 24;
}

std::string printable(const char* id) {
  std::string s;
  for (int i = 0; i < 4; ++i) s += (id[i] >= 32 && id[i] < 127) ? id[i] : '.';
  return s;
}

// The sub-chunks of a LIST whose payload is [begin, end): a 4-byte list type, then id, size, bytes (even-padded).
void check_list(const ReadAt& read, uint64_t begin, uint64_t end, const std::string& name) {
  uint64_t off = begin + 4;
  while (off + 8 <= end) {
    char c[8];
    if (!read(off, c, 8)) return;
    const uint64_t len = le32(c + 4);
    RC_CHECK(off + 8 + len <= end, name, "sub-chunk '", printable(c), "' of the LIST chunk at byte ", off,
             " declares ", len, " bytes but its LIST has ", end - off - 8, " left; expected a well-formed WAV file");
    off += 8 + len + (len & 1);
  }
}

// libsndfile also meets "LIST" markers inside other chunks' bytes (e.g. in a second 'fmt ' chunk's payload:
// tests/fixtures/audio/fuzz/wav-list-in-fmt-d1ec508a.wav hangs sf_open the same way), and after the data chunk
// it walks on (resynchronising byte by byte past what it does not know: wav-list-after-data-2a0f08bc.wav), so
// every "LIST" at any byte of [from, to), the header before the samples or what follows them, must fit in the
// file, and its sub-chunks in it. The samples themselves are left alone.
void check_list_markers(const ReadAt& read, uint64_t from, uint64_t to, uint64_t size, const std::string& name) {
  if (from >= to) return;
  std::string part(to - from, '\0');
  if (!read(from, part.data(), part.size())) return;
  for (size_t i = part.find("LIST"); i != std::string::npos; i = part.find("LIST", i + 1)) {
    const uint64_t at = from + i;
    char c[8];
    if (at + 8 > size || !read(at, c, 8)) return;
    const uint64_t len = le32(c + 4);
    RC_CHECK(at + 8 + len <= size, name, "a 'LIST' marker at byte ", at, " declares ", len, " bytes but only ",
             size - at - 8, " follow; expected a well-formed WAV file");
    check_list(read, at + 8, at + 8 + len, name);  // and its sub-chunks fit in it (wav-list-in-fmt-0ce5771a.wav)
  }
}

}  // namespace

void check_riff_chunks(const ReadAt& read, uint64_t size, const std::string& name) {
  char h[12];
  if (size < 12 || !read(0, h, 12) || std::memcmp(h, "RIFF", 4) != 0 || std::memcmp(h + 8, "WAVE", 4) != 0) return;
  uint64_t off = 12;
  while (off + 8 <= size) {
    char c[8];
    if (!read(off, c, 8)) break;
    const uint64_t len = le32(c + 4);
    if (std::memcmp(c, "data", 4) == 0) {  // the header ends here; the samples, then what may follow them
      check_list_markers(read, 0, off, size, name);
      return check_list_markers(read, off + 8 + len + (len & 1), size, size, name);
    }
    const bool list = std::memcmp(c, "LIST", 4) == 0;
    // Other chunks that run past the end (a header cut short, a truncated take's data) are libsndfile's to
    // explain or read: only LIST chunks hang it.
    if (!list && off + 8 + len > size) break;
    RC_CHECK(off + 8 + len <= size, name, "chunk 'LIST' at byte ", off, " declares ", len, " bytes but only ",
             size - off - 8, " follow; expected a well-formed WAV file");
    if (list) check_list(read, off + 8, off + 8 + len, name);
    off += 8 + len + (len & 1);
  }
  check_list_markers(read, 0, size, size, name);  // no data chunk found: all of it is header
}

}  // namespace recurrent::audio::riff
