// Reading audio files through libsndfile (contract in recurrent/audio/wav.h).
#include <sndfile.h>

#include <algorithm>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "audio/riff_check.h"
#include "recurrent/audio/resample.h"
#include "recurrent/audio/wav.h"
#include "recurrent/core/error.h"
#include "recurrent/core/limits.h"

namespace recurrent::audio {
namespace {

namespace fs = std::filesystem;

struct SndfileCloser {
  void operator()(SNDFILE* f) const { sf_close(f); }
};
using SndfilePtr = std::unique_ptr<SNDFILE, SndfileCloser>;

// libsndfile's own name of a major format or a subtype, e.g. "WAV (Microsoft)", "Signed 24 bit PCM".
std::string format_name(int code) {
  SF_FORMAT_INFO info{};
  info.format = code;
  if (sf_command(nullptr, SFC_GET_FORMAT_INFO, &info, sizeof info) != 0 || !info.name) return "unknown";
  return info.name;
}

// Printable form of a file's first bytes, for "not a WAV" messages: "RIFF...." or hex.
std::string magic_of(const std::string& head) {
  std::string s;
  for (char c : head.substr(0, 4)) s += (c >= 32 && c < 127) ? c : '.';
  return s;
}

// Why libsndfile could not read `head` (a file's or a buffer's first bytes, of `size` in all): one line.
[[noreturn]] void explain_bad_header(const std::string& name, uint64_t size, const std::string& head, const char* lib_msg) {
  const std::string magic = head.substr(0, 4);
  const bool riff = magic == "RIFF" || magic == "RIFX" || magic == "RF64";
  if (riff && (head.size() < 12 || head.substr(8, 4) == "WAVE"))
    throw Error(name, detail::concat("truncated or damaged WAV header (", size,
                                     " bytes; a WAV needs a RIFF/WAVE header with 'fmt ' and 'data' chunks; libsndfile: ",
                                     lib_msg, ")"));
  throw Error(name, detail::concat("not a WAV file (nor another format libsndfile reads: FLAC, OGG, AIFF, AU, ...): "
                                   "it starts with '", magic_of(head), "', a WAV with 'RIFF'; libsndfile: ", lib_msg));
}

// Why libsndfile could not open `path`: one line naming what was expected.
[[noreturn]] void explain_open_failure(const std::string& path, const char* lib_msg) {
  std::error_code ec;
  RC_CHECK(fs::exists(path, ec), path, "no such file");
  RC_CHECK(!fs::is_directory(path, ec), path, "is a directory; expected an audio file (WAV)");
  const auto size = fs::file_size(path, ec);
  RC_CHECK(size > 0, path, "empty file (0 bytes); expected a WAV file");
  std::ifstream in(path, std::ios::binary);
  std::string head(12, '\0');
  in.read(head.data(), 12);
  head.resize(static_cast<size_t>(in.gcount()));
  explain_bad_header(path, size, head, lib_msg);
}

// libsndfile's virtual I/O over a buffer (read only).
struct Buffer {
  std::string_view bytes;
  sf_count_t pos = 0;
};
SF_VIRTUAL_IO buffer_io() {
  SF_VIRTUAL_IO io{};
  io.get_filelen = [](void* u) { return static_cast<sf_count_t>(static_cast<Buffer*>(u)->bytes.size()); };
  io.seek = [](sf_count_t off, int whence, void* u) {
    Buffer& b = *static_cast<Buffer*>(u);
    const sf_count_t n = static_cast<sf_count_t>(b.bytes.size());
    const sf_count_t to = whence == SEEK_SET ? off : whence == SEEK_CUR ? b.pos + off : n + off;
    b.pos = std::clamp<sf_count_t>(to, 0, n);
    return b.pos;
  };
  io.read = [](void* dst, sf_count_t count, void* u) {
    Buffer& b = *static_cast<Buffer*>(u);
    const sf_count_t got = std::clamp<sf_count_t>(static_cast<sf_count_t>(b.bytes.size()) - b.pos, 0, std::max<sf_count_t>(count, 0));
    std::memcpy(dst, b.bytes.data() + b.pos, static_cast<size_t>(got));
    b.pos += got;
    return got;
  };
  io.write = [](const void*, sf_count_t, void*) { return sf_count_t{0}; };
  io.tell = [](void* u) { return static_cast<Buffer*>(u)->pos; };
  return io;
}

// Reads every frame, interleaved, in chunks until the end (a header may announce more frames than the
// file holds, or a huge count: nothing is allocated from the header's figure).
std::vector<float> read_frames(SNDFILE* f, const SF_INFO& info, Audio& a, const std::string& path) {
  constexpr sf_count_t kChunk = 1 << 16;
  const size_t ch = static_cast<size_t>(info.channels);
  std::vector<float> buf;
  for (;;) {
    const size_t at = buf.size();
    buf.resize(at + static_cast<size_t>(kChunk) * ch);
    const sf_count_t got = sf_readf_float(f, buf.data() + at, kChunk);
    buf.resize(at + static_cast<size_t>(std::max<sf_count_t>(got, 0)) * ch);
    if (got < kChunk) break;
    check_input_bytes(path, buf.size() * sizeof(float), "decoded audio");  // a compressed file may decode to far more
  }
  const auto frames = static_cast<sf_count_t>(buf.size() / ch);
  if (frames < info.frames)
    a.notes.push_back(detail::concat(path, ": the header announces ", info.frames, " frames but only ", frames,
                                     " could be read (truncated file?); using those"));
  return buf;
}

}  // namespace

namespace {

// An open file (or buffer) `path` names → mono samples at the target rate (the checks of wav.h).
Audio decode(SNDFILE* f, const SF_INFO& info, const std::string& path, const ReadOptions& opts) {
  Audio a;
  a.file_rate = info.samplerate;
  a.file_channels = info.channels;
  a.file_format = format_name(info.format & SF_FORMAT_TYPEMASK) + ", " + format_name(info.format & SF_FORMAT_SUBMASK);
  RC_CHECK(info.channels >= 1 && info.channels <= 2, path, info.channels,
           " channels; expected mono or stereo (stereo is downmixed; with more channels which one is speech is not known)");
  RC_CHECK(info.samplerate > 0, path, "sample rate ", info.samplerate, " in the header; expected a positive rate");
  RC_CHECK(info.frames > 0, path, "0 samples; expected audio (the file has a header but no sound)");
  std::vector<float> buf = read_frames(f, info, a, path);
  RC_CHECK(!buf.empty(), path, "0 samples could be read; expected audio");
  const int sub = info.format & SF_FORMAT_SUBMASK;
  if (sub != SF_FORMAT_PCM_16)
    a.notes.push_back(detail::concat(path, ": ", format_name(sub), " converted to float samples"));
  if (info.channels == 2) {
    const size_t n = buf.size() / 2;
    for (size_t i = 0; i < n; ++i) buf[i] = 0.5f * (buf[2 * i] + buf[2 * i + 1]);
    buf.resize(n);
    a.notes.push_back(path + ": stereo downmixed to mono (mean of the two channels)");
  }
  a.sample_rate = info.samplerate;
  if (opts.target_rate > 0 && info.samplerate != opts.target_rate) {
    const double r = double(info.samplerate) / opts.target_rate;
    const bool far = r > opts.far_ratio || r < 1.0 / opts.far_ratio;
    a.notes.push_back(detail::concat(path, ": resampled from ", info.samplerate, " Hz to ", opts.target_rate, " Hz",
                                     far ? " (far from the model's rate: check this is the right file)" : ""));
    const size_t before = buf.size();
    buf = resample(buf, info.samplerate, opts.target_rate, path);
    // Found by tests/fuzz/fuzz_wav: a few samples at a far higher rate resample to none.
    RC_CHECK(!buf.empty(), path, before, " samples at ", info.samplerate, " Hz are less than one sample at ",
             opts.target_rate, " Hz; expected longer audio");
    a.sample_rate = opts.target_rate;
  }
  a.samples = std::move(buf);
  return a;
}

}  // namespace

Audio read_audio(const std::string& path, const ReadOptions& opts) {
  RC_CHECK(opts.target_rate >= 0, path, "target sample rate must be >= 0, got ", opts.target_rate);
  check_input_file_size(path);
  {
    std::ifstream in(path, std::ios::binary);
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (in && !ec)
      riff::check_riff_chunks([&in](uint64_t off, char* out, size_t n) {
        in.clear();
        return bool(in.seekg(static_cast<std::streamoff>(off)).read(out, static_cast<std::streamsize>(n)));
      }, size, path);
  }
  SF_INFO info{};
  SndfilePtr f(sf_open(path.c_str(), SFM_READ, &info));
  if (!f) explain_open_failure(path, sf_strerror(nullptr));
  return decode(f.get(), info, path, opts);
}

Audio read_audio_bytes(std::string_view bytes, const std::string& name, const ReadOptions& opts) {
  RC_CHECK(opts.target_rate >= 0, name, "target sample rate must be >= 0, got ", opts.target_rate);
  RC_CHECK(!bytes.empty(), name, "empty (0 bytes); expected a WAV file");
  riff::check_riff_chunks([bytes](uint64_t off, char* out, size_t n) {
    if (off > bytes.size() || n > bytes.size() - off) return false;
    std::memcpy(out, bytes.data() + off, n);
    return true;
  }, bytes.size(), name);
  Buffer b{bytes};
  SF_VIRTUAL_IO io = buffer_io();
  SF_INFO info{};
  SndfilePtr f(sf_open_virtual(&io, SFM_READ, &info, &b));
  if (!f) explain_bad_header(name, bytes.size(), std::string(bytes.substr(0, 12)), sf_strerror(nullptr));
  return decode(f.get(), info, name, opts);
}

}  // namespace recurrent::audio
